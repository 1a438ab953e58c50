"""Idempotency-Key on POST and PATCH: replay, mismatch, in-progress, expiry, races."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from core.api import idempotency
from core.domain import SYSTEM
from core.models import IdempotencyRecord
from partners import services
from partners.models import Vendor
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/vendors/"
BODY = {"name": "Quinta Nova", "email": "q@example.com", "notify_by": ["email"]}


def _post(client: Any, body: dict[str, Any] = BODY, key: str = "k-1") -> Any:
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_and_body_replays_first_response_without_acting(superuser_client: Any) -> None:
    first = _post(superuser_client)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    second = _post(superuser_client)
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.content == first.content
    assert second["Content-Type"] == "application/json"
    assert Vendor.objects.filter(name="Quinta Nova").count() == 1


def test_same_document_with_other_key_order_is_the_same_request(superuser_client: Any) -> None:
    assert _post(superuser_client).status_code == 201
    reordered = superuser_client.generic(
        "POST",
        URL,
        '{"notify_by": ["email"],   "email": "q@example.com", "name": "Quinta Nova"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert reordered.status_code == 201
    assert reordered["Idempotent-Replayed"] == "true"


def test_same_key_with_different_body_is_422(superuser_client: Any) -> None:
    assert _post(superuser_client).status_code == 201
    response = _post(superuser_client, {**BODY, "name": "Other"})
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert not Vendor.objects.filter(name="Other").exists()


def test_same_key_on_another_path_is_422(superuser_client: Any, vendor: Any) -> None:
    assert _post(superuser_client).status_code == 201
    response = superuser_client.patch(
        f"{URL}{vendor.pk}/", {"name": "Renamed"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert response.status_code == 422
    vendor.refresh_from_db()
    assert vendor.name != "Renamed"


def test_key_still_in_progress_is_409(superuser_client: Any) -> None:
    first = _post(superuser_client)
    record = IdempotencyRecord.objects.get(key="k-1")
    record.state = IdempotencyRecord.State.IN_PROGRESS
    record.save(update_fields=["state"])
    response = _post(superuser_client)
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    assert first.status_code == 201


def test_same_key_with_other_credentials_acts_separately(
    staff_client: Any, superuser_client: Any
) -> None:
    other = staff_client(superuser=True)
    assert _post(superuser_client).status_code == 201
    response = _post(other, {**BODY, "name": "Second"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Vendor.objects.filter(name__in=["Quinta Nova", "Second"]).count() == 2


def test_key_older_than_24_hours_acts_again(superuser_client: Any) -> None:
    assert _post(superuser_client).status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    response = _post(superuser_client, {**BODY, "name": "Fresh"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Vendor.objects.filter(name="Fresh").exists()


def test_patch_is_replayed(superuser_client: Any, vendor: Any) -> None:
    url = f"{URL}{vendor.pk}/"
    first = superuser_client.patch(url, {"name": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="p")
    assert first.status_code == 200
    services.partner_update(partner=vendor, actor=SYSTEM, name="Changed meanwhile")
    again = superuser_client.patch(url, {"name": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="p")
    assert again.status_code == 200
    assert again.content == first.content
    vendor.refresh_from_db()
    assert vendor.name == "Changed meanwhile"  # the replay did not write again


def test_client_errors_are_replayed_too(superuser_client: Any) -> None:
    bad = {**BODY, "email": "not-an-email"}
    first = _post(superuser_client, bad)
    assert first.status_code == 400
    again = _post(superuser_client, bad)
    assert again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content


def test_server_error_is_not_stored(superuser_client: Any, monkeypatch: Any) -> None:
    def boom(**kwargs: Any) -> None:
        raise RuntimeError("database fell over")

    monkeypatch.setattr(services, "vendor_create", boom)
    superuser_client.raise_request_exception = False
    response = _post(superuser_client)
    assert response.status_code == 500
    assert not IdempotencyRecord.objects.exists()
    monkeypatch.undo()
    retry = _post(superuser_client)
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry


def test_get_ignores_the_header(superuser_client: Any) -> None:
    response = superuser_client.get(URL, HTTP_IDEMPOTENCY_KEY="g")
    assert response.status_code == 200
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "tab\there"])
def test_malformed_key_is_400(superuser_client: Any, key: str) -> None:
    response = _post(superuser_client, key=key)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not Vendor.objects.filter(name="Quinta Nova").exists()


def test_no_credentials_is_401_and_nothing_is_recorded(anon_client: Any) -> None:
    response = _post(anon_client)
    assert response.status_code == 401
    assert not IdempotencyRecord.objects.exists()


def test_purge_deletes_only_expired_records(superuser_client: Any) -> None:
    _post(superuser_client, key="old")
    _post(superuser_client, {**BODY, "name": "New one"}, key="new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=30)
    )
    assert idempotency.purge_expired() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_purge_command(superuser_client: Any, capsys: Any) -> None:
    _post(superuser_client, key="old")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=2))
    call_command("purge_idempotency_records")
    assert "Deleted 1" in capsys.readouterr().out
    assert not IdempotencyRecord.objects.exists()


# --- concurrency (real row locks and transactions: PostgreSQL) ------------------------


def _in_thread(target: Any) -> Any:
    def run() -> None:
        try:
            target()
        finally:
            connection.close()

    return threading.Thread(target=run)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_gets_409_and_acts_once(make_key: Any, monkeypatch: Any) -> None:
    from tests import factories

    _, raw = make_key(user=factories.SuperuserFactory())
    entered, release = threading.Event(), threading.Event()
    original = services.vendor_create

    def slow_create(**kwargs: Any) -> Any:
        entered.set()
        assert release.wait(10)
        return original(**kwargs)

    monkeypatch.setattr(services, "vendor_create", slow_create)
    results: dict[str, Any] = {}

    def first() -> None:
        results["first"] = _post(key_client(raw))

    thread = _in_thread(first)
    thread.start()
    assert entered.wait(10)
    results["second"] = _post(key_client(raw))
    release.set()
    thread.join(10)
    assert results["second"].status_code == 409
    assert results["second"].json()["code"] == "idempotency_in_progress"
    assert results["first"].status_code == 201
    third = _post(key_client(raw))
    assert third.status_code == 201
    assert third.content == results["first"].content
    assert Vendor.objects.filter(name="Quinta Nova").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_claims_make_one_record(make_key: Any) -> None:
    from tests import factories

    _, raw = make_key(user=factories.SuperuserFactory())
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def send() -> None:
        client = key_client(raw)
        barrier.wait(10)
        statuses.append(_post(client).status_code)

    threads = [_in_thread(send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(statuses) in ([201, 201], [201, 409])
    assert Vendor.objects.filter(name="Quinta Nova").count() == 1
    assert IdempotencyRecord.objects.count() == 1

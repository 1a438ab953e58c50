"""``manage.py create_api_key`` and the keys it makes."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from core.domain import SYSTEM
from partners.models import ApiKey
from partners.services import api_key_revoke, hash_token, partner_deactivate
from tests import factories
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db


def _create(*args: str) -> tuple[str, list[str]]:
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    return lines[-1], lines


def test_user_key_is_printed_alone_on_last_line_and_works(partner_manager: Any) -> None:
    raw, lines = _create("--user", partner_manager.username, "--name", "ops tool")
    assert raw.startswith("bk_") and " " not in raw
    key = ApiKey.objects.get()
    assert key.user == partner_manager and key.name == "ops tool"
    assert key.key_hash == hash_token(raw) and raw not in (key.key_hash, key.prefix)
    assert key.prefix in lines[0]
    assert key_client(raw).get("/api/v1/vendors/").status_code == 200


def test_broker_and_vendor_keys(broker: Any, vendor: Any) -> None:
    broker_raw, _ = _create("--broker", str(broker.pk))
    vendor_raw, _ = _create("--vendor", str(vendor.pk))
    assert ApiKey.objects.get(broker=broker).key_hash == hash_token(broker_raw)
    assert ApiKey.objects.get(vendor=vendor).key_hash == hash_token(vendor_raw)
    response = key_client(vendor_raw).get(f"/api/v1/vendors/{vendor.pk}/")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody"], "No user with username 'nobody'"),
        (["--broker", "999999"], "No broker with id 999999"),
        (["--vendor", "999999"], "No vendor with id 999999"),
    ],
)
def test_unknown_owner_is_a_clear_error(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("create_api_key", *args, stdout=StringIO())
    assert not ApiKey.objects.exists()


def test_owner_is_required_and_only_one() -> None:
    with pytest.raises(CommandError):
        call_command("create_api_key", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("create_api_key", "--broker", "1", "--vendor", "1", stdout=StringIO())


def test_non_staff_or_inactive_user_is_refused() -> None:
    plain = factories.UserFactory(username="plain")
    with pytest.raises(CommandError, match="not staff"):
        call_command("create_api_key", "--user", plain.username, stdout=StringIO())
    factories.StaffFactory(username="gone", is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        call_command("create_api_key", "--user", "gone", stdout=StringIO())


def test_inactive_partner_is_refused(vendor: Any) -> None:
    partner_deactivate(partner=vendor, actor=SYSTEM)
    with pytest.raises(CommandError, match="inactive"):
        call_command("create_api_key", "--vendor", str(vendor.pk), stdout=StringIO())


def test_revoked_key_stops_working(superuser: Any) -> None:
    raw, _ = _create("--user", superuser.username)
    client = key_client(raw)
    assert client.get("/api/v1/vendors/").status_code == 200
    api_key_revoke(key=ApiKey.objects.get(), actor=SYSTEM)
    assert client.get("/api/v1/vendors/").status_code == 401


def test_keys_are_revocable_in_the_admin(superuser: Any, client: Any) -> None:
    raw, _ = _create("--user", superuser.username)
    key = ApiKey.objects.get()
    client.force_login(superuser)
    page = client.get(f"/admin/partners/apikey/{key.pk}/change/")
    assert page.status_code == 200
    assert b"Revoke" in page.content
    assert raw.encode() not in page.content  # the secret is never shown again

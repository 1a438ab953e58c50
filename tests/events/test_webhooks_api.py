"""``/api/v1/webhooks/``: registration (the secret shown once, kept encrypted), SSRF
refusal, and each partner's endpoints and deliveries hidden from the others (404)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from core.models import IdempotencyRecord
from events import signing
from events.models import WebhookDelivery, WebhookEndpoint
from tests.events.flows import approved_booking

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/bookings"


def register(client: Any, url: str = URL, types: list[str] | None = None, **headers: Any) -> Any:
    return client.post(
        "/api/v1/webhooks/",
        {"url": url, "event_types": ["booking.approved"] if types is None else types},
        format="json",
        **headers,
    )


@pytest.fixture
def public_dns(monkeypatch: Any) -> None:
    """hooks.example.com resolves to a public address (there is no DNS in the sandbox)."""
    import socket

    real = socket.getaddrinfo

    def fake(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443))]
        if host == "internal.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_registration_shows_the_secret_once_and_stores_it_encrypted(
    broker_client: Any, broker: Any
) -> None:
    response = register(broker_client)
    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert body["owner"] == "broker" and body["active"] is True
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.broker_id == broker.pk
    assert secret not in endpoint.secret_encrypted
    assert signing.decrypt(endpoint.secret_encrypted) == secret
    # Nowhere in the table as text.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM events_webhookendpoint")
        assert secret not in repr(cursor.fetchall())
    again = broker_client.get(f"/api/v1/webhooks/{body['id']}/").json()
    assert "secret" not in again


def test_an_idempotent_replay_does_not_show_or_store_the_secret(broker_client: Any) -> None:
    first = register(broker_client, HTTP_IDEMPOTENCY_KEY="reg-1")
    assert first.status_code == 201 and first.json()["secret"]
    record = IdempotencyRecord.objects.get(key="reg-1")
    assert first.json()["secret"].encode() not in bytes(record.response_body)
    replay = register(broker_client, HTTP_IDEMPOTENCY_KEY="reg-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json()["secret"] is None
    assert replay.json()["id"] == first.json()["id"]
    assert WebhookEndpoint.objects.count() == 1


def test_unknown_event_types_are_refused(broker_client: Any) -> None:
    response = register(broker_client, types=["booking.exploded"])
    assert response.status_code == 400 and "event_types" in response.json()["fields"]
    assert register(broker_client, types=[]).status_code == 400


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://hooks.example.com/x", "HTTPS"),
        ("https://127.0.0.1/hooks", "private"),
        ("https://localhost:8443/hooks", "private"),
        ("https://[::1]/hooks", "private"),
        ("https://10.0.0.7/hooks", "private"),
        ("https://192.168.1.20/hooks", "private"),
        ("https://169.254.169.254/latest/meta-data", "private"),
        ("https://internal.example.com/hooks", "10.1.2.3"),
        ("https://user:pw@hooks.example.com/hooks", "password"),
        ("ftp://hooks.example.com/", ""),
    ],
)
def test_production_refuses_private_targets(
    broker_client: Any, settings: Any, public_dns: None, url: str, words: str
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    settings.DEBUG = False
    response = register(broker_client, url=url)
    assert response.status_code == 400, response.content
    assert words in str(response.json()["fields"]["url"])
    assert not WebhookEndpoint.objects.exists()


def test_production_accepts_a_public_https_target(
    broker_client: Any, settings: Any, public_dns: None
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    assert register(broker_client, url=URL).status_code == 201
    assert register(broker_client, url="https://93.184.215.14/hook").status_code == 201


def test_a_change_of_url_is_checked_too(
    broker_client: Any, settings: Any, public_dns: None
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    pk = register(broker_client).json()["id"]
    response = broker_client.patch(
        f"/api/v1/webhooks/{pk}/", {"url": "https://127.0.0.1/x"}, format="json"
    )
    assert response.status_code == 400
    assert WebhookEndpoint.objects.get(pk=pk).url == URL


def _delivery_for(broker: Any, vendor: Any, endpoint_id: int, capture: Any) -> WebhookDelivery:
    with capture():  # deliveries are queued after commit: not sent here
        approved_booking(broker=broker, vendors=[vendor])
    return WebhookDelivery.objects.get(endpoint_id=endpoint_id)


def test_other_partners_get_404_for_endpoints_and_deliveries(
    broker_client: Any,
    other_broker_client: Any,
    vendor_client: Any,
    broker: Any,
    vendor: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    pk = register(broker_client).json()["id"]
    delivery = _delivery_for(broker, vendor, pk, django_capture_on_commit_callbacks)
    paths = [
        f"/api/v1/webhooks/{pk}/",
        f"/api/v1/webhooks/{pk}/deliveries/",
    ]
    redeliver = f"/api/v1/webhooks/{pk}/deliveries/{delivery.pk}/redeliver/"
    for client in (other_broker_client, vendor_client):
        for path in paths:
            assert client.get(path).status_code == 404, path
        assert client.post(redeliver).status_code == 404
        assert client.patch(paths[0], {"active": False}, format="json").status_code == 404
        assert client.get("/api/v1/webhooks/").json()["results"] == []
    assert broker_client.get(paths[1]).json()["count"] == 1
    assert WebhookEndpoint.objects.get(pk=pk).is_active


def test_a_delivery_of_another_endpoint_is_404_under_mine(
    broker_client: Any,
    other_broker_client: Any,
    broker: Any,
    other_broker: Any,
    vendor: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    mine = register(broker_client).json()["id"]
    theirs = register(other_broker_client).json()["id"]
    delivery = _delivery_for(other_broker, vendor, theirs, django_capture_on_commit_callbacks)
    path = f"/api/v1/webhooks/{mine}/deliveries/{delivery.pk}/redeliver/"
    assert broker_client.post(path).status_code == 404


def test_staff_see_every_endpoint_and_need_permissions(
    broker_client: Any, staff_client: Any, superuser_client: Any
) -> None:
    register(broker_client)
    assert superuser_client.get("/api/v1/webhooks/").json()["count"] == 1
    assert staff_client([]).get("/api/v1/webhooks/").status_code == 403
    assert register(staff_client(["events.view_webhookendpoint"])).status_code == 403
    created = register(superuser_client, types=["booking.approved", "offer.accepted"])
    assert created.status_code == 201 and created.json()["owner"] == "staff"


def test_an_endpoint_can_be_turned_off_and_on(broker_client: Any) -> None:
    pk = register(broker_client).json()["id"]
    off = broker_client.patch(f"/api/v1/webhooks/{pk}/", {"active": False}, format="json")
    assert off.status_code == 200 and off.json()["active"] is False
    on = broker_client.patch(f"/api/v1/webhooks/{pk}/", {"active": True}, format="json")
    assert on.json()["active"] is True and on.json()["disabled_at"] is None

"""The WhatsApp webhook: verification handshake and signed delivery receipts."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from notifications.models import Notification

pytestmark = pytest.mark.django_db
URL = "/webhooks/whatsapp/"
SECRET = "test-app-secret"
S = Notification.Status


@pytest.fixture(autouse=True)
def _webhook_settings(settings: Any) -> None:
    settings.WHATSAPP_APP_SECRET = SECRET
    settings.WHATSAPP_VERIFY_TOKEN = "verify-me"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(client: Client, payload: Any, *, signature: str | None = None, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {} if signature == "" else {"HTTP_X_HUB_SIGNATURE_256": signature or sign(body)}
    return client.post(URL, data=body, content_type="application/json", **headers)


def statuses(*items: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA",
                "changes": [
                    {
                        "field": "messages",
                        "value": {"messaging_product": "whatsapp", "statuses": list(items)},
                    }
                ],
            }
        ],
    }


def status(message_id: str, value: str, *, ts: int = 1_900_000_000, **extra: Any) -> dict:
    return {"id": message_id, "status": value, "timestamp": str(ts), "recipient_id": "351", **extra}


def sent_row(message_id: str = "wamid.A", **fields: Any) -> Notification:
    defaults = {
        "kind": "item_assigned",
        "channel": Notification.Channel.WHATSAPP,
        "recipient": "+351910000000",
        "dedupe_key": f"test:{message_id}",
        "status": S.SENT,
        "attempts": 1,
        "sent_at": timezone.now(),
        "provider_message_id": message_id,
    }
    return Notification.objects.create(**{**defaults, **fields})


# --- handshake --------------------------------------------------------------------------


def test_handshake_echoes_the_challenge_with_the_right_token(client: Client) -> None:
    response = client.get(
        URL,
        {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"},
    )
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "verify-me", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": "vérify", "hub.challenge": "1"},
    ],
)
def test_handshake_with_a_bad_token_or_mode_is_refused(client: Client, params: dict) -> None:
    response = client.get(URL, params)
    assert response.status_code == 403
    assert b"1" not in response.content


def test_handshake_without_a_configured_token_is_refused(client: Client, settings: Any) -> None:
    settings.WHATSAPP_VERIFY_TOKEN = ""
    response = client.get(
        URL, {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    )
    assert response.status_code == 403


def test_handshake_missing_parameters_is_a_400(client: Client) -> None:
    assert client.get(URL, {"hub.mode": "subscribe"}).status_code == 400


def test_other_methods_are_not_allowed(client: Client) -> None:
    assert client.put(URL, data=b"{}").status_code == 405


# --- signatures -------------------------------------------------------------------------


def test_a_good_signature_is_accepted_without_a_csrf_token(client: Client) -> None:
    csrf_client = Client(enforce_csrf_checks=True)
    row = sent_row()
    response = post(csrf_client, statuses(status("wamid.A", "delivered")))
    assert response.status_code == 200
    assert response.content == b"ok: 1 updated, 0 ignored"
    row.refresh_from_db()
    assert row.status == S.DELIVERED


@pytest.mark.parametrize(
    "signature",
    [
        "",  # no header
        "sha256=" + "0" * 64,
        "sha1=abcdef",
        "sha256=é",  # non-ASCII: refused, not a 500
        "wrong-secret",
    ],
)
def test_a_bad_signature_is_a_403_and_changes_nothing(client: Client, signature: str) -> None:
    row = sent_row()
    body = json.dumps(statuses(status("wamid.A", "read"))).encode()
    if signature == "wrong-secret":
        signature = sign(body, "another-secret")
    response = post(client, None, raw=body, signature=signature)
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.status == S.SENT and row.read_at is None


def test_a_signature_over_another_body_is_refused(client: Client) -> None:
    sent_row()
    body = json.dumps(statuses(status("wamid.A", "read"))).encode()
    response = post(client, None, raw=body.replace(b"read", b"failed"), signature=sign(body))
    assert response.status_code == 403


def test_without_an_app_secret_nothing_is_trusted(client: Client, settings: Any) -> None:
    settings.WHATSAPP_APP_SECRET = ""
    body = json.dumps(statuses()).encode()
    assert post(client, None, raw=body, signature=sign(body, "")).status_code == 403


# --- malformed bodies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"entry": "x"}',
        b'{"entry": [1]}',
        b'{"entry": [{"changes": {}}]}',
        b'{"entry": [{"changes": [{"value": []}]}]}',
        b'{"entry": [{"changes": [{"value": {"statuses": [{"id": 1, "status": "read"}]}}]}]}',
        b'{"entry": [{"changes": [{"value": {"statuses": "read"}}]}]}',
    ],
)
def test_a_malformed_body_is_a_400(client: Client, raw: bytes) -> None:
    response = post(client, None, raw=raw)
    assert response.status_code == 400
    assert response.content.startswith(b"Malformed body")


def test_messages_without_statuses_are_acknowledged(client: Client) -> None:
    payload = {"entry": [{"changes": [{"value": {"messages": [{"from": "351", "text": {}}]}}]}]}
    response = post(client, payload)
    assert response.status_code == 200
    assert response.content == b"ok: 0 updated, 0 ignored"


# --- status updates -------------------------------------------------------------------------


def test_unknown_message_id_is_acknowledged_and_ignored(client: Client) -> None:
    row = sent_row()
    response = post(client, statuses(status("wamid.UNKNOWN", "delivered")))
    assert response.status_code == 200
    assert response.content == b"ok: 0 updated, 1 ignored"
    row.refresh_from_db()
    assert row.status == S.SENT


def test_sent_delivered_read_move_the_row_forward(client: Client) -> None:
    row = sent_row(sent_at=None)
    post(client, statuses(status("wamid.A", "sent", ts=1_900_000_000)))
    row.refresh_from_db()
    assert row.status == S.SENT and int(row.sent_at.timestamp()) == 1_900_000_000
    post(client, statuses(status("wamid.A", "delivered", ts=1_900_000_010)))
    row.refresh_from_db()
    assert row.status == S.DELIVERED and int(row.delivered_at.timestamp()) == 1_900_000_010
    post(client, statuses(status("wamid.A", "read", ts=1_900_000_020)))
    row.refresh_from_db()
    assert row.status == S.READ and int(row.read_at.timestamp()) == 1_900_000_020


def test_receipts_out_of_order_never_move_a_row_back(client: Client) -> None:
    row = sent_row()
    post(client, statuses(status("wamid.A", "read", ts=1_900_000_020)))
    response = post(client, statuses(status("wamid.A", "delivered", ts=1_900_000_010)))
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.status == S.READ
    assert row.delivered_at is not None and row.read_at is not None
    # A repeated receipt changes nothing.
    response = post(client, statuses(status("wamid.A", "read", ts=1_900_000_099)))
    assert response.content == b"ok: 0 updated, 1 ignored"


def test_failed_receipt_marks_the_row_failed_with_the_error(client: Client) -> None:
    row = sent_row()
    error = {
        "code": 131026,
        "title": "Message undeliverable",
        "error_data": {"details": "Receiver is not on WhatsApp"},
    }
    post(client, statuses(status("wamid.A", "failed", errors=[error])))
    row.refresh_from_db()
    assert row.status == S.FAILED and row.failed_at is not None
    assert row.last_error == (
        "WhatsApp error 131026: Message undeliverable (Receiver is not on WhatsApp)"
    )


def test_a_receipt_before_the_id_was_stored_finds_the_row_by_callback_data(
    client: Client,
) -> None:
    row = sent_row(provider_message_id="", dedupe_key="test:early")
    response = post(
        client,
        statuses(
            status("wamid.EARLY", "delivered", biz_opaque_callback_data=f"notification:{row.pk}")
        ),
    )
    assert response.content == b"ok: 1 updated, 0 ignored"
    row.refresh_from_db()
    assert row.provider_message_id == "wamid.EARLY" and row.delivered_at is not None


def test_several_statuses_in_one_callback(client: Client) -> None:
    a, b = sent_row("wamid.A"), sent_row("wamid.B")
    response = post(
        client,
        statuses(status("wamid.A", "delivered"), status("wamid.B", "read"), status("x", "read")),
    )
    assert response.content == b"ok: 2 updated, 1 ignored"
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, b.status) == (S.DELIVERED, S.READ)


def test_an_email_row_with_the_same_id_is_not_touched(client: Client) -> None:
    row = sent_row(channel=Notification.Channel.EMAIL)
    post(client, statuses(status("wamid.A", "read")))
    row.refresh_from_db()
    assert row.status == S.SENT

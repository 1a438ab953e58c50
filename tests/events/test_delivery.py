"""Webhook deliveries to a real HTTP receiver on loopback: signed, retried, logged,
disabled after persistent failure, redelivered with the same event id, and refused
at send time when the target is private."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from bookings import services as bookings
from events import services as events_services
from events import tasks
from events.models import WebhookDelivery, WebhookEndpoint
from notifications.models import Notification
from tests.events.flows import SYSTEM, approved_booking, pending_booking
from tests.events.standins import WebhookReceiver

pytestmark = pytest.mark.django_db


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """The receiver's side, written from the documented recipe (not the sender's code)."""
    timestamp = headers["Webhook-Timestamp"]
    signed = timestamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= tolerance
    return fresh and hmac.compare_digest(expected, headers["Webhook-Signature"])


@pytest.fixture
def hook(broker_client: Any, receiver: WebhookReceiver) -> dict[str, Any]:
    response = broker_client.post(
        "/api/v1/webhooks/",
        {"url": receiver.url, "event_types": ["booking.approved", "booking.cancelled"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def _approve(broker: Any, capture: Any, *, execute: bool = True) -> Any:
    booking = pending_booking(broker=broker, vendors=[])
    with capture(execute=execute):
        committed = time.time()
        bookings.booking_approve(booking=booking, actor=SYSTEM)
    return booking, committed


def _delivery(hook: dict[str, Any]) -> WebhookDelivery:
    return WebhookDelivery.objects.get(endpoint_id=hook["id"])


def _due_now(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_an_approval_reaches_the_receiver_signed_within_a_second(
    hook: dict[str, Any],
    receiver: WebhookReceiver,
    broker: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    booking, committed = _approve(broker, django_capture_on_commit_callbacks)
    [request] = receiver.wait_for(1)
    assert request.at - committed < 1.0
    assert verify(hook["secret"], request.headers, request.body)
    assert not verify(hook["secret"], request.headers, request.body.replace(b"approved", b"xx"))
    assert not verify("whsec_another", request.headers, request.body)
    event = json.loads(request.body)
    assert request.headers["Webhook-Event-Id"] == event["id"]
    assert request.headers["Webhook-Event-Type"] == "booking.approved" == event["type"]
    assert request.headers["Content-Type"] == "application/json"
    assert event["object"] == {"type": "booking", "id": booking.reference}
    assert event["data"]["status"] == "approved"
    # The broker's own view: no costs, no vendors.
    assert set(event["data"]["totals"]) == {"sell", "commission"}
    assert all("unit_cost" not in item for item in event["data"]["items"])
    delivery = _delivery(hook)
    assert delivery.status == "delivered" and delivery.attempts == 1
    [attempt] = delivery.log.all()
    assert attempt.status_code == 200 and attempt.outcome == "delivered"
    assert attempt.response_ms is not None and attempt.response_body == '{"ok": true}'


def test_only_subscribed_types_are_sent(
    hook: dict[str, Any],
    receiver: WebhookReceiver,
    broker: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        pending_booking(broker=broker, vendors=[])  # created, submitted: not subscribed
    assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


def test_timeouts_5xx_and_429_are_retried_with_backoff(
    hook: dict[str, Any],
    receiver: WebhookReceiver,
    broker: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WEBHOOK_RETRY_DELAY = 0
    settings.WEBHOOK_READ_TIMEOUT = 0.3
    receiver.script(500, (429, {"Retry-After": "120"}), ("sleep", 1.0), 200)
    _approve(broker, django_capture_on_commit_callbacks)
    delivery = _delivery(hook)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert tasks.deliver(delivery.pk) == "retry"  # the 429
    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= timezone.now() + timedelta(seconds=110)
    assert tasks.deliver(delivery.pk) == "skipped"  # not due yet
    _due_now(delivery)
    assert tasks.deliver(delivery.pk) == "retry"  # the timeout
    _due_now(delivery)
    assert tasks.deliver(delivery.pk) == "delivered"
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 4
    log = list(delivery.log.values_list("outcome", "status_code"))
    assert log == [("retry", 500), ("retry", 429), ("retry", None), ("delivered", 200)]
    assert "Timed out" in delivery.log.get(number=3).error
    requests = receiver.wait_for(4)
    assert len({r.headers["Webhook-Event-Id"] for r in requests}) == 1


@pytest.mark.parametrize("status", [400, 404, 410, 302])
def test_other_4xx_and_redirects_are_final(
    hook: dict[str, Any],
    receiver: WebhookReceiver,
    broker: Any,
    status: int,
    django_capture_on_commit_callbacks: Any,
) -> None:
    receiver.script(status)
    _approve(broker, django_capture_on_commit_callbacks)
    delivery = _delivery(hook)
    assert delivery.status == "failed" and delivery.attempts == 1
    assert delivery.last_status_code == status
    assert events_services.webhooks_sweep() == {"due": 0, "stale": 0}
    assert tasks.deliver(delivery.pk) == "skipped"
    assert len(receiver.requests) == 1


def test_retries_stop_at_the_attempt_limit(
    hook: dict[str, Any],
    receiver: WebhookReceiver,
    broker: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WEBHOOK_RETRY_DELAY = 0
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.script(503, 503, 503)
    _approve(broker, django_capture_on_commit_callbacks)
    delivery = _delivery(hook)
    assert tasks.deliver(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "Gave up after 2 attempts" in delivery.last_error


def test_the_sweep_sends_what_was_never_enqueued(
    hook: dict[str, Any],
    receiver: WebhookReceiver,
    broker: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WEBHOOK_SWEEP_GRACE = 0
    _approve(broker, django_capture_on_commit_callbacks, execute=False)  # enqueue lost
    assert receiver.requests == []
    assert tasks.sweep()["due"] == 1
    assert len(receiver.wait_for(1)) == 1
    assert _delivery(hook).status == "delivered"


def test_an_endpoint_failing_for_the_configured_time_is_disabled_and_its_owner_told(
    hook: dict[str, Any],
    receiver: WebhookReceiver,
    broker: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WEBHOOK_RETRY_DELAY = 0
    settings.WEBHOOK_DISABLE_AFTER = 3600
    receiver.script(*([500] * 10))
    _approve(broker, django_capture_on_commit_callbacks)
    endpoint = WebhookEndpoint.objects.get(pk=hook["id"])
    assert endpoint.is_active and endpoint.failing_since is not None
    # An hour of failures later:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=1, minutes=1)
    )
    with django_capture_on_commit_callbacks(execute=False):
        assert tasks.deliver(_delivery(hook).pk) == "retry"
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at is not None
    assert "1 hour" in endpoint.disabled_reason and "HTTP 500" in endpoint.disabled_reason
    assert _delivery(hook).status == "failed"  # what waited is not tried again
    told = Notification.objects.filter(kind="webhook_disabled")
    assert set(told.values_list("recipient", flat=True)) == {broker.email, "ops@example.com"}
    assert receiver.url in told.first().body_text
    # Never deleted; no new deliveries while off.
    with django_capture_on_commit_callbacks(execute=True):
        approved_booking(broker=broker, vendors=[])
    assert WebhookDelivery.objects.filter(endpoint_id=endpoint.pk).count() == 1
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_a_success_clears_the_failure_record(
    hook: dict[str, Any],
    receiver: WebhookReceiver,
    broker: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WEBHOOK_RETRY_DELAY = 0
    receiver.script(500, 200)
    _approve(broker, django_capture_on_commit_callbacks)
    assert WebhookEndpoint.objects.get(pk=hook["id"]).failing_since is not None
    assert tasks.deliver(_delivery(hook).pk) == "delivered"
    assert WebhookEndpoint.objects.get(pk=hook["id"]).failing_since is None


def test_redelivery_sends_the_same_event_id_again(
    hook: dict[str, Any],
    receiver: WebhookReceiver,
    broker: Any,
    broker_client: Any,
    superuser: Any,
    client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _approve(broker, django_capture_on_commit_callbacks)
    delivery = _delivery(hook)
    path = f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery.pk}/redeliver/"
    with django_capture_on_commit_callbacks(execute=True):
        response = broker_client.post(path)
    assert response.status_code == 202, response.content
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        admin = client.post(
            "/admin/events/webhookdelivery/",
            {"action": "redeliver", "_selected_action": [delivery.pk]},
        )
    assert admin.status_code == 302
    first, second, third = receiver.wait_for(3)
    ids = {r.headers["Webhook-Event-Id"] for r in (first, second, third)}
    assert len(ids) == 1 and json.loads(third.body)["id"] in ids
    assert all(verify(hook["secret"], r.headers, r.body) for r in (first, second, third))
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 3


def test_the_delivery_log_in_the_api(
    hook: dict[str, Any],
    receiver: WebhookReceiver,
    broker: Any,
    broker_client: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WEBHOOK_RETRY_DELAY = 0
    receiver.script(502)
    _approve(broker, django_capture_on_commit_callbacks)
    tasks.deliver(_delivery(hook).pk)
    page = broker_client.get(f"/api/v1/webhooks/{hook['id']}/deliveries/").json()
    [row] = page["results"]
    assert row["event_type"] == "booking.approved" and row["status"] == "delivered"
    assert [(a["number"], a["status_code"], a["outcome"]) for a in row["log"]] == [
        (1, 502, "retry"),
        (2, 200, "delivered"),
    ]
    assert row["log"][0]["response_body"] == '{"error": "scripted failure"}'
    assert all(a["response_ms"] is not None for a in row["log"])


def test_a_private_target_is_refused_at_send_time(
    hook: dict[str, Any],
    receiver: WebhookReceiver,
    broker: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Registered while allowed (or its DNS changed since): the connected address decides."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    settings.DEBUG = True  # plain HTTP is still allowed: only the address is at fault
    _approve(broker, django_capture_on_commit_callbacks)
    delivery = _delivery(hook)
    assert delivery.status == "failed"
    assert "127.0.0.1" in delivery.last_error and "private" in delivery.last_error
    assert receiver.requests == []


def _readme_recipe() -> Any:
    """The ``verify`` function of README's Webhooks section, run as documented."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Webhooks and the event feed", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own docs
    return namespace["verify"]


def test_the_documented_recipe_verifies_a_real_delivery(
    hook: dict[str, Any],
    receiver: WebhookReceiver,
    broker: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    readme_verify = _readme_recipe()
    _approve(broker, django_capture_on_commit_callbacks)
    [request] = receiver.wait_for(1)
    assert readme_verify(hook["secret"], request.headers, request.body)
    assert not readme_verify(hook["secret"], request.headers, request.body + b" ")
    stale = {**request.headers, "Webhook-Timestamp": str(int(time.time()) - 3600)}
    assert not readme_verify(hook["secret"], stale, request.body)


def test_the_api_docs_page_documents_the_signature(client: Any) -> None:
    from drf_spectacular.generators import SchemaGenerator

    description = SchemaGenerator().get_schema(request=None, public=True)["info"]["description"]
    for words in ("Webhook-Signature", "Webhook-Timestamp", "HMAC-SHA256", "compare_digest"):
        assert words in description


def test_a_receiver_down_for_an_hour_misses_nothing(
    broker_client: Any,
    broker: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Down: every attempt is refused at connect and retried. Back an hour later at the
    same address: the retries deliver each event once, and the feed has them all."""
    settings.WEBHOOK_RETRY_DELAY = 0
    down = WebhookReceiver().start()
    url, port = down.url, down.server.server_address[1]
    down.stop()  # nothing listens there now
    hook = broker_client.post(
        "/api/v1/webhooks/", {"url": url, "event_types": ["booking.approved"]}, format="json"
    ).json()
    references = [_approve(broker, django_capture_on_commit_callbacks)[0].reference for _ in "abc"]
    deliveries = WebhookDelivery.objects.filter(endpoint_id=hook["id"])
    assert [d.status for d in deliveries] == ["pending"] * 3
    assert all("Could not connect" in d.last_error for d in deliveries)
    WebhookEndpoint.objects.filter(pk=hook["id"]).update(
        failing_since=timezone.now() - timedelta(hours=1)
    )
    back = WebhookReceiver(port=port).start()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.sweep()["due"] == 3
        received = back.wait_for(3)
    finally:
        back.stop()
    sent = {json.loads(r.body)["object"]["id"] for r in received}
    assert sent == set(references) and len(received) == 3
    assert set(deliveries.values_list("status", flat=True)) == {"delivered"}
    assert WebhookEndpoint.objects.get(pk=hook["id"]).failing_since is None
    feed = broker_client.get("/api/v1/events/", {"types": "booking.approved"}).json()
    assert {e["object"]["id"] for e in feed["results"]} == set(references)
    assert {e["id"] for e in feed["results"]} == {r.headers["Webhook-Event-Id"] for r in received}


def test_the_admin_shows_events_endpoints_and_the_delivery_log(
    hook: dict[str, Any],
    receiver: WebhookReceiver,
    broker: Any,
    superuser: Any,
    client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _approve(broker, django_capture_on_commit_callbacks)
    delivery = _delivery(hook)
    client.force_login(superuser)
    for path in (
        "/admin/events/event/",
        "/admin/events/webhookendpoint/",
        f"/admin/events/webhookendpoint/{hook['id']}/change/",
        "/admin/events/webhookdelivery/",
    ):
        assert client.get(path).status_code == 200, path
    page = client.get(f"/admin/events/webhookdelivery/{delivery.pk}/change/").content.decode()
    assert str(delivery.event.id) in page and "booking.approved" in page
    assert "{&quot;ok&quot;: true}" in page or '{"ok": true}' in page
    assert (
        hook["secret"]
        not in client.get(f"/admin/events/webhookendpoint/{hook['id']}/change/").content.decode()
    )


def test_a_send_cut_short_by_a_dead_worker_is_sent_again_once(
    hook: dict[str, Any],
    receiver: WebhookReceiver,
    broker: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from events import delivery as sender

    _approve(broker, django_capture_on_commit_callbacks, execute=False)
    row = _delivery(hook)
    assert sender.claim(row.pk) is not None  # a worker took it ... and died
    assert tasks.deliver(row.pk) == "skipped"  # its claim still holds
    WebhookDelivery.objects.filter(pk=row.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    assert events_services.webhooks_sweep()["stale"] == 1
    assert len(receiver.wait_for(1)) == 1
    row.refresh_from_db()
    assert row.status == "delivered" and row.attempts == 2
    assert list(row.log.values_list("outcome", flat=True)) == ["interrupted", "delivered"]

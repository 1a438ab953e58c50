"""/healthz and /readyz in process (the database-away case runs a real server)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from notifications.models import Notification


def _notification(**fields) -> Notification:
    defaults = {
        "kind": "booking_submitted",
        "channel": Notification.Channel.EMAIL,
        "recipient": "ops@example.com",
        "dedupe_key": f"test-{timezone.now().timestamp()}-{fields}",
    }
    return Notification.objects.create(**{**defaults, **fields})


def test_healthz_answers_without_the_database(client) -> None:
    # No db fixture: pytest-django fails any database access in this test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_readyz_ok_with_database_and_moving_outbox(client, db) -> None:
    _notification(next_attempt_at=timezone.now() - timedelta(seconds=5))
    _notification(next_attempt_at=timezone.now() + timedelta(hours=2))  # not due yet
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert 0 < body["outbox_lag_seconds"] < 60


def test_readyz_is_503_when_the_outbox_is_stuck(client, db, settings) -> None:
    settings.READYZ_MAX_OUTBOX_LAG = 300
    _notification(next_attempt_at=timezone.now() - timedelta(minutes=30))
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "outbox stuck" in body["reason"]


def test_readyz_ignores_old_notifications_that_are_done(client, db) -> None:
    _notification(
        next_attempt_at=timezone.now() - timedelta(days=2), status=Notification.Status.SENT
    )
    _notification(
        next_attempt_at=timezone.now() - timedelta(days=2), status=Notification.Status.FAILED
    )
    assert client.get("/readyz").status_code == 200


def test_health_endpoints_refuse_writes(client, db) -> None:
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405

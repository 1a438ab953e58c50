"""Retention: ``purge_notifications`` deletes sent rows older than N days and nothing else."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from notifications import tasks
from notifications.models import DeliveryAttempt, Notification

pytestmark = pytest.mark.django_db
S = Notification.Status


def make(key: str, status: str, age_days: float) -> Notification:
    row = Notification.objects.create(
        kind="booking_approved",
        channel="email",
        recipient=f"{key}@example.com",
        dedupe_key=f"purge:{key}",
        status=status,
        created_at=timezone.now() - timedelta(days=age_days),
    )
    DeliveryAttempt.objects.create(notification=row, number=1, outcome="sent")
    return row


@pytest.fixture
def rows() -> dict[str, Notification]:
    return {
        "old_sent": make("old_sent", S.SENT, 40),
        "old_delivered": make("old_delivered", S.DELIVERED, 40),
        "old_read": make("old_read", S.READ, 40),
        "old_failed": make("old_failed", S.FAILED, 40),
        "old_cancelled": make("old_cancelled", S.CANCELLED, 40),
        "old_pending": make("old_pending", S.PENDING, 40),
        "old_sending": make("old_sending", S.SENDING, 40),
        "new_sent": make("new_sent", S.SENT, 29),
    }


def remaining() -> set[str]:
    return {r.split("@")[0] for r in Notification.objects.values_list("recipient", flat=True)}


def test_purge_deletes_sent_rows_older_than_n_days_and_nothing_else(rows: dict) -> None:
    out = io.StringIO()
    call_command("purge_notifications", "--days", "30", "--batch-size", "2", stdout=out)
    assert out.getvalue().strip() == "Deleted 3 notification(s)."
    assert remaining() == {
        "old_failed",
        "old_cancelled",
        "old_pending",
        "old_sending",
        "new_sent",
    }
    # Their attempts went with them; the others' stayed.
    assert DeliveryAttempt.objects.count() == 5


def test_purge_defaults_to_the_retention_setting(rows: dict, settings: object) -> None:
    settings.NOTIFICATION_RETENTION_DAYS = 45
    call_command("purge_notifications", stdout=io.StringIO())
    assert len(remaining()) == 8
    settings.NOTIFICATION_RETENTION_DAYS = 10
    assert tasks.purge() == 4  # the scheduled task: the three old ones and new_sent


def test_purge_refuses_a_negative_number_of_days() -> None:
    with pytest.raises(CommandError):
        call_command("purge_notifications", "--days", "-1", stdout=io.StringIO())

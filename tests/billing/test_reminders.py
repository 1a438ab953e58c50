"""Reminders before and after a due date, through the outbox, each sent once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from billing import services, tasks
from billing.notify import reminders_sweep
from notifications.models import Notification
from tests.billing.conftest import make_booking


def test_reminded_before_the_due_date_and_once(
    staff: Any, broker: Any, django_capture_on_commit_callbacks: Any, mailoutbox: Any
) -> None:
    booking = make_booking(staff, broker=broker, days_ahead=90)
    deposit, _balance = booking.instalments.order_by("due_date")
    too_early = deposit.due_date - timedelta(days=4)
    assert reminders_sweep(today=too_early) == {"payment_reminder": 0, "payment_overdue": 0}
    day = deposit.due_date - timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_sweep(today=day) == {"payment_reminder": 1, "payment_overdue": 0}
        assert reminders_sweep(today=day) == {"payment_reminder": 0, "payment_overdue": 0}
    row = Notification.objects.get(kind="payment_reminder")
    assert row.dedupe_key.startswith(f"instalment{deposit.pk}:payment_reminder:")
    assert row.recipient == broker.email
    assert "EUR 114.00" in row.subject
    assert [m for m in mailoutbox if "Payment of EUR 114.00 due" in m.subject]


def test_overdue_reminder_after_the_due_date_unless_paid(
    staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    booking = make_booking(staff, days_ahead=90)
    deposit, _balance = booking.instalments.order_by("due_date")
    services.payment_record(
        booking=booking, actor=staff, amount="50.00", currency="EUR", method="cash"
    )
    after = deposit.due_date + timedelta(days=1)
    counts = reminders_sweep(today=after)
    assert counts["payment_overdue"] == 1
    row = Notification.objects.get(kind="payment_overdue")
    assert "EUR 64.00" in row.subject  # what is still outstanding of it
    assert reminders_sweep(today=after + timedelta(days=5))["payment_overdue"] == 0
    assert Notification.objects.filter(kind="payment_overdue").count() == 1


def test_paid_instalments_and_cancelled_bookings_are_not_reminded(staff: Any) -> None:
    from bookings import services as booking_services

    paid = make_booking(staff, days_ahead=90)
    services.payment_record(
        booking=paid, actor=staff, amount="380.00", currency="EUR", method="cash"
    )
    cancelled = make_booking(staff, days_ahead=90)
    booking_services.booking_cancel(booking=cancelled, actor=staff, reason="x")
    day = paid.instalments.order_by("due_date").first().due_date
    assert reminders_sweep(today=day) == {"payment_reminder": 0, "payment_overdue": 0}
    assert reminders_sweep(today=day + timedelta(days=400)) == {
        "payment_reminder": 0,
        "payment_overdue": 0,
    }


def test_the_scheduled_task_runs_the_sweep(staff: Any) -> None:
    make_booking(staff, days_ahead=3)  # one instalment, due today
    assert tasks.sweep() == {"payment_reminder": 1, "payment_overdue": 0, "documents": 0}
    from django_q.models import Schedule

    assert Schedule.objects.filter(func="billing.tasks.sweep").exists()

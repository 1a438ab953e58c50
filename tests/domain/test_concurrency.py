"""Concurrent calls on one object are serialised by the database: each transition once.

Real threads, real connections, PostgreSQL row locks (SQLite has no row locks and is
skipped).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from bookings import services
from bookings.models import Booking, BookingItem
from core.domain import Actor, DomainError
from core.models import AuditEntry
from notifications.models import Notification
from tests.bookings.test_services import make_booking

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor(via="system", label="test")


def race(calls: list[Callable[[], Any]]) -> list[str]:
    """Start every call at the same moment on its own connection; report each outcome."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = [""] * len(calls)

    def run(n: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            call()
            outcomes[n] = "ok"
        except DomainError as exc:
            outcomes[n] = type(exc).__name__
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


def test_two_concurrent_approvals_approve_once(approver_actor: Actor) -> None:
    booking = make_booking(status=Booking.Status.PENDING_APPROVAL)
    outcomes = race([lambda: services.booking_approve(booking=booking, actor=approver_actor)] * 2)
    assert outcomes == ["InvalidTransition", "ok"]
    assert AuditEntry.objects.filter(action="approved", object_id=booking.pk).count() == 1
    assert Notification.objects.filter(kind="booking_approved").count() == 1


def test_approve_racing_cancel_leaves_one_consistent_outcome(approver_actor: Actor) -> None:
    booking = make_booking(status=Booking.Status.PENDING_APPROVAL)
    outcomes = race(
        [
            lambda: services.booking_approve(booking=booking, actor=approver_actor),
            lambda: services.booking_cancel(booking=booking, actor=SYSTEM, reason="Changed plans"),
        ]
    )
    booking.refresh_from_db()
    # Cancel is legal after approval too, so both may succeed in that order; never the reverse.
    actions = list(
        AuditEntry.objects.filter(
            object_id=booking.pk,
            content_type__model="booking",
            action__in=["approved", "cancelled"],
        )
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert booking.status == Booking.Status.CANCELLED or outcomes.count("ok") == 1
    assert actions in (["cancelled"], ["approved", "cancelled"], ["approved"])
    assert len(actions) == outcomes.count("ok")


def test_last_two_items_confirmed_at_once_confirm_the_booking_exactly_once() -> None:
    booking = make_booking(
        status=Booking.Status.APPROVED, items=2, item_status=BookingItem.VendorStatus.ACCEPTED
    )
    first, second = booking.items.all()
    outcomes = race(
        [
            lambda: services.item_confirm(item=first, actor=SYSTEM, vendor_reference="A"),
            lambda: services.item_confirm(item=second, actor=SYSTEM, vendor_reference="B"),
        ]
    )
    assert outcomes == ["ok", "ok"]
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert (
        AuditEntry.objects.filter(
            action="confirmed", object_id=booking.pk, content_type__model="booking"
        ).count()
        == 1
    )
    assert Notification.objects.filter(kind="booking_confirmed").count() == 1


def test_a_retried_vendor_accept_happens_once(vendor: Any) -> None:
    item = make_booking(vendor=vendor, item_status=BookingItem.VendorStatus.PENDING).items.get()
    actor = Actor(vendor=vendor, via="api")
    outcomes = race([lambda: services.item_accept(item=item, actor=actor)] * 3)
    assert outcomes == ["InvalidTransition", "InvalidTransition", "ok"]
    assert AuditEntry.objects.filter(action="accepted", object_id=item.pk).count() == 1

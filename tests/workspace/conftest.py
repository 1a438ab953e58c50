"""Rows in every state the workspace counts, one or two of each, and some that it must
not count (each named for why)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bookings.models import Booking, BookingItem
from notifications.models import Notification
from offers.models import Offer
from tests import factories
from workspace.timing import end_of_local_day

B = Booking.Status
V = BookingItem.VendorStatus


def notification(status: str, n: int) -> Notification:
    return Notification.objects.create(
        kind="booking_approved",
        channel="email",
        recipient="ops@example.com",
        dedupe_key=f"workspace-test-{status}-{n}",
        status=status,
    )


@pytest.fixture
def staff_client(client: Client, superuser: Any) -> Client:
    client.force_login(superuser)
    return client


@pytest.fixture
def attention_rows(db: None) -> dict[str, Any]:
    """{condition key: the pks it must count}, plus the rows that must not be counted."""
    now = timezone.now()
    vendor = factories.VendorFactory(name="Algarve Coaches")
    later = now + timedelta(days=10)

    def booking(status: str) -> Booking:
        return factories.BookingFactory(status=status)

    def item(status: str = B.APPROVED, **fields: Any) -> BookingItem:
        fields.setdefault("start", later)
        if fields.get("vendor_status", V.UNASSIGNED) not in (V.UNASSIGNED, V.DECLINED):
            fields.setdefault("vendor", vendor)
        return factories.BookingItemFactory(booking=booking(status), **fields)

    awaiting = [booking(B.PENDING_APPROVAL), booking(B.PENDING_APPROVAL)]
    booking(B.DRAFT)
    booking(B.APPROVED)

    needs_vendor = [
        item(B.PENDING_APPROVAL),
        item(B.APPROVED, vendor_status=V.DECLINED, decline_reason="Full"),
    ]
    item(B.DRAFT)  # a draft is not being arranged yet
    item(B.APPROVED, cancelled_at=now)  # cancelled: nothing to arrange

    # Staff's day ends at midnight in the site's zone: "later today" is half-way there.
    later_today = now + (end_of_local_day(now) - now) / 2
    asked = now - timedelta(days=3)
    overdue = item(vendor_status=V.PENDING, assigned_at=asked, respond_by=now - timedelta(days=2))
    answer_today = item(vendor_status=V.PENDING, assigned_at=asked, respond_by=later_today)
    # Asked just now: due the day after tomorrow.
    item(vendor_status=V.PENDING, assigned_at=now, respond_by=now + timedelta(days=2))
    item(vendor_status=V.PENDING, assigned_at=asked, respond_by=now, cancelled_at=now)

    def accepted(status: str = B.APPROVED, **fields: Any) -> BookingItem:
        fields.setdefault("responded_at", now - timedelta(days=2))
        return item(status, vendor_status=V.ACCEPTED, assigned_at=asked, **fields)

    confirmation_overdue = accepted(confirm_by=now - timedelta(hours=1))
    confirmation_today = accepted(B.PENDING_APPROVAL, confirm_by=later_today)
    accepted(confirm_by=now + timedelta(days=2))  # due the day after tomorrow
    accepted(confirm_by=None)  # accepted before deadlines existed: no clock
    accepted(confirm_by=now - timedelta(hours=1), cancelled_at=now)  # the item is cancelled
    accepted(B.CANCELLED, confirm_by=now - timedelta(hours=1))  # the booking is cancelled
    item(vendor_status=V.CONFIRMED, vendor_reference="C-1")

    soon = [
        accepted(start=now + timedelta(hours=5)),
        item(B.DRAFT, start=now + timedelta(hours=70)),
    ]
    item(start=now + timedelta(hours=5), vendor_status=V.CONFIRMED, vendor_reference="C-2")
    item(B.DRAFT, start=now + timedelta(hours=73))  # beyond 72 hours
    item(B.DRAFT, start=now - timedelta(hours=1))  # already started

    expiring = factories.OfferFactory(status=Offer.Status.SENT, valid_until=now + timedelta(days=2))
    factories.OfferFactory(status=Offer.Status.SENT, valid_until=now + timedelta(days=8))
    factories.OfferFactory(status=Offer.Status.DRAFT, valid_until=now + timedelta(days=2))
    factories.OfferFactory(status=Offer.Status.SENT, valid_until=now - timedelta(hours=1))

    stuck = [notification("failed", 1), notification("interrupted", 1)]
    notification("sent", 1)
    notification("pending", 1)

    return {
        # The two, and the bookings of the first item needing a vendor and of the
        # confirmation due today.
        "awaiting_approval": {b.pk for b in awaiting}
        | {needs_vendor[0].booking_id, confirmation_today.booking_id},
        "needs_vendor": {i.pk for i in needs_vendor},
        "answer_due": {overdue.pk, answer_today.pk},
        "confirmation_due": {confirmation_overdue.pk, confirmation_today.pk},
        "starting_unconfirmed": {i.pk for i in soon},
        "offers_expiring": {expiring.pk},
        "notifications_stuck": {n.pk for n in stuck},
    }

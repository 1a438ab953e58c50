"""The staff workspace's counts: what needs attention, each a condition that the count
and the changelist it opens (``?attention=<key>``) share (see ``core.attention``).

Each condition leads with an indexed column (a status, a deadline, a date range), so
a count reads index entries of the rows it counts, never the whole table; and a count
stops at ``core.attention.COUNT_LIMIT`` (the page then says "1,000+"). Which index
answers which count (tests/workspace/test_plans.py holds them to it on PostgreSQL):

- bookings awaiting approval: ``booking_status_created``;
- items needing a vendor: the open bookings (``booking_status_created``), each probed
  in ``ws_item_needs_vendor`` (live items with no vendor, or declined: a partial index);
- vendor answers and confirmations due: ``respond_by`` and ``confirm_by``'s indexes
  (set only while a vendor owes an answer), each row's booking by its key;
- services within 72 hours not confirmed: ``ws_item_start_open`` (live, unconfirmed);
- offers expiring: ``valid_until``'s index; notifications: ``notification_status_created``.

Vendor answers and confirmations are counted alike: overdue, or due before the end of
staff's day (``workspace.timing``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from bookings.models import NEEDING_VENDOR, NOT_CONFIRMED, Booking, BookingItem
from core.attention import Condition
from notifications.models import Notification
from offers.models import Offer
from workspace.timing import answer_due_before, confirmation_due_before, end_of_local_day

B = Booking.Status
V = BookingItem.VendorStatus

# Bookings whose items are being arranged with vendors (submitted, not yet confirmed).
ARRANGING = (B.PENDING_APPROVAL, B.APPROVED)
# Bookings that are still to happen (not completed, not cancelled).
LIVE_BOOKINGS = (B.DRAFT, B.PENDING_APPROVAL, B.APPROVED, B.CONFIRMED)
SOON = timedelta(hours=72)
EXPIRING = timedelta(days=7)


def _live_items(statuses: tuple[str, ...], bookings: tuple[str, ...] = ARRANGING) -> Q:
    return Q(vendor_status__in=statuses, cancelled_at__isnull=True, booking__status__in=bookings)


def _awaiting_approval(now: datetime) -> Q:
    return Q(status=B.PENDING_APPROVAL)


def _needing_vendor(now: datetime) -> Q:
    # NEEDING_VENDOR itself, as ws_item_needs_vendor's condition is written.
    return _live_items(NEEDING_VENDOR)


def _answer_due(now: datetime) -> Q:
    return _live_items((V.PENDING,)) & answer_due_before(end_of_local_day(now))


def _confirmation_due(now: datetime) -> Q:
    return _live_items((V.ACCEPTED,)) & confirmation_due_before(end_of_local_day(now))


def _starting_unconfirmed(now: datetime) -> Q:
    # NOT_CONFIRMED itself, as ws_item_start_open's condition is written.
    return Q(start__gte=now, start__lt=now + SOON) & _live_items(
        NOT_CONFIRMED, bookings=LIVE_BOOKINGS
    )


def _notifications_stuck(now: datetime) -> Q:
    return Q(status__in=[Notification.Status.FAILED, Notification.Status.INTERRUPTED])


def _offers_expiring(now: datetime) -> Q:
    return Q(status=Offer.Status.SENT, valid_until__gte=now, valid_until__lt=now + EXPIRING)


CONDITIONS = (
    Condition(
        "awaiting_approval",
        "Bookings awaiting approval",
        Booking,
        _awaiting_approval,
        help="Submitted and waiting for an approver.",
    ),
    Condition(
        "needs_vendor",
        "Items needing a vendor",
        BookingItem,
        _needing_vendor,
        help="Items of submitted bookings with no vendor, or whose vendor declined.",
    ),
    Condition(
        "answer_due",
        "Vendor answers overdue or due today",
        BookingItem,
        _answer_due,
        help="Vendors asked who have not answered, with the answer due by the end of today.",
    ),
    Condition(
        "confirmation_due",
        "Vendor confirmations overdue or due today",
        BookingItem,
        _confirmation_due,
        help="Vendors who accepted and have not confirmed, with the confirmation due by "
        "the end of today.",
    ),
    Condition(
        "starting_unconfirmed",
        "Services within 72 hours not confirmed",
        BookingItem,
        _starting_unconfirmed,
        help="Services starting in the next 72 hours whose vendor has not confirmed.",
    ),
    Condition(
        "offers_expiring",
        "Offers expiring within 7 days",
        Offer,
        _offers_expiring,
        help="Sent offers the customer has not answered, valid for at most 7 more days.",
    ),
    Condition(
        "notifications_stuck",
        "Notifications failed or held",
        Notification,
        _notifications_stuck,
        help="Messages that could not be sent, or were held after an interrupted send.",
    ),
)

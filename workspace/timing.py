"""When a service happens, and when a vendor's answer is due, in one place each.

A service's local day is its own zone's (the item's ``timezone``); staff's "today" is
the site's (``DEFAULT_SERVICE_TIMEZONE``); an answer is due at the item's
``respond_by``, a confirmation at its ``confirm_by``. The workspace counts, the agenda
and the day sheet ask these functions.

A deadline is an instant, and "due today" is said of the day of whoever acts on it:
staff, so both deadlines are counted against the end of staff's day (the vendor is
told its deadline on its own clock, see ``bookings.deadlines``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from bookings.models import BookingItem
from partners.timezones import zone

# The widest UTC offsets in use (Kiribati +14, Baker Island -12): a day anywhere lies
# within this margin of the same calendar day in UTC.
WIDEST_OFFSET = timedelta(hours=14)


def site_zone() -> tzinfo:
    return zone(settings.DEFAULT_SERVICE_TIMEZONE)


def service_zone(item: BookingItem) -> tzinfo:
    """The zone a service's times are read in (its local day)."""
    return zone(item.timezone)


def local_start(item: BookingItem) -> datetime:
    return timezone.localtime(item.start, service_zone(item))


def local_end(item: BookingItem) -> datetime:
    return timezone.localtime(item.end, service_zone(item))


def day_window(first: date, last: date) -> tuple[datetime, datetime]:
    """An instant range sure to hold every service starting on local days
    ``first``..``last`` wherever it happens (an indexed range on ``start``); rows are then
    kept by their own local day (``local_start``)."""
    low = datetime.combine(first, time.min, tzinfo=UTC) - WIDEST_OFFSET
    high = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC) + WIDEST_OFFSET
    return low, high


def end_of_local_day(now: datetime) -> datetime:
    """The end of staff's working day that holds ``now`` (the site's zone)."""
    today = timezone.localtime(now, site_zone()).date()
    return datetime.combine(today + timedelta(days=1), time.min, tzinfo=site_zone())


def answer_due_before(moment: datetime) -> Q:
    """Items asked of a vendor whose answer is due before ``moment`` (overdue ones too)."""
    return Q(vendor_status=BookingItem.VendorStatus.PENDING, respond_by__lt=moment)


def confirmation_due_before(moment: datetime) -> Q:
    """Items a vendor accepted whose confirmation is due before ``moment`` (overdue ones
    too). An accepted item with no ``confirm_by`` (accepted before deadlines existed)
    has no clock; it shows among the services starting soon if it is still unconfirmed."""
    return Q(vendor_status=BookingItem.VendorStatus.ACCEPTED, confirm_by__lt=moment)

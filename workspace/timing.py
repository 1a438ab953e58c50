"""When a service happens, and when a vendor's answer is due, in one place each.

Until items carry their own timezone and vendors their answer deadline, a service's
local day is the site's (``DEFAULT_SERVICE_TIMEZONE``, else ``TIME_ZONE``) and an answer
is due ``VENDOR_RESPONSE_HOURS`` after the vendor was asked. The functions below are the
only places that know it: the workspace counts, the agenda and the day sheet call them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from bookings.models import BookingItem

DEFAULT_RESPONSE_HOURS = 24
# The widest UTC offsets in use (Kiribati +14, Baker Island -12): a day anywhere lies
# within this margin of the same calendar day in UTC.
WIDEST_OFFSET = timedelta(hours=14)


def site_zone() -> tzinfo:
    name = getattr(settings, "DEFAULT_SERVICE_TIMEZONE", "") or settings.TIME_ZONE
    return ZoneInfo(name)


def service_zone(item: BookingItem) -> tzinfo:
    """The zone a service's times are read in (its local day)."""
    return site_zone()


def local_start(item: BookingItem) -> datetime:
    return timezone.localtime(item.start, service_zone(item))


def local_end(item: BookingItem) -> datetime:
    return timezone.localtime(item.end, service_zone(item))


def day_window(first: date, last: date) -> tuple[datetime, datetime]:
    """An instant range sure to hold every service starting on local days
    ``first``..``last`` wherever it happens (an indexed range on ``start``); rows are then
    kept by their own local day (``local_start``)."""
    zone = site_zone()
    low = datetime.combine(first, time.min, tzinfo=zone) - WIDEST_OFFSET
    high = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone) + WIDEST_OFFSET
    return low, high


def end_of_local_day(now: datetime) -> datetime:
    """The end of staff's working day that holds ``now`` (the site's zone)."""
    today = timezone.localtime(now, site_zone()).date()
    return datetime.combine(today + timedelta(days=1), time.min, tzinfo=site_zone())


def answer_due_before(moment: datetime) -> Q:
    """Items asked of a vendor whose answer is due before ``moment``: asked more than the
    response window before it."""
    hours = getattr(settings, "VENDOR_RESPONSE_HOURS", DEFAULT_RESPONSE_HOURS)
    return Q(
        vendor_status=BookingItem.VendorStatus.PENDING,
        assigned_at__lt=moment - timedelta(hours=hours),
    )

"""Formatting for messages and pages: a time is always shown with its zone.

A service is shown in its own local time (the item's or line's ``timezone``) with the
zone's abbreviation at that moment: ``Sat 10 May 2027, 10:00 WEST``. A vendor in
Lisbon reads Lisbon's clock, whatever the server's zone. Times that belong to no
place (an offer's expiry, an invitation's) are shown in the site's ``TIME_ZONE``.
``format_local`` is the one function every door uses (templates through the
``service_time`` filter, notifications/templatetags/service_time.py).
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, tzinfo
from decimal import Decimal

from django.utils import timezone

DATE_FORMAT = "%a %d %b %Y"
TIME_FORMAT = "%H:%M"


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None or tz == "":
        return timezone.get_current_timezone()
    if isinstance(tz, str):
        return zoneinfo.ZoneInfo(tz)
    return tz


def to_local(value: datetime, tz: str | tzinfo | None = None) -> datetime:
    """``value`` on the wall clock of ``tz`` (default: the site's zone)."""
    return value.astimezone(_zone(tz))


def zone_abbreviation(local: datetime) -> str:
    """``WEST``, ``CET``; ``UTC`` for UTC; tzdata's ``+04`` where a zone has no letters."""
    return local.tzname() or local.strftime("%z")


def format_local(value: datetime, tz: str | tzinfo | None = None) -> str:
    """``Sat 10 May 2027, 10:00 WEST``: ``value`` in ``tz``, with the zone's abbreviation."""
    local = to_local(value, tz)
    day, clock = local.strftime(DATE_FORMAT), local.strftime(TIME_FORMAT)
    return f"{day}, {clock} {zone_abbreviation(local)}"


def format_datetime(value: datetime, tz: str | tzinfo | None = None) -> str:
    """``Fri 12 Mar 2027, 14:00 UTC`` (kept for callers that show a moment, no place)."""
    return format_local(value, tz)


def format_moment(value: datetime, tz: str | tzinfo | None = None) -> str:
    return format_local(value, tz)


def format_when(start: datetime, end: datetime, tz: str | tzinfo | None = None) -> str:
    """``Sat 10 May 2027, 10:00 – 12:00 WEST`` in the service's zone.

    The end shows only its time when it falls on the same day in the same offset;
    across days, or across a daylight-saving change, each end is written whole.
    """
    start_local, end_local = to_local(start, tz), to_local(end, tz)
    same_day = start_local.date() == end_local.date()
    if same_day and zone_abbreviation(start_local) == zone_abbreviation(end_local):
        return (
            f"{start_local.strftime(DATE_FORMAT)}, {start_local.strftime(TIME_FORMAT)} – "
            f"{end_local.strftime(TIME_FORMAT)} {zone_abbreviation(end_local)}"
        )
    return f"{format_local(start, tz)} – {format_local(end, tz)}"


def format_money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.2f}"

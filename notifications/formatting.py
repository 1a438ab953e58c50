"""Formatting for messages: dates and times always carry their timezone written out.

Times are shown in the site's timezone (``TIME_ZONE``), named and with its UTC offset
at that moment, so "14:00" can never be read in the reader's own timezone by mistake.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import timezone


def format_datetime(value: datetime) -> str:
    """``Fri 12 Mar 2027 14:00`` in the site's timezone (no zone: see format_moment)."""
    local = timezone.localtime(value)
    return local.strftime("%a %d %b %Y %H:%M")


def timezone_label(value: datetime) -> str:
    """``Europe/Lisbon, UTC+01:00``: the zone's name and its offset at ``value``."""
    local = timezone.localtime(value)
    offset = local.strftime("%z")
    return f"{timezone.get_current_timezone_name()}, UTC{offset[:3]}:{offset[3:]}"


def format_moment(value: datetime) -> str:
    """``Fri 12 Mar 2027 14:00 (Europe/Lisbon, UTC+00:00)``."""
    return f"{format_datetime(value)} ({timezone_label(value)})"


def format_when(start: datetime, end: datetime) -> str:
    """``Fri 12 Mar 2027 14:00 – Sat 13 Mar 2027 11:00 (Europe/Lisbon, UTC+00:00)``.

    The end shows only its time when it falls on the same day, and each end gets its
    own label when a daylight-saving change falls in between.
    """
    start_local, end_local = timezone.localtime(start), timezone.localtime(end)
    start_label, end_label = timezone_label(start), timezone_label(end)
    end_text = (
        end_local.strftime("%H:%M")
        if end_local.date() == start_local.date()
        else format_datetime(end)
    )
    if start_label != end_label:
        return f"{format_datetime(start)} ({start_label}) – {end_text} ({end_label})"
    return f"{format_datetime(start)} – {end_text} ({start_label})"


def format_money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.2f}"

"""Where a service happens: IANA timezones, and local times read in them.

A vendor has a timezone; each booking item and offer line has one (its vendor's when
created with one, else ``DEFAULT_SERVICE_TIMEZONE``). Times are stored aware (UTC in
the database) and read or written by people in the service's own zone. A local time
that a daylight-saving change skips (spring forward) or repeats (fall back) is refused
with words saying so, unless the caller says which of the two instants it means:
never a silent shift.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

TIMEZONE_LENGTH = 64


@functools.cache
def timezone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in timezone_names()]


def default_service_timezone() -> str:
    return settings.DEFAULT_SERVICE_TIMEZONE


def service_timezone(*, chosen: str = "", current: str = "", vendor: Any = None) -> str:
    """The zone a service's wall-clock times are read in, at every door (the admin's and
    the portal's forms, the API's input): the zone chosen for it, else the one it has
    (an item or line being changed), else its vendor's, else ``DEFAULT_SERVICE_TIMEZONE``,
    which is also the zone ``bookings.services`` stores when none is given."""
    return str(
        chosen or current or getattr(vendor, "timezone", "") or settings.DEFAULT_SERVICE_TIMEZONE
    )


def common_timezones() -> list[str]:
    """The zones offered first where a person picks one: the site's default, then
    ``SERVICE_TIMEZONES`` (where the company's services usually happen)."""
    names = [settings.DEFAULT_SERVICE_TIMEZONE, *settings.SERVICE_TIMEZONES]
    return list(dict.fromkeys(n for n in names if n in _known()))


def service_timezone_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for a service's zone: the common ones, then every other zone."""
    common = common_timezones()
    rest = [(name, name) for name in timezone_names() if name not in common]
    return [("Usual", [(name, name) for name in common]), ("Every timezone", rest)]


@functools.lru_cache(maxsize=512)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone called ``name``; an unknown name is a ValidationError (never UTC by default)."""
    if not isinstance(name, str) or not name or name not in _known():
        raise ValidationError(
            f"{name!r} is not a timezone we know: give an IANA name such as Europe/Lisbon.",
            code="invalid_timezone",
        )
    return zoneinfo.ZoneInfo(name)


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    zone(value)


class LocalTimeError(ValidationError):
    """A wall-clock time that names no instant, or two, in its zone."""


def _offset(value: datetime) -> timedelta:
    offset = value.utcoffset()
    assert offset is not None  # noqa: S101 - ``value`` is aware by construction
    return offset


def make_aware_local(value: datetime, tz_name: str, *, fold: int | None = None) -> datetime:
    """The instant a person means by the wall-clock ``value`` (naive) in ``tz_name``.

    A time skipped by a spring-forward change (01:30 in Lisbon on the last Sunday of
    March) is refused. A time that happens twice (01:30 on the last Sunday of October)
    is refused unless ``fold`` says which: 0 the first (summer time), 1 the second.
    An aware ``value`` is already an instant: it is returned in the zone, unchanged.
    """
    tz = zone(tz_name)
    if value.tzinfo is not None:
        return value.astimezone(tz)
    first = value.replace(tzinfo=tz, fold=0)
    second = value.replace(tzinfo=tz, fold=1)
    if _offset(first) == _offset(second):
        return first
    wall = value.strftime("%H:%M on %a %d %b %Y")
    # Round-tripping through UTC shows whether the wall time exists at all.
    if first.astimezone(zoneinfo.ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None) != value:
        raise LocalTimeError(
            f"{wall} does not exist in {tz_name}: the clocks go forward then. "
            "Give a time outside the change.",
            code="nonexistent_local_time",
        )
    if fold is None:
        raise LocalTimeError(
            f"{wall} happens twice in {tz_name}: the clocks go back then. Say which: "
            f"the first ({first.tzname()}) or the second ({second.tzname()}).",
            code="ambiguous_local_time",
        )
    return second if fold else first


def check_timezone(value: object, *, field: str = "timezone") -> str:
    """A service's or vendor's timezone as a service checks it: a ``ValidationFailed``
    naming the field, in the same words at every door."""
    from core.domain import ValidationFailed

    try:
        zone(value)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ValidationFailed(error.messages[0], field=field) from error
    return str(value)

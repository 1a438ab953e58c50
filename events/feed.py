"""Reads of events: the caller's feed, in commit order, a page at a time.

The feed pages by ``position``, given to each event after its transaction commits
(``events.sequencer``): positioned rows are always 1..N without a hole, so a cursor
(the last position seen) never passes over an event that commits later. Each read
first numbers whatever has committed since, so a page is as fresh as the database.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from events import registry, sequencer
from events.models import Audience, Event, FeedHorizon

MAX_PAGE = 500


class BadCursor(ValueError):
    pass


class CursorExpired(Exception):
    """The cursor points below the events still kept (``EVENTS_RETENTION_DAYS``)."""

    def __init__(self, horizon: FeedHorizon) -> None:
        self.horizon = horizon
        super().__init__(horizon.position)


@dataclass(frozen=True)
class Cursor:
    position: int

    def encode(self) -> str:
        text = f"e1.{self.position}".encode()
        return base64.urlsafe_b64encode(text).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        try:
            text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
            version, position = text.split(".")
            if version != "e1" or not position.isdigit() or int(position) >= 2**63:
                raise ValueError(text)
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise BadCursor("This cursor is not one the feed gave out.") from exc
        return cls(int(position))


START = Cursor(0)


def events_visible(*, audience: str, party_id: int | None) -> QuerySet[Event]:
    if audience == Audience.STAFF:
        return Event.objects.all()
    if audience == Audience.BROKER:
        return Event.objects.filter(broker_id=party_id)
    if audience == Audience.VENDOR:
        return Event.objects.filter(vendor_links__vendor_id=party_id)
    return Event.objects.none()


@dataclass(frozen=True)
class Page:
    events: list[Event]
    cursor: Cursor  # where the next page starts (the given one when nothing is new)
    has_more: bool


def horizon() -> FeedHorizon | None:
    return FeedHorizon.objects.filter(pk=1).first()


def feed_page(
    *, audience: str, party_id: int | None, after: Cursor | None, types: Sequence[str], limit: int
) -> Page:
    """A page after ``after``; None starts from the oldest event kept. A cursor below
    the purged events raises ``CursorExpired``: pages from it would skip events."""
    sequencer.sequence()
    edge = horizon()
    if after is None:
        after = Cursor(edge.position) if edge is not None else START
    elif edge is not None and after.position < edge.position:
        raise CursorExpired(edge)
    queryset = events_visible(audience=audience, party_id=party_id)
    if types:
        queryset = queryset.filter(type__in=list(types))
    queryset = queryset.filter(position__gt=after.position)
    rows = list(queryset.order_by("position")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    cursor = Cursor(rows[-1].position) if rows else after
    return Page(events=rows, cursor=cursor, has_more=has_more)


def event_document(event: Event, *, audience: str, party_id: int | None) -> dict[str, Any] | None:
    """The event as ``audience`` sees it (the feed's item and the webhook body), or None."""
    payload = event.payload or {}
    data = registry.project(
        object_type=event.object_type,
        payload=payload.get("data", {}),
        audience=audience,
        party_id=party_id,
    )
    if data is None:
        return None
    return {
        "id": str(event.id),
        "type": event.type,
        "occurred_at": _iso(event),
        "object": payload.get("object", {"type": event.object_type, "id": event.object_id}),
        "data": data,
    }


def _iso(event: Event) -> str:
    from datetime import UTC

    return event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")

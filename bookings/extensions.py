"""Where apps above ``bookings`` take part in a booking's life without bookings importing them.

Imports flow one way (billing -> bookings), yet a booking's money must follow its
changes and show beside it. An app registers here from its ``AppConfig.ready()``:

- a *listener* is called by the booking services inside their transaction, with the
  booking row locked, after a change that moves money: ``approved``, ``cancelled``,
  ``items`` (an item added, repriced or cancelled). It runs in the same transaction,
  so what it writes commits or rolls back with the change, and an error it raises
  refuses the change. Not Django signals: the project keeps business rules out of
  signals, and an explicit call in each service is where a reader looks for it.
- a *section* adds facts to what the doors show with one booking: the API's booking
  representation (under ``name``) and the broker portal's booking page (its template).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bookings.models import Booking
    from core.domain import Actor

Listener = Callable[..., None]
CHANGES = ("approved", "cancelled", "items")

_listeners: list[Listener] = []


@dataclass(frozen=True)
class Section:
    """``data(booking, audience)`` gives a JSON-able dict ("staff" or "broker" audience)."""

    name: str
    data: Callable[[Booking, str], dict[str, Any]]
    portal_template: str = ""


_sections: dict[str, Section] = {}


def connect(listener: Listener) -> Listener:
    """Register ``listener(booking=..., actor=..., change=...)``; idempotent."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def booking_changed(*, booking: Booking, actor: Actor, change: str) -> None:
    """Called by the booking services after ``change``; see the module's docstring."""
    if change not in CHANGES:
        raise ValueError(f"Unknown booking change {change!r}")
    for listener in _listeners:
        listener(booking=booking, actor=actor, change=change)


def add_section(section: Section) -> None:
    _sections[section.name] = section


def sections() -> list[Section]:
    return list(_sections.values())


def section_data(*, booking: Booking, audience: str) -> dict[str, dict[str, Any]]:
    """Every section's facts for one booking, by name (the API's extra keys)."""
    return {section.name: section.data(booking, audience) for section in _sections.values()}

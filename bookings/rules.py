"""The rules of a service line: a booking item or an offer line, whoever types it.

Decided once, here, and applied by ``bookings.services`` and ``offers.services`` to
the input of every door (admin, portal, API):

* **Dates.** The end may not be before the start ("The end is before the start.").
  A new service, or one whose start changes, may not start in the past. Only the
  system (the demo seed, imports, the booking an accepted offer makes from lines
  checked when they were typed) records services that have started.
* **Quantity**: a whole number from 1 to ``MAX_QUANTITY``.
* **Prices and costs**: from 0 to ``MAX_UNIT_AMOUNT`` per unit, in cents at most.
* **Items per booking, lines per offer**: at most ``MAX_ITEMS_PER_BOOKING``; the API
  refuses a longer list in one request before reading its rows.
* **Text**: the description is one line of at most 300 characters, required; a
  zero price's reason is one line of at most 200 (see ``partners.rules``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from core.domain import Actor, ValidationFailed
from partners.rules import DESCRIPTION_LENGTH, check_text

MAX_QUANTITY = 10_000
MAX_UNIT_AMOUNT = Decimal("1000000.00")
MAX_ITEMS_PER_BOOKING = 100
ZERO_PRICE_REASON_LENGTH = 200

AMOUNTS = {"unit_price": "The unit price", "unit_cost": "The unit cost"}


def check_amount(value: Any, *, field: str, label: str) -> Decimal:
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationFailed(f"{label} must be a number.", field=field) from None
    if not amount.is_finite():
        raise ValidationFailed(f"{label} must be a number.", field=field)
    if amount < 0 or amount > MAX_UNIT_AMOUNT:
        raise ValidationFailed(f"{label} must be between 0 and {MAX_UNIT_AMOUNT:,}.", field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed(f"{label} has more than two decimal places.", field=field)
    return amount


def check_quantity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed("The quantity must be a whole number.", field="quantity")
    if not 1 <= value <= MAX_QUANTITY:
        raise ValidationFailed(
            f"The quantity must be between 1 and {MAX_QUANTITY}.", field="quantity"
        )
    return value


def check_service_line(
    values: Mapping[str, Any], *, changed: Collection[str], actor: Actor
) -> None:
    """Check the resulting ``values`` of an item or line; ``changed`` names what is set
    now (every field for a new one). Raises ``ValidationFailed`` with the field."""
    if "description" in changed:
        check_text(
            values.get("description"),
            field="description",
            label="The description",
            max_length=DESCRIPTION_LENGTH,
            required=True,
        )
    if "quantity" in changed:
        check_quantity(values.get("quantity"))
    for field, label in AMOUNTS.items():
        if field in changed and values.get(field) is not None:
            check_amount(values[field], field=field, label=label)
    if "zero_price_reason" in changed:
        check_text(
            values.get("zero_price_reason"),
            field="zero_price_reason",
            label="The reason for a zero price",
            max_length=ZERO_PRICE_REASON_LENGTH,
        )
    start, end = values.get("start"), values.get("end")
    if start is None:
        raise ValidationFailed("Give the start.", field="start")
    if end is None:
        raise ValidationFailed("Give the end.", field="end")
    if {"start", "end"} & set(changed) and end < start:
        raise ValidationFailed("The end is before the start.", field="end")
    if "start" in changed and not actor.is_system and start < timezone.now():
        raise ValidationFailed("The start is in the past.", field="start")


def check_line_count(
    count: int, *, holder: str = "A booking", noun: str = "items", field: str = "items"
) -> None:
    if count > MAX_ITEMS_PER_BOOKING:
        raise ValidationFailed(
            f"{holder} holds at most {MAX_ITEMS_PER_BOOKING} {noun}; this would make {count}.",
            field=field,
        )

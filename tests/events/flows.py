"""Objects in a given state, made through the services as staff and partners make them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from bookings import services as bookings
from bookings.models import Booking
from core.domain import Actor

SYSTEM = Actor(via="system", label="test setup")


def item(vendor: Any = None, **overrides: Any) -> dict[str, Any]:
    start = timezone.now() + timedelta(days=20)
    data = {
        "service_type": "accommodation",
        "description": "Double room, sea view",
        "start": start,
        "end": start + timedelta(days=2),
        "quantity": 2,
        "unit_price": Decimal("150.00"),
        "unit_cost": Decimal("100.00"),
    }
    if vendor is not None:
        data["vendor"] = vendor
    return {**data, **overrides}


def pending_booking(*, broker: Any, vendors: list[Any], actor: Actor = SYSTEM) -> Booking:
    booking = bookings.booking_create(
        actor=actor,
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        broker=broker,
        items=[item(vendor) for vendor in vendors] or [item()],
    )
    return bookings.booking_submit(booking=booking, actor=actor)


def approved_booking(*, broker: Any, vendors: list[Any], actor: Actor = SYSTEM) -> Booking:
    booking = pending_booking(broker=broker, vendors=vendors, actor=actor)
    return bookings.booking_approve(booking=booking, actor=actor)

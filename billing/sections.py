"""What billing adds to a booking's page in each door (see ``bookings.extensions``)."""

from __future__ import annotations

from typing import Any

from billing import services
from bookings.extensions import Section
from bookings.models import Booking


def money_data(booking: Booking, audience: str) -> dict[str, Any]:
    """Paid, due, overdue and the schedule; the same facts for staff and the broker."""
    return services.booking_money(booking=booking).as_dict()


money_section = Section(
    name="money", data=money_data, portal_template="billing/portal/_booking_money.html"
)

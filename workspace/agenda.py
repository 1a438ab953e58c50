"""The agenda: live services by their local day, for operations.

A service belongs to the day it starts on where it happens (``timing.local_start``).
Rows are read by an indexed range on ``start`` wide enough for every timezone
(``timing.day_window``), then kept by their own local day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet

from bookings.models import Booking, BookingItem
from workspace.timing import day_window, local_end, local_start

# Operations see what is to happen: not drafts nobody submitted, nothing cancelled.
SHOWN_BOOKINGS = (
    Booking.Status.PENDING_APPROVAL,
    Booking.Status.APPROVED,
    Booking.Status.CONFIRMED,
    Booking.Status.COMPLETED,
)
# More rows than a page can usefully show; the page says so and asks for a filter.
ROW_LIMIT = 1000


@dataclass(frozen=True)
class Service:
    item: BookingItem
    start: datetime
    end: datetime

    @property
    def day(self) -> date:
        return self.start.date()

    @property
    def ends_another_day(self) -> bool:
        return self.end.date() != self.start.date()

    # Formatted here, in the service's own zone: a template's date filter would show
    # the datetime in the server's zone instead.
    @property
    def start_label(self) -> str:
        return self.start.strftime("%H:%M %Z")

    @property
    def end_label(self) -> str:
        if self.ends_another_day:
            return self.end.strftime("%a %d %b %H:%M %Z")
        return self.end.strftime("%H:%M %Z")


@dataclass(frozen=True)
class Filters:
    service_type: str = ""
    vendor_id: int | None = None
    status: str = ""

    def apply(self, items: QuerySet) -> QuerySet:
        if self.service_type:
            items = items.filter(service_type=self.service_type)
        if self.vendor_id is not None:
            items = items.filter(vendor_id=self.vendor_id)
        if self.status:
            items = items.filter(vendor_status=self.status)
        return items


def services_between(
    first: date, last: date, *, filters: Filters | None = None, limit: int = ROW_LIMIT
) -> tuple[list[Service], bool]:
    """(services starting on local days ``first``..``last`` in start order, whether
    ``limit`` cut the list short)."""
    low, high = day_window(first, last)
    items = (filters or Filters()).apply(
        BookingItem.objects.filter(
            start__gte=low,
            start__lt=high,
            cancelled_at__isnull=True,
            booking__status__in=SHOWN_BOOKINGS,
        )
    )
    rows = list(items.select_related("booking", "vendor").order_by("start", "id")[: limit + 1])
    cut = len(rows) > limit
    services = []
    for item in rows[:limit]:
        service = Service(item, local_start(item), local_end(item))
        if first <= service.day <= last:
            services.append(service)
    return services, cut


def by_day(services: list[Service]) -> list[tuple[date, list[Service]]]:
    days: dict[date, list[Service]] = {}
    for service in services:
        days.setdefault(service.day, []).append(service)
    return sorted(days.items())


def sheet_row(service: Service) -> dict[str, Any]:
    """One line of the day sheet, as the page and the CSV show it."""
    item = service.item
    return {
        "start": service.start_label,
        "end": service.end_label,
        "service": item.get_service_type_display(),
        "description": item.description,
        "vendor": item.vendor.name if item.vendor_id else "",
        "vendor_reference": item.vendor_reference,
        "lead_traveller": item.booking.customer_name,
        "quantity": item.quantity,
        "booking": item.booking.reference,
        "vendor_status": item.get_vendor_status_display(),
    }


SHEET_COLUMNS = (
    ("start", "Start"),
    ("end", "End"),
    ("service", "Service"),
    ("description", "Place / description"),
    ("vendor", "Vendor"),
    ("vendor_reference", "Vendor reference"),
    ("lead_traveller", "Lead traveller"),
    ("quantity", "Quantity"),
    ("booking", "Booking"),
    ("vendor_status", "Vendor status"),
)

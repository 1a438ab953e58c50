"""The events of bookings and items (``events.registry``): their types, their state as
staff see it, and what a broker or a vendor sees of it, by the API's own field lists
(``bookings.serializers``): a broker's event has no costs, a vendor's no prices and
no other vendor's items."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bookings import selectors
from bookings.models import Booking, BookingItem
from bookings.serializers import (
    BOOKING_COLUMNS,
    BOOKING_FIELDS,
    BROKER,
    ITEM_COLUMNS,
    ITEM_FIELDS,
    TOTAL_FIELDS,
    VENDOR,
    render_booking,
    render_item,
)
from bookings.serializers import STAFF as STAFF_VIEW
from events import registry

BOOKING_ACTIONS = {
    "created": "booking.created",
    "updated": "booking.updated",
    "submitted": "booking.submitted",
    "approved": "booking.approved",
    "confirmed": "booking.confirmed",
    "completed": "booking.completed",
    "cancelled": "booking.cancelled",
    "item_added": "booking.item_added",
    "item_removed": "booking.item_removed",
}
ITEM_ACTIONS = {
    "updated": "booking_item.updated",
    "assigned": "booking_item.assigned",
    "reassigned": "booking_item.reassigned",
    "accepted": "booking_item.accepted",
    "declined": "booking_item.declined",
    "confirmed": "booking_item.confirmed",
    "cancelled": "booking_item.cancelled",
}
# What a vendor sees of a booking: where its own items stand, nothing of the money.
VENDOR_BOOKING_FIELDS = ("reference", "status", "currency", "items")


def _asked(item: Mapping[str, Any]) -> bool:
    """A vendor sees an item once it is asked: one only chosen on a draft is not told yet
    (``selectors.items_for_vendor``)."""
    return (
        item["vendor_id"] is not None
        and item["vendor_status"] != BookingItem.VendorStatus.UNASSIGNED
    )


def describe_booking(booking: Booking, data: Mapping[str, Any]) -> registry.Described:
    row = {column: getattr(booking, column) for column in BOOKING_COLUMNS}
    items = selectors.booking_items_rows(booking_ids=[booking.pk], fields=ITEM_COLUMNS)[booking.pk]
    return registry.Described(
        object={"type": "booking", "id": booking.reference},
        reference=booking.reference,
        payload=render_booking(row, items, kind=STAFF_VIEW),
        broker_id=booking.broker_id,
        vendor_ids={item["vendor_id"] for item in items if _asked(item)},
    )


def project_booking(
    payload: Mapping[str, Any], audience: str, party_id: int | None
) -> dict[str, Any] | None:
    items = payload.get("items", [])
    if audience == registry.BROKER:
        out = registry.pick(payload, BOOKING_FIELDS[BROKER])
        out["items"] = [registry.pick(item, ITEM_FIELDS[BROKER]) for item in items]
        out["totals"] = registry.pick(payload.get("totals", {}), TOTAL_FIELDS[BROKER])
        return out
    if audience == registry.VENDOR:
        out = registry.pick(payload, VENDOR_BOOKING_FIELDS)
        out["items"] = [
            registry.pick(item, ITEM_FIELDS[VENDOR])
            for item in items
            if item.get("vendor") == party_id and item.get("vendor_status") != "unassigned"
        ]
        return out
    return None


# What a vendor whose item was given to another vendor learns: which of its requests
# was withdrawn, and when the service was; nothing of the vendor that has it now.
WITHDRAWN_FIELDS = ("id", "booking", "service_type", "description", "start", "end", "timezone")


def describe_item(item: BookingItem, data: Mapping[str, Any]) -> registry.Described:
    booking = item.booking
    row = {column: getattr(item, column) for column in ITEM_COLUMNS}
    payload = render_item(row, booking_reference=booking.reference, kind=STAFF_VIEW)
    vendor_ids = {item.vendor_id} if _asked(row) else set()
    withdrawn_from = data.get("previous_vendor_id")
    if withdrawn_from:
        # booking_item.reassigned: the replaced vendor sees it too, as a withdrawal.
        payload["withdrawn_from"] = withdrawn_from
        vendor_ids.add(withdrawn_from)
    return registry.Described(
        object={"type": "booking_item", "id": item.pk, "booking": booking.reference},
        reference=booking.reference,
        payload=payload,
        broker_id=booking.broker_id,
        vendor_ids=vendor_ids,
    )


def project_item(
    payload: Mapping[str, Any], audience: str, party_id: int | None
) -> dict[str, Any] | None:
    if audience == registry.BROKER:
        return registry.pick(payload, ITEM_FIELDS[BROKER])
    if audience == registry.VENDOR and party_id and payload.get("withdrawn_from") == party_id:
        return {**registry.pick(payload, WITHDRAWN_FIELDS), "vendor_status": "withdrawn"}
    if (
        audience == registry.VENDOR
        and payload.get("vendor") == party_id
        and payload.get("vendor_status") != "unassigned"
    ):
        return registry.pick(payload, ITEM_FIELDS[VENDOR])
    return None


def register() -> None:
    registry.register(
        Booking,
        name="booking",
        describe=describe_booking,
        project=project_booking,
        actions=BOOKING_ACTIONS,
    )
    registry.register(
        BookingItem,
        name="booking_item",
        describe=describe_item,
        project=project_item,
        actions=ITEM_ACTIONS,
    )

"""Who hears about a booking and what they are told.

Builds recipients and message context for the booking services; the notifications
app renders and delivers them. Context holds plain strings so rows stay JSON.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from bookings.models import ZERO, Booking, BookingItem
from core.models import AuditEntry
from notifications.formatting import format_moment, format_money, format_when
from notifications.services import Recipient, notify, staff_recipients
from partners.models import Channel, Vendor
from partners.roles import AGENTS, APPROVERS


def site_link(url_name: str, *args: Any) -> str:
    return settings.SITE_URL + reverse(url_name, args=args)


def customer_recipients(booking: Booking) -> list[Recipient]:
    """The broker if the booking came through one, otherwise the lead customer."""
    broker = booking.broker
    if broker is not None:
        return [
            Recipient(
                name=broker.name,
                email=broker.email,
                link=site_link("portal:booking-detail", booking.reference),
            )
        ]
    return [Recipient(name=booking.customer_name, email=booking.customer_email)]


def vendor_recipient(vendor: Vendor, *, item: BookingItem | None = None) -> Recipient:
    link = site_link("portal:item-detail", item.pk) if item else site_link("portal:dashboard")
    return Recipient(
        name=vendor.name,
        email=vendor.email,
        phone=vendor.phone,
        channels=tuple(vendor.notify_by or [Channel.EMAIL]),
        link=link,
    )


def staff(group: str, booking: Booking) -> list[Recipient]:
    return staff_recipients(
        group=group, link=site_link("admin:bookings_booking_change", booking.pk)
    )


def item_context(item: BookingItem) -> dict[str, Any]:
    booking = item.booking
    return {
        "reference": booking.reference,
        "customer_name": booking.customer_name,
        "service": item.get_service_type_display(),
        "description": item.description,
        "when": format_when(item.start, item.end, item.timezone),
        "start": format_moment(item.start, item.timezone),
        "timezone": item.timezone,
        "answer_by": _deadline(item.respond_by, item),
        "confirm_by": _deadline(item.confirm_by, item),
        "quantity": str(item.quantity),
        "vendor_name": item.vendor.name if item.vendor else "",
        "vendor_reference": item.vendor_reference,
        "decline_reason": item.decline_reason,
    }


def _deadline(value: Any, item: BookingItem) -> str:
    """A vendor's deadline in the vendor's own zone (it is the vendor who must act)."""
    if value is None:
        return ""
    zone = item.vendor.timezone if item.vendor is not None else item.timezone
    return format_moment(value, zone)


def booking_context(booking: Booking, items: list[BookingItem] | None = None) -> dict[str, Any]:
    if items is None:
        items = list(booking.items.live().select_related("vendor"))
    total = sum((i.total_price for i in items), start=ZERO)
    return {
        "reference": booking.reference,
        "customer_name": booking.customer_name,
        "broker_name": booking.broker.name if booking.broker else "",
        "status": booking.get_status_display(),
        "total": format_money(total, booking.currency),
        "cancel_reason": booking.cancel_reason,
        "services": "; ".join(
            f"{i.get_service_type_display()} {format_moment(i.start, i.timezone)}" for i in items
        ),
        "items": [
            {
                "service": i.get_service_type_display(),
                "description": i.description,
                "when": format_when(i.start, i.end, i.timezone),
                "quantity": str(i.quantity),
                "vendor_reference": i.vendor_reference,
            }
            for i in items
        ],
    }


def told_vendors(items: list[BookingItem]) -> dict[Vendor, list[BookingItem]]:
    """Vendors who were told about at least one live item, with those items."""
    told = (
        BookingItem.VendorStatus.PENDING,
        BookingItem.VendorStatus.ACCEPTED,
        BookingItem.VendorStatus.CONFIRMED,
    )
    by_vendor: dict[Vendor, list[BookingItem]] = {}
    for item in items:
        if item.vendor is not None and item.vendor_status in told and item.is_live:
            by_vendor.setdefault(item.vendor, []).append(item)
    return by_vendor


def notify_customer(kind: str, booking: Booking, cause: AuditEntry, **extra: Any) -> None:
    notify(
        kind=kind,
        recipients=customer_recipients(booking),
        context={**booking_context(booking), **extra},
        target=booking,
        cause=cause,
        reference=booking.reference,
    )


def notify_vendors(kind: str, booking: Booking, cause: AuditEntry) -> None:
    items = list(booking.items.live().select_related("vendor"))
    for vendor, vendor_items in told_vendors(items).items():
        notify(
            kind=kind,
            recipients=[vendor_recipient(vendor)],
            context=booking_context(booking, vendor_items),
            target=booking,
            cause=cause,
            reference=booking.reference,
        )


def notify_item_vendor(
    kind: str,
    item: BookingItem,
    vendor: Vendor,
    cause: AuditEntry,
    *,
    extra: dict[str, Any] | None = None,
) -> None:
    notify(
        kind=kind,
        recipients=[vendor_recipient(vendor, item=item)],
        context={**item_context(item), "vendor_name": vendor.name, **(extra or {})},
        target=item.booking,
        cause=cause,
        reference=item.booking.reference,
    )


def notify_item_staff(
    kind: str, item: BookingItem, cause: AuditEntry, *, extra: dict[str, Any] | None = None
) -> None:
    # The booking's notes are ours (a broker's "notes for us" among them): staff only,
    # never in a vendor's or a customer's message.
    notify(
        kind=kind,
        recipients=staff(AGENTS, item.booking),
        context={**item_context(item), "notes": item.booking.notes, **(extra or {})},
        target=item.booking,
        cause=cause,
        reference=item.booking.reference,
    )


def notify_item_customer(kind: str, item: BookingItem, cause: AuditEntry) -> None:
    booking = item.booking
    notify(
        kind=kind,
        recipients=customer_recipients(booking),
        context=item_context(item),
        target=booking,
        cause=cause,
        reference=booking.reference,
    )


def notify_approvers(kind: str, booking: Booking, cause: AuditEntry) -> None:
    notify(
        kind=kind,
        recipients=staff(APPROVERS, booking),
        context=booking_context(booking),
        target=booking,
        cause=cause,
        reference=booking.reference,
    )

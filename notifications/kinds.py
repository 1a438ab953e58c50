"""The notifications the product sends: subject line and WhatsApp template per kind.

Bodies live in ``templates/notifications/<kind>.txt`` (and optionally ``.html``).
WhatsApp business-initiated messages must use a pre-approved template; its name and
the context keys that fill its parameters, in order, are declared here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Kind:
    subject: str
    whatsapp_params: tuple[str, ...] = field(default=("reference",))
    whatsapp_template: str = ""


KINDS: dict[str, Kind] = {
    "partner_invited": Kind(
        subject="You are invited to the {partner_name} portal",
        whatsapp_params=("partner_name", "link"),
    ),
    "booking_submitted": Kind(subject="Booking {reference} awaits approval"),
    "booking_approved": Kind(subject="Booking {reference} is approved"),
    "booking_approved_vendor": Kind(
        subject="Booking {reference} is approved: your services",
        whatsapp_params=("reference", "services"),
    ),
    "booking_confirmed": Kind(subject="Booking {reference} is confirmed"),
    "booking_cancelled": Kind(subject="Booking {reference} is cancelled"),
    "booking_cancelled_vendor": Kind(
        subject="Cancelled: booking {reference}", whatsapp_params=("reference", "services")
    ),
    "item_assigned": Kind(
        subject="New request {reference}: {service} on {start}",
        whatsapp_params=("reference", "service", "when", "quantity"),
    ),
    "item_withdrawn": Kind(
        subject="Withdrawn: {service} for booking {reference}",
        whatsapp_params=("reference", "service", "when"),
    ),
    "item_accepted": Kind(subject="{vendor_name} accepted {service} for {reference}"),
    "item_declined": Kind(subject="{vendor_name} declined {service} for {reference}"),
    "item_vendor_confirmed": Kind(subject="{vendor_name} confirmed {service} for {reference}"),
    "item_confirmed": Kind(subject="Confirmed: {service} for booking {reference}"),
    "offer_sent": Kind(subject="Your offer {reference}"),
    "offer_accepted": Kind(subject="Offer {reference} was accepted"),
    "offer_declined": Kind(subject="Offer {reference} was declined"),
    "offer_expired": Kind(subject="Offer {reference} has expired"),
    "offer_withdrawn": Kind(subject="Offer {reference} was withdrawn"),
}

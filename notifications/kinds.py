"""The notifications the product sends: subject line and WhatsApp template per kind.

Bodies live in ``templates/notifications/<kind>.txt`` (and optionally ``.html``).
WhatsApp business-initiated messages must use a pre-approved template; its name and
the context keys that fill its parameters, in order, are declared here.

Each kind also says, per channel, what becomes of a message whose send was
interrupted (the worker died, or the task was stopped, after handing the message
over and before recording the answer): nobody can know whether it reached the
recipient, so it is either sent again at once, marked as a possible duplicate
(``RESEND``), or held until a person decides (``HOLD``). See README, "Delivery
guarantee".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

RESEND = "resend"
HOLD = "hold"

# Email is sent again: every attempt carries the row's own Message-ID, so mail
# systems that keep one copy per Message-ID drop the second, and a reader who sees
# both sees the same message twice. WhatsApp is held: the Cloud API has no
# idempotency key, so a second request is a second message on the recipient's
# phone (a vendor asked twice may book twice); a status receipt for the interrupted
# send settles the row by itself (notifications/receipts.py). A channel not named
# is held: a copy nobody can take back is never sent without a person's decision.
DEFAULT_AFTER_INTERRUPTION: Mapping[str, str] = MappingProxyType({"email": RESEND})


@dataclass(frozen=True)
class Kind:
    subject: str
    whatsapp_params: tuple[str, ...] = field(default=("reference",))
    whatsapp_template: str = ""
    after_interruption: Mapping[str, str] = field(
        default_factory=lambda: DEFAULT_AFTER_INTERRUPTION
    )

    def policy_after_interruption(self, channel: str) -> str:
        """``RESEND`` or ``HOLD`` for an interrupted message of this kind on ``channel``."""
        return self.after_interruption.get(channel, HOLD)


KINDS: dict[str, Kind] = {
    "partner_invited": Kind(
        subject="You are invited to the {partner_name} portal",
        whatsapp_params=("partner_name", "link"),
    ),
    "password_reset": Kind(
        subject="Choose a new password for the booking office portal", whatsapp_params=()
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
    "item_reminder": Kind(
        subject="Reminder: {service} for booking {reference}: please answer",
        whatsapp_params=("reference", "service", "when", "deadline"),
    ),
    # The vendor's own notice that its answer (or confirmation) is late.
    "item_overdue_vendor": Kind(
        subject="Overdue: please {ask} now: {service} on {start} for booking {reference}",
        whatsapp_params=("reference", "service", "start", "deadline"),
    ),
    "item_overdue": Kind(
        subject="Overdue: {vendor_name} has not answered {service} for {reference}"
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
    "webhook_disabled": Kind(subject="Webhook disabled: {url}", whatsapp_params=("url",)),
    "invoice_issued": Kind(subject="Invoice {number} for booking {reference}"),
    "credit_note_issued": Kind(subject="Credit note {number} for booking {reference}"),
    "payment_reminder": Kind(subject="Payment of {amount} due on {due_date}: booking {reference}"),
    "payment_overdue": Kind(subject="Overdue: {amount} for booking {reference}"),
    "payment_link": Kind(subject="Pay {amount} for booking {reference}"),
}


def policy_after_interruption(kind: str, channel: str) -> str:
    """The policy of a stored row; a kind no longer declared is held."""
    spec = KINDS.get(kind)
    return spec.policy_after_interruption(channel) if spec is not None else HOLD

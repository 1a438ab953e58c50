"""Billing's events (``events.registry``): an invoice or credit note issued, a payment or
a refund recorded. Billing audits them on their booking, so they are subjects of the
booking model of their own, each described by the API's own serializer: the event's
``data`` is what ``GET /api/v1/invoices/{number}/`` or ``/api/v1/payments/{id}/`` shows.

Who sees them: staff, and the booking's broker (the same fields: a broker's own
invoices and payments hold nothing of ours). Vendors never see money of a booking.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from billing.models import Invoice, Payment
from bookings.models import Booking
from events import registry

INVOICE_ACTIONS = {
    "invoice_issued": "invoice.issued",
    "credit_note_issued": "credit_note.issued",
}
PAYMENT_ACTIONS = {
    "payment_recorded": "payment.recorded",
    "refund_recorded": "refund.recorded",
}


def describe_invoice(booking: Booking, data: Mapping[str, Any]) -> registry.Described:
    from billing.api import InvoiceSerializer

    invoice = (
        Invoice.objects.select_related("booking", "refers_to")
        .prefetch_related("lines")
        .get(number=data["number"])
    )
    return registry.Described(
        object={"type": invoice.kind, "id": invoice.number, "booking": booking.reference},
        reference=booking.reference,
        payload=dict(InvoiceSerializer(invoice).data),
        broker_id=booking.broker_id,
    )


def describe_payment(booking: Booking, data: Mapping[str, Any]) -> registry.Described:
    from billing.api import PaymentSerializer

    payment = Payment.objects.select_related("booking").get(pk=data["payment"])
    return registry.Described(
        object={"type": "payment", "id": payment.pk, "booking": booking.reference},
        reference=booking.reference,
        payload=dict(PaymentSerializer(payment).data),
        broker_id=booking.broker_id,
    )


def project_to_broker(
    payload: Mapping[str, Any], audience: str, party_id: int | None
) -> dict[str, Any] | None:
    # The event is a broker's only when its booking is (``broker_id`` scopes the feed
    # and the webhooks); what it sees is the API's view, which is the staff one.
    return dict(payload) if audience == registry.BROKER else None


def register() -> None:
    registry.register(
        Booking,
        name="invoice",
        describe=describe_invoice,
        project=project_to_broker,
        actions=INVOICE_ACTIONS,
    )
    registry.register(
        Booking,
        name="payment",
        describe=describe_payment,
        project=project_to_broker,
        actions=PAYMENT_ACTIONS,
    )

"""Money is told, not polled: an invoice, a credit note, a payment and a refund are
events in the feed and to webhooks, shown as the API shows them, to staff and the
booking's broker only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from billing import services
from bookings import services as booking_services
from events import registry
from events.feed import event_document, events_visible
from events.models import Event, WebhookDelivery
from events.services import webhook_register
from tests.billing.conftest import make_booking

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _loopback_webhooks(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True


def test_every_billing_action_that_changes_money_has_an_event_type() -> None:
    types = registry.event_types()
    for name in ("invoice.issued", "credit_note.issued", "payment.recorded", "refund.recorded"):
        assert name in types


def test_an_issued_invoice_is_an_event_the_broker_sees_as_the_api_shows_it(
    staff: Any, broker: Any, other_broker: Any, broker_client: Any, vendor: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    booking = make_booking(staff, broker=broker)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = services.invoice_issue(booking=booking, actor=staff)
    event = Event.objects.get(type="invoice.issued")
    assert event.reference == booking.reference
    assert event.payload["object"] == {
        "type": "invoice", "id": invoice.number, "booking": booking.reference,
    }  # fmt: skip
    seen = event_document(event, audience="broker", party_id=broker.pk)
    assert seen is not None
    api = broker_client.get(f"/api/v1/invoices/{invoice.number}/").json()
    assert seen["data"] == api
    assert events_visible(audience="broker", party_id=broker.pk).filter(pk=event.pk).exists()
    # Another broker and any vendor see nothing of it.
    assert not events_visible(audience="broker", party_id=other_broker.pk).exists()
    assert not events_visible(audience="vendor", party_id=vendor.pk).filter(pk=event.pk).exists()
    assert event_document(event, audience="vendor", party_id=vendor.pk) is None


def test_a_cancellation_after_invoicing_is_a_credit_note_event(
    staff: Any, broker: Any, django_capture_on_commit_callbacks: Any
) -> None:
    booking = make_booking(staff, broker=broker)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = services.invoice_issue(booking=booking, actor=staff)
        booking_services.booking_cancel(booking=booking, actor=staff, reason="Client cancelled")
    event = Event.objects.get(type="credit_note.issued")
    seen = event_document(event, audience="broker", party_id=broker.pk)
    assert seen is not None
    assert seen["object"]["type"] == "credit_note"
    assert seen["data"]["refers_to"] == invoice.number
    assert Decimal(seen["data"]["total"]) == -invoice.total


def test_payments_and_refunds_are_events_with_webhooks_to_the_broker_only(
    staff: Any, broker: Any, other_broker: Any, vendor: Any
) -> None:
    from core.domain import Actor

    booking = make_booking(staff, broker=broker)
    mine, _ = webhook_register(
        actor=Actor(broker=broker, via="api"),
        url="http://127.0.0.1:9/hook",
        event_types=["payment.recorded", "refund.recorded"],
    )
    theirs, _ = webhook_register(
        actor=Actor(broker=other_broker, via="api"),
        url="http://127.0.0.1:9/hook",
        event_types=["payment.recorded", "refund.recorded"],
    )
    vendors, _ = webhook_register(
        actor=Actor(vendor=vendor, via="api"),
        url="http://127.0.0.1:9/hook",
        event_types=["booking.approved"],
    )
    payment = services.payment_record(
        booking=booking, actor=staff, amount=Decimal("100.00"), currency="EUR",
        method="bank_transfer", reference="TRX-9",
    )  # fmt: skip
    services.payment_record(
        booking=booking, actor=staff, amount=Decimal("-20.00"), currency="EUR",
        method="bank_transfer", reason="Goodwill",
    )  # fmt: skip
    paid = Event.objects.get(type="payment.recorded")
    seen = event_document(paid, audience="broker", party_id=broker.pk)
    assert seen is not None
    assert seen["object"] == {"type": "payment", "id": payment.pk, "booking": booking.reference}
    assert (seen["data"]["amount"], seen["data"]["reference"]) == ("100.00", "TRX-9")
    refund = Event.objects.get(type="refund.recorded")
    assert event_document(refund, audience="broker", party_id=broker.pk)["data"]["amount"] == (
        "-20.00"
    )
    assert WebhookDelivery.objects.filter(endpoint=mine).count() == 2
    assert not WebhookDelivery.objects.filter(endpoint__in=[theirs, vendors]).exists()


def test_a_payment_of_a_booking_without_a_broker_is_staff_only(staff: Any, broker: Any) -> None:
    booking = make_booking(staff)
    services.payment_record(
        booking=booking, actor=staff, amount=Decimal("10.00"), currency="EUR",
        method="bank_transfer",
    )  # fmt: skip
    event = Event.objects.get(type="payment.recorded")
    assert event.broker_id is None
    assert event_document(event, audience="staff", party_id=None) is not None
    assert not events_visible(audience="broker", party_id=broker.pk).exists()


def test_registering_an_action_twice_on_one_model_is_refused() -> None:
    from bookings.models import Booking

    with pytest.raises(ValueError, match="invoice_issued"):
        registry.register(
            Booking,
            name="something_else",
            describe=lambda target, data: None,  # type: ignore[arg-type,return-value]
            project=lambda payload, audience, party: None,
            actions={"invoice_issued": "x.issued"},
        )

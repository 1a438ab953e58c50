"""Payments and refunds: through the API (with Idempotency-Key) and the admin, one set of rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from billing import services
from billing.models import Payment
from core.domain import NotPermitted, ValidationFailed
from tests.billing.conftest import make_booking


def url(booking: Any) -> str:
    return f"/api/v1/bookings/{booking.reference}/payments/"


def test_staff_record_a_payment_and_the_booking_shows_it(
    accounts_client: Any, staff: Any, broker: Any
) -> None:
    booking = make_booking(staff, broker=broker, days_ahead=90)
    response = accounts_client.post(
        url(booking),
        {"amount": "114.00", "currency": "EUR", "method": "bank_transfer", "reference": "TRX-1",
         "received_at": "2026-01-05T10:00:00Z"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "114.00"
    detail = accounts_client.get(f"/api/v1/bookings/{booking.reference}/").json()
    assert detail["money"]["paid"] == "114.00"
    assert detail["money"]["due"] == "266.00"
    assert detail["money"]["overdue"] == "0.00"
    assert [row["state"] for row in detail["money"]["schedule"]] == ["paid", "due"]


def test_idempotency_key_records_one_payment(accounts_client: Any, staff: Any) -> None:
    booking = make_booking(staff)
    body = {"amount": "50.00", "currency": "EUR", "method": "card"}
    first = accounts_client.post(url(booking), body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    again = accounts_client.post(url(booking), body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Payment.objects.filter(booking=booking).count() == 1
    other = accounts_client.post(
        url(booking), {**body, "amount": "60.00"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1"
    )
    assert other.status_code == 422
    assert Payment.objects.filter(booking=booking).count() == 1


def test_a_refund_is_negative_with_a_reason(accounts_client: Any, staff: Any) -> None:
    booking = make_booking(staff)
    accounts_client.post(
        url(booking), {"amount": "100.00", "currency": "EUR", "method": "card"}, format="json"
    )
    no_reason = accounts_client.post(
        url(booking), {"amount": "-40.00", "currency": "EUR", "method": "card"}, format="json"
    )
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()["fields"]
    refund = accounts_client.post(
        url(booking),
        {"amount": "-40.00", "currency": "EUR", "method": "card", "reason": "Room downgraded"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="refund-1",
    )
    assert refund.status_code == 201
    replay = accounts_client.post(
        url(booking),
        {"amount": "-40.00", "currency": "EUR", "method": "card", "reason": "Room downgraded"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="refund-1",
    )
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert services.paid_total(booking) == Decimal("60.00")
    too_much = accounts_client.post(
        url(booking),
        {"amount": "-60.01", "currency": "EUR", "method": "card", "reason": "x"},
        format="json",
    )
    assert too_much.status_code == 400
    assert too_much.json()["fields"] == {"amount": ["A refund cannot be more than what was paid."]}


def test_another_currency_is_refused_with_a_field_error(accounts_client: Any, staff: Any) -> None:
    booking = make_booking(staff)
    response = accounts_client.post(
        url(booking), {"amount": "10.00", "currency": "USD", "method": "card"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "currency": ["This booking is in EUR; record the payment in EUR."]
    }
    assert not Payment.objects.exists()


@pytest.mark.parametrize("amount", ["0", "0.00", "abc", "1.234"])
def test_bad_amounts_are_a_400(accounts_client: Any, staff: Any, amount: str) -> None:
    booking = make_booking(staff)
    response = accounts_client.post(
        url(booking), {"amount": amount, "currency": "EUR", "method": "card"}, format="json"
    )
    assert response.status_code == 400
    assert "amount" in response.json()["fields"]


def test_brokers_cannot_record_payments(broker_client: Any, staff: Any, broker: Any) -> None:
    booking = make_booking(staff, broker=broker)
    response = broker_client.post(
        url(booking), {"amount": "10.00", "currency": "EUR", "method": "card"}, format="json"
    )
    assert response.status_code == 403
    assert not Payment.objects.exists()


def test_another_brokers_booking_is_a_404(
    other_broker_client: Any, staff: Any, broker: Any
) -> None:
    booking = make_booking(staff, broker=broker)
    services.payment_record(
        booking=booking, actor=staff, amount="10.00", currency="EUR", method="cash"
    )
    assert other_broker_client.get(url(booking)).status_code == 404
    assert (
        other_broker_client.post(
            url(booking), {"amount": "1.00", "currency": "EUR", "method": "card"}, format="json"
        ).status_code
        == 404
    )
    payment = Payment.objects.get()
    assert other_broker_client.get(f"/api/v1/payments/{payment.pk}/").status_code == 404
    assert other_broker_client.get("/api/v1/payments/").json()["count"] == 0


def test_a_broker_lists_its_own_payments(
    broker_client: Any, vendor_client: Any, staff: Any, broker: Any, other_broker: Any
) -> None:
    mine = make_booking(staff, broker=broker)
    theirs = make_booking(staff, broker=other_broker)
    services.payment_record(
        booking=mine, actor=staff, amount="10.00", currency="EUR", method="cash"
    )
    services.payment_record(
        booking=theirs, actor=staff, amount="20.00", currency="EUR", method="cash"
    )
    listed = broker_client.get("/api/v1/payments/").json()
    assert [(p["booking"], p["amount"]) for p in listed["results"]] == [(mine.reference, "10.00")]
    assert broker_client.get(url(mine)).json()["count"] == 1
    assert (
        broker_client.get(f"/api/v1/bookings/{mine.reference}/").json()["money"]["paid"] == "10.00"
    )
    assert vendor_client.get("/api/v1/payments/").json()["count"] == 0


def test_staff_without_the_permission_get_a_403(staff_client: Any, staff: Any) -> None:
    booking = make_booking(staff)
    client = staff_client(["bookings.view_booking", "billing.view_payment"])
    assert client.get(url(booking)).status_code == 200
    response = client.post(
        url(booking), {"amount": "10.00", "currency": "EUR", "method": "card"}, format="json"
    )
    assert response.status_code == 403


def test_service_rules_without_a_door(staff: Any, broker: Any) -> None:
    booking = make_booking(staff, broker=broker)
    from core.domain import Actor

    with pytest.raises(NotPermitted):
        services.payment_record(
            booking=booking,
            actor=Actor(broker=broker, via="api"),
            amount="1",
            currency="EUR",
            method="card",
        )
    with pytest.raises(ValidationFailed):
        services.payment_record(
            booking=booking, actor=staff, amount="1", currency="EUR", method="cheque"
        )


def test_admin_records_a_payment_and_a_refund(client: Any, accountant: Any, staff: Any) -> None:
    booking = make_booking(staff, days_ahead=90)
    client.force_login(accountant)
    add = reverse("admin:billing_payment_add")
    page = client.get(add + f"?booking={booking.pk}&currency=EUR")
    assert page.status_code == 200
    form = {
        "booking": booking.pk,
        "amount": "114.00",
        "currency": "EUR",
        "method": "bank_transfer",
        "reference": "TRX-9",
        "received_at_0": "2026-01-05",
        "received_at_1": "10:00:00",
        "reason": "",
    }
    response = client.post(add, form)
    assert response.status_code == 302, response.content
    refused = client.post(add, {**form, "amount": "-10.00"})
    assert refused.status_code == 200
    assert "Give a reason for the refund." in refused.content.decode()
    wrong = client.post(add, {**form, "currency": "GBP"})
    assert "This booking is in EUR; record the payment in EUR." in wrong.content.decode()
    assert Payment.objects.count() == 1
    change = client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))
    html = change.content.decode()
    assert "Record a payment or refund" in html
    assert "EUR 114.00" in html

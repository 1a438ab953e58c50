"""The card provider: links from the stand-in API, and its signed webhook settling instalments."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import orjson
import pytest

from billing import services
from billing.models import Payment, PaymentLink, ProviderEvent
from billing.providers.card import sign
from tests.billing.conftest import make_booking
from tests.billing.standins import running

SECRET = "sk_test_standin"
WEBHOOK_SECRET = "whsec_standin"
WEBHOOK = "/billing/webhooks/card/"


@pytest.fixture
def card_api(settings: Any) -> Any:
    for api in running(SECRET):
        settings.BILLING_CARD_API_URL = api.url
        settings.BILLING_CARD_SECRET_KEY = SECRET
        settings.BILLING_CARD_WEBHOOK_SECRET = WEBHOOK_SECRET
        yield api


def link_for(client: Any, booking: Any, instalment: Any, provider: str = "card") -> Any:
    return client.post(
        f"/api/v1/bookings/{booking.reference}/payment-links/",
        {"instalment": instalment.pk, "provider": provider},
        format="json",
    )


def event(event_id: str, kind: str, session: dict[str, Any], created: int | None = None) -> bytes:
    return orjson.dumps(
        {
            "id": event_id,
            "type": kind,
            "created": created or int(time.time()),
            "data": {"object": session},
        }
    )


def completed(
    link: PaymentLink, *, payment: str = "pi_1", amount: int | None = None, currency: str = "eur"
) -> dict[str, Any]:
    return {
        "id": link.provider_session_id,
        "payment_status": "paid",
        "payment_intent": payment,
        "amount_total": amount if amount is not None else int(link.amount * 100),
        "currency": currency,
        "metadata": {"instalment": str(link.instalment_id), "booking": link.booking.reference},
    }


def post(client: Any, body: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> Any:
    header = sign(body, secret, at or int(time.time()))
    return client.post(WEBHOOK, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


def test_a_link_is_a_checkout_session_for_what_is_left(
    accounts_client: Any, staff: Any, card_api: Any
) -> None:
    booking = make_booking(staff, days_ahead=90)
    deposit = booking.instalments.order_by("due_date").first()
    services.payment_record(
        booking=booking, actor=staff, amount="14.00", currency="EUR", method="cash"
    )
    response = link_for(accounts_client, booking, deposit)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["url"].startswith(card_api.url + "/pay/cs_test_")
    assert body["amount"] == "100.00"
    [session] = card_api.sessions
    assert session["line_items[0][price_data][unit_amount]"] == "10000"
    assert session["line_items[0][price_data][currency]"] == "eur"
    assert session["metadata[instalment]"] == str(deposit.pk)


def test_the_bank_transfer_provider_gives_instructions(
    accounts_client: Any, staff: Any, settings: Any
) -> None:
    settings.BILLING_BANK_ACCOUNT = "IBAN PT50 0000 0000 0000 0000 0000 0"
    booking = make_booking(staff, days_ahead=90)
    deposit = booking.instalments.order_by("due_date").first()
    body = link_for(accounts_client, booking, deposit, provider="manual").json()
    assert body["url"] == ""
    assert (
        body["instructions"]
        == f"Transfer 114.00 EUR to {settings.BILLING_BANK_ACCOUNT}, quoting {booking.reference}."
    )


def test_a_provider_failure_is_a_409_and_saves_nothing(
    accounts_client: Any, staff: Any, card_api: Any
) -> None:
    card_api.fail_with = 503
    booking = make_booking(staff, days_ahead=90)
    response = link_for(accounts_client, booking, booking.instalments.first())
    assert response.status_code == 409
    assert response.json()["code"] == "payment_provider_error"
    assert not PaymentLink.objects.exists()


def test_links_are_scoped_to_the_booking_and_its_broker(
    broker_client: Any, other_broker_client: Any, staff: Any, broker: Any, card_api: Any
) -> None:
    booking = make_booking(staff, broker=broker, days_ahead=90)
    other = make_booking(staff, days_ahead=90)
    instalment = booking.instalments.first()
    assert link_for(other_broker_client, booking, instalment).status_code == 404
    wrong_booking = link_for(broker_client, booking, other.instalments.first())
    assert wrong_booking.status_code == 400
    assert link_for(broker_client, booking, instalment).status_code == 201


def test_a_signed_completed_event_pays_the_instalment_once(
    client: Any, accounts_client: Any, staff: Any, card_api: Any
) -> None:
    booking = make_booking(staff, days_ahead=90)
    deposit = booking.instalments.order_by("due_date").first()
    link_for(accounts_client, booking, deposit)
    link = PaymentLink.objects.get()
    body = event("evt_1", "checkout.session.completed", completed(link))
    response = post(client, body)
    assert response.status_code == 200
    assert response.json() == {"outcome": "paid"}
    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.provider_payment_id) == (
        Decimal("114.00"),
        "card",
        "pi_1",
    )
    deposit.refresh_from_db()
    assert deposit.state == "paid"
    link.refresh_from_db()
    assert link.status == "paid"
    # The same event again (a replay), and another event for the same payment.
    assert post(client, body).json() == {"outcome": "replayed"}
    again = event("evt_2", "checkout.session.completed", completed(link))
    assert post(client, again).json() == {"outcome": "already recorded"}
    assert Payment.objects.count() == 1


def test_an_expired_event_after_the_payment_changes_nothing(
    client: Any, accounts_client: Any, staff: Any, card_api: Any
) -> None:
    booking = make_booking(staff, days_ahead=90)
    link_for(accounts_client, booking, booking.instalments.order_by("due_date").first())
    link = PaymentLink.objects.get()
    paid_at = int(time.time())
    post(client, event("evt_paid", "checkout.session.completed", completed(link), created=paid_at))
    late = event(
        "evt_expired",
        "checkout.session.expired",
        {"id": link.provider_session_id},
        created=paid_at - 60,
    )
    assert post(client, late).json() == {"outcome": "expired"}
    link.refresh_from_db()
    assert link.status == "paid"
    assert Payment.objects.count() == 1


def test_expired_before_paid_still_records_the_payment(
    client: Any, accounts_client: Any, staff: Any, card_api: Any
) -> None:
    booking = make_booking(staff, days_ahead=90)
    link_for(accounts_client, booking, booking.instalments.order_by("due_date").first())
    link = PaymentLink.objects.get()
    post(client, event("evt_a", "checkout.session.expired", {"id": link.provider_session_id}))
    link.refresh_from_db()
    assert link.status == "expired"
    assert post(client, event("evt_b", "checkout.session.completed", completed(link))).json() == {
        "outcome": "paid"
    }
    assert services.paid_total(booking) == Decimal("114.00")


@pytest.mark.parametrize(
    "how",
    ["wrong secret", "no header", "tampered body", "too old", "from the future", "garbage header"],
)
def test_bad_signatures_are_refused_and_record_nothing(
    how: str, client: Any, accounts_client: Any, staff: Any, card_api: Any
) -> None:
    booking = make_booking(staff, days_ahead=90)
    link_for(accounts_client, booking, booking.instalments.first())
    link = PaymentLink.objects.get()
    body = event("evt_bad", "checkout.session.completed", completed(link))
    now = int(time.time())
    if how == "wrong secret":
        response = post(client, body, secret="whsec_other")
    elif how == "no header":
        response = client.post(WEBHOOK, body, content_type="application/json")
    elif how == "tampered body":
        header = sign(body, WEBHOOK_SECRET, now)
        forged = body.replace(b'"amount_total":11400', b'"amount_total":1')
        assert forged != body
        response = client.post(
            WEBHOOK, forged, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
    elif how == "too old":
        response = post(client, body, at=now - 301)
    elif how == "from the future":
        response = post(client, body, at=now + 301)
    else:
        response = client.post(
            WEBHOOK, body, content_type="application/json", HTTP_STRIPE_SIGNATURE="t=abc,v1"
        )
    assert response.status_code == 400
    assert not Payment.objects.exists()
    assert not ProviderEvent.objects.exists()


def test_a_payment_in_another_currency_is_kept_as_an_event_not_a_payment(
    client: Any, accounts_client: Any, staff: Any, card_api: Any
) -> None:
    booking = make_booking(staff, days_ahead=90)
    link_for(accounts_client, booking, booking.instalments.first())
    link = PaymentLink.objects.get()
    response = post(
        client, event("evt_usd", "checkout.session.completed", completed(link, currency="usd"))
    )
    assert response.status_code == 200
    assert response.json()["outcome"].startswith("refused: This booking is in EUR")
    assert not Payment.objects.exists()
    assert ProviderEvent.objects.get().outcome.startswith("refused")


def test_unknown_providers_and_get_requests(client: Any) -> None:
    assert (
        client.post("/billing/webhooks/nope/", b"{}", content_type="application/json").status_code
        == 404
    )
    assert client.get(WEBHOOK).status_code == 405
    assert (
        client.post("/billing/webhooks/manual/", b"{}", content_type="application/json").status_code
        == 400
    )

"""Paying from the portal and sending a link from the admin: the broker's "Pay now"
goes to the provider's page (or shows the transfer's instructions), reusing an open link;
staff make a link in the admin and e-mail it once. Another broker's instalment is a 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from billing.models import PaymentLink
from core.models import AuditEntry
from notifications.models import Notification
from tests import factories
from tests.billing.conftest import make_booking
from tests.billing.standins import running

pytestmark = pytest.mark.django_db

SECRET = "sk_test_standin"


@pytest.fixture
def card_api(settings: Any) -> Any:
    for api in running(SECRET):
        settings.BILLING_CARD_API_URL = api.url
        settings.BILLING_CARD_SECRET_KEY = SECRET
        settings.BILLING_CARD_WEBHOOK_SECRET = "whsec_standin"
        yield api


def _broker_client(client: Any, broker: Any) -> Any:
    client.force_login(factories.PortalAccountFactory(broker=broker).user)
    return client


def _pay_url(booking: Any, instalment: Any) -> str:
    return reverse("portal:booking-pay", args=[booking.reference, instalment.pk])


def test_the_booking_page_offers_pay_now_for_what_is_owed(
    client: Any, staff: Any, broker: Any
) -> None:
    booking = make_booking(staff, broker=broker)
    deposit, balance = booking.instalments.order_by("due_date")
    page = _broker_client(client, broker).get(
        reverse("portal:booking-detail", args=[booking.reference])
    )
    html = page.content.decode()
    assert f">Pay EUR {deposit.amount} now</button>" in html
    assert f">Pay EUR {balance.amount} now</button>" in html
    assert _pay_url(booking, deposit) in html and _pay_url(booking, balance) in html


def test_pay_now_goes_to_the_card_providers_page_and_reuses_the_open_link(
    client: Any, staff: Any, broker: Any, settings: Any, card_api: Any
) -> None:
    settings.BILLING_DEFAULT_PROVIDER = "card"
    booking = make_booking(staff, broker=broker)
    deposit = booking.instalments.order_by("due_date").first()
    broker_client = _broker_client(client, broker)
    first = broker_client.post(_pay_url(booking, deposit))
    assert first.status_code == 302
    link = PaymentLink.objects.get()
    assert first["Location"] == link.url and link.url.startswith("http")
    assert link.provider == "card" and link.amount == deposit.amount
    # Pressed again: the same page, no second session with the provider.
    again = broker_client.post(_pay_url(booking, deposit))
    assert again["Location"] == link.url
    assert PaymentLink.objects.count() == 1 and len(card_api.sessions) == 1


def test_pay_now_by_bank_transfer_shows_the_instructions(
    client: Any, staff: Any, broker: Any, settings: Any
) -> None:
    settings.BILLING_BANK_ACCOUNT = "IBAN PT50 0000 0000 0000 0000 0000 0"
    booking = make_booking(staff, broker=broker)
    deposit = booking.instalments.order_by("due_date").first()
    page = _broker_client(client, broker).post(_pay_url(booking, deposit))
    assert page.status_code == 200
    html = page.content.decode()
    assert "IBAN PT50" in html and booking.reference in html


def test_pay_now_is_post_only_and_another_brokers_instalment_is_a_404(
    client: Any, staff: Any, broker: Any, other_broker: Any
) -> None:
    theirs = make_booking(staff, broker=other_broker)
    mine = make_booking(staff, broker=broker)
    their_deposit = theirs.instalments.first()
    broker_client = _broker_client(client, broker)
    assert broker_client.post(_pay_url(theirs, their_deposit)).status_code == 404
    # Their instalment under my booking's reference is no way in either.
    wrong = reverse("portal:booking-pay", args=[mine.reference, their_deposit.pk])
    assert broker_client.post(wrong).status_code == 404
    assert broker_client.get(_pay_url(mine, mine.instalments.first())).status_code == 405
    assert not PaymentLink.objects.exists()


def test_a_provider_that_is_down_is_a_message_not_an_error(
    client: Any, staff: Any, broker: Any, settings: Any, card_api: Any
) -> None:
    settings.BILLING_DEFAULT_PROVIDER = "card"
    card_api.fail_with = 503
    booking = make_booking(staff, broker=broker)
    response = _broker_client(client, broker).post(
        _pay_url(booking, booking.instalments.first()), follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse(
        "portal:booking-detail", args=[booking.reference]
    )
    messages = [str(m) for m in response.context["messages"]]
    assert messages and not PaymentLink.objects.exists()


# --- the admin ---------------------------------------------------------------------------


def _admin(client: Any, *, may_link: bool) -> Any:
    user = factories.StaffFactory(username="links" if may_link else "nolinks")
    perms = ["view_booking", "change_booking", "view_instalment"]
    if may_link:
        perms.append("add_paymentlink")
    user.user_permissions.add(*Permission.objects.filter(codename__in=perms))
    client.force_login(user)
    return client


def test_staff_make_a_link_in_the_admin_and_email_it_once(
    client: Any, staff: Any, broker: Any, django_capture_on_commit_callbacks: Any
) -> None:
    booking = make_booking(staff, broker=broker)
    deposit = booking.instalments.order_by("due_date").first()
    admin_client = _admin(client, may_link=True)
    change = admin_client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))
    make = reverse("admin:billing_instalment_payment_link", args=[deposit.pk])
    assert make in change.content.decode()
    form = admin_client.get(make)
    assert form.status_code == 200 and "E-mail it to whoever pays" in form.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        done = admin_client.post(make, {"provider": "manual", "send": "on"}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("admin:bookings_booking_change", args=[booking.pk])
    assert "Payment link ready and e-mailed" in done.content.decode()
    link = PaymentLink.objects.get()
    sent = Notification.objects.filter(kind="payment_link")
    assert [n.recipient for n in sent] == [broker.email]
    assert booking.reference in sent[0].body_text and str(deposit.amount) in sent[0].body_text
    assert AuditEntry.objects.filter(action="payment_link_sent").count() == 1
    # Asked again: the same open link, and no second e-mail.
    admin_client.post(make, {"provider": "manual", "send": "on"}, follow=True)
    assert PaymentLink.objects.get() == link
    assert Notification.objects.filter(kind="payment_link").count() == 1
    # The booking page shows the open link.
    change = admin_client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))
    assert 'class="payment-link"' in change.content.decode()


def test_staff_without_the_permission_are_told_and_nothing_is_made(
    client: Any, staff: Any, broker: Any
) -> None:
    booking = make_booking(staff, broker=broker)
    deposit = booking.instalments.first()
    admin_client = _admin(client, may_link=False)
    make = reverse("admin:billing_instalment_payment_link", args=[deposit.pk])
    response = admin_client.post(make, {"provider": "manual"}, follow=True)
    assert "You may not make payment links." in response.content.decode()
    assert not PaymentLink.objects.exists()


def test_a_paid_instalment_is_refused_in_the_services_words(
    client: Any, staff: Any, broker: Any
) -> None:
    from billing import services

    booking = make_booking(staff, broker=broker)
    deposit = booking.instalments.order_by("due_date").first()
    services.payment_record(
        booking=booking, actor=staff, amount=deposit.amount, currency="EUR",
        method="bank_transfer",
    )  # fmt: skip
    admin_client = _admin(client, may_link=True)
    make = reverse("admin:billing_instalment_payment_link", args=[deposit.pk])
    response = admin_client.post(make, {"provider": "manual"})
    assert response.status_code == 200
    assert "This instalment is already paid." in response.content.decode()
    assert not PaymentLink.objects.exists()

"""A broker's invoices and commission statement on a phone, in a real browser.

The broker logs in, reads a booking's payments, the invoices list (and opens a PDF),
and this month's commission statement with its CSV and PDF; another broker's invoice
is a 404. Each step is screenshotted under ``test-artifacts/browser/``.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pypdf
import pytest
from django.utils import timezone

from billing import services
from bookings import services as booking_services
from core.domain import Actor
from tests import factories
from tests.browser.conftest import Phone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "harbour-lights-2027"


def _booking(actor: Actor, broker: Any, customer: str) -> Any:
    start = timezone.now() + timedelta(days=60)
    booking = booking_services.booking_create(
        actor=actor,
        broker=broker,
        customer_name=customer,
        items=[
            {"service_type": "accommodation", "description": "Suite, river view", "start": start,
             "end": start + timedelta(days=2), "quantity": 2, "unit_price": Decimal("150.00"),
             "unit_cost": Decimal("90.00")},
            {"service_type": "transfer", "description": "Airport pickup", "start": start,
             "end": start + timedelta(hours=1), "quantity": 1, "unit_price": Decimal("80.00"),
             "unit_cost": Decimal("40.00")},
        ],
    )  # fmt: skip
    booking_services.booking_submit(booking=booking, actor=actor)
    return booking_services.booking_approve(booking=booking, actor=actor)


def test_broker_reads_payments_invoices_and_commission_statement(phone: Phone) -> None:
    from playwright.sync_api import expect

    desk = Actor(user=factories.SuperuserFactory(username="desk"), via="admin")
    broker = factories.BrokerFactory(name="Nordic Travel AS", commission_rate=Decimal("10"))
    other = factories.BrokerFactory(name="Sunway Holidays Ltd")
    factories.PortalAccountFactory(
        broker=broker, user__username="ingrid@nordic.example", user__password=PASSWORD
    )
    booking = _booking(desk, broker, "Ingrid Nilsen")
    invoice = services.invoice_issue(booking=booking, actor=desk)
    services.payment_record(
        booking=booking, actor=desk, amount="114.00", currency="EUR", method="bank_transfer"
    )
    transfer = booking.items.get(service_type="transfer")
    booking_services.item_cancel(item=transfer, actor=desk, reason="Flight changed")
    theirs = services.invoice_issue(booking=_booking(desk, other, "Someone Else"), actor=desk)
    page = phone.page

    phone.goto("/portal/")
    page.get_by_label("Email or username").fill("ingrid@nordic.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(phone.base_url + "/portal/")

    phone.goto(f"/portal/bookings/{booking.reference}/")
    money = page.locator("#money")
    expect(money).to_contain_text("Paid")
    expect(money).to_contain_text("EUR 114.00")
    expect(money.locator(".badge", has_text="Paid")).to_have_count(1)
    phone.shot("booking-payments")

    page.locator("nav.tabs").get_by_role("link", name="Invoices").click()
    expect(page).to_have_url(phone.base_url + "/portal/invoices/")
    rows = page.locator("main .line")
    expect(rows).to_have_count(2)
    expect(page.locator("main")).to_contain_text(invoice.number)
    expect(page.locator("main")).to_contain_text("Credit note")
    expect(page.locator("main")).to_contain_text("EUR -80.00")
    expect(page.locator("main")).not_to_contain_text(theirs.number)
    phone.shot("invoices")
    href = page.get_by_role("link", name=f"PDF of {invoice.number}", exact=True).get_attribute(
        "href"
    )
    pdf = page.request.get(phone.base_url + href)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(pdf.body())).pages[0].extract_text()
    assert invoice.number in text and "380.00" in text
    assert page.request.get(f"{phone.base_url}/portal/invoices/{theirs.number}/pdf/").status == 404

    page.locator("nav.tabs").get_by_role("link", name="Commission").click()
    month = timezone.localdate().strftime("%B %Y")
    expect(page.locator("h1")).to_have_text(month)
    main = page.locator("main")
    expect(main).to_contain_text("Opening balance")
    expect(main).to_contain_text("Closing balance")
    expect(main.locator(".line--total").last).to_contain_text("30.00")  # 30 + 8 - 8
    expect(main).to_contain_text("-8.00")
    phone.shot("statement")
    csv_href = page.get_by_role("link", name="Download CSV").get_attribute("href")
    csv = page.request.get(phone.base_url + csv_href).text()
    assert csv.strip().splitlines()[-1].endswith("Closing balance,,,,30.00")
    pdf_href = page.get_by_role("link", name="Download PDF").get_attribute("href")
    statement_pdf = page.request.get(phone.base_url + pdf_href)
    assert (
        "Commission statement"
        in pypdf.PdfReader(io.BytesIO(statement_pdf.body())).pages[0].extract_text()
    )
    page.get_by_role("link", name="←").click()
    expect(main).to_contain_text("No commission yet")
    phone.shot("statement-last-month")


def test_broker_pays_the_balance_by_bank_transfer_from_the_booking_page(
    phone: Phone, settings: Any
) -> None:
    from playwright.sync_api import expect

    settings.BILLING_BANK_ACCOUNT = "IBAN PT50 0002 0123 1234 5678 9015 4"
    desk = Actor(user=factories.SuperuserFactory(username="desk"), via="admin")
    broker = factories.BrokerFactory(name="Nordic Travel AS")
    factories.PortalAccountFactory(
        broker=broker, user__username="ingrid@nordic.example", user__password=PASSWORD
    )
    booking = _booking(desk, broker, "Ingrid Nilsen")
    page = phone.page
    phone.goto("/portal/")
    page.get_by_label("Email or username").fill("ingrid@nordic.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(phone.base_url + "/portal/")

    phone.goto(f"/portal/bookings/{booking.reference}/")
    buttons = page.locator("#money").get_by_role("button", name=re.compile(r"^Pay EUR .* now$"))
    expect(buttons).to_have_count(2)
    # Every "Pay now" is a full-size touch target on a phone.
    box = buttons.first.bounding_box()
    assert box is not None and box["height"] >= 44
    phone.shot("pay-now-buttons")
    buttons.last.click()
    expect(page.locator("h1")).to_contain_text("Pay the balance")
    expect(page.locator(".pay-instructions")).to_contain_text("IBAN PT50 0002")
    expect(page.locator(".pay-instructions")).to_contain_text(booking.reference)
    phone.shot("pay-by-transfer")


def test_accounts_make_a_payment_link_in_the_admin_and_email_it(phone: Phone) -> None:
    from playwright.sync_api import expect

    from billing.models import PaymentLink
    from notifications.models import Notification
    from partners.roles import ACCOUNTS, APPROVERS

    desk = Actor(user=factories.SuperuserFactory(username="desk"), via="admin")
    broker = factories.BrokerFactory(name="Nordic Travel AS", email="ops@nordic.example")
    booking = _booking(desk, broker, "Ingrid Nilsen")
    factories.StaffFactory(username="accounts", groups=[ACCOUNTS, APPROVERS])
    page = phone.page.context.browser.new_page(viewport={"width": 1280, "height": 800})
    folder = phone.folder
    try:
        change = f"/admin/bookings/booking/{booking.pk}/change/"
        page.goto(f"{phone.base_url}/admin/login/?next={change}")
        page.get_by_label("Username").fill("accounts")
        page.get_by_label("Password").fill("correct horse battery staple")
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="Make a payment link…").first.click()
        expect(page.get_by_label("E-mail it to whoever pays")).to_be_checked()
        page.screenshot(path=folder / "01-admin-payment-link-form.png", full_page=True)
        page.get_by_role("button", name="Make the link").click()
        expect(page.locator(".messagelist")).to_contain_text("Payment link ready and e-mailed")
        expect(page.locator(".payment-link")).to_have_count(1)
        page.screenshot(path=folder / "02-admin-payment-link-made.png", full_page=True)
    finally:
        page.close()
    assert PaymentLink.objects.filter(booking=booking).count() == 1
    assert list(
        Notification.objects.filter(kind="payment_link").values_list("recipient", flat=True)
    ) == ["ops@nordic.example"]

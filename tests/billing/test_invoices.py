"""Invoices and credit notes: what is invoiced, the arithmetic, numbering, immutability, PDF."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pypdf
import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import CommissionEntry, Invoice, InvoiceDocument, InvoiceLine
from bookings import services as booking_services
from tests.billing.conftest import make_booking


def issue(booking: Any, actor: Any, capture: Any) -> Invoice:
    with capture(execute=True):
        return services.invoice_issue(booking=booking, actor=actor)


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_split_gross_rounds_tax_half_up_and_net_is_the_rest() -> None:
    assert services.split_gross(Decimal("300.00"), Decimal("10")) == (
        Decimal("272.73"),
        Decimal("27.27"),
    )
    assert services.split_gross(Decimal("80.00"), Decimal("20")) == (
        Decimal("66.67"),
        Decimal("13.33"),
    )
    assert services.split_gross(Decimal("0.05"), Decimal("10")) == (
        Decimal("0.05"),
        Decimal("0.00"),
    )
    # 1.10 at 10 %: tax exactly 0.10
    assert services.split_gross(Decimal("1.10"), Decimal("10")) == (
        Decimal("1.00"),
        Decimal("0.10"),
    )


def test_an_invoice_has_every_live_item_with_its_tax_rate(
    staff: Any, broker: Any, django_capture_on_commit_callbacks: Any
) -> None:
    booking = make_booking(staff, broker=broker)
    invoice = issue(booking, staff, django_capture_on_commit_callbacks)
    year = timezone.localdate().year
    assert invoice.number == f"{year}-000001"
    lines = list(invoice.lines.order_by("position"))
    assert [
        (line.service_type, line.tax_rate, line.net, line.tax, line.gross) for line in lines
    ] == [
        ("accommodation", Decimal("10.00"), Decimal("272.73"), Decimal("27.27"), Decimal("300.00")),
        ("transfer", Decimal("20.00"), Decimal("66.67"), Decimal("13.33"), Decimal("80.00")),
    ]
    assert (invoice.net, invoice.tax, invoice.total) == (
        Decimal("339.40"),
        Decimal("40.60"),
        Decimal("380.00"),
    )
    assert invoice.recipient_name == broker.name
    # commission: 10 % of each line's gross
    assert [e.amount for e in CommissionEntry.objects.order_by("id")] == [
        Decimal("30.00"),
        Decimal("8.00"),
    ]


def test_nothing_to_invoice_is_a_409(
    accounts_client: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    booking = make_booking(staff)
    with django_capture_on_commit_callbacks(execute=True):
        first = accounts_client.post(f"/api/v1/bookings/{booking.reference}/invoice/")
    assert first.status_code == 201
    assert first.json()["total"] == "380.00"
    again = accounts_client.post(f"/api/v1/bookings/{booking.reference}/invoice/")
    assert again.status_code == 409
    assert again.json()["code"] == "nothing_to_invoice"


def test_a_booking_not_yet_approved_cannot_be_invoiced(accounts_client: Any, staff: Any) -> None:
    booking = make_booking(staff, approve=False)
    response = accounts_client.post(f"/api/v1/bookings/{booking.reference}/invoice/")
    assert response.status_code == 409
    assert "invoice once approved" in response.json()["detail"]


def test_numbers_follow_each_other_per_series(
    staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    year = timezone.localdate().year
    first = issue(make_booking(staff), staff, django_capture_on_commit_callbacks)
    second_booking = make_booking(staff)
    second = issue(second_booking, staff, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        booking_services.booking_cancel(booking=second_booking, actor=staff, reason="Storm")
    note = Invoice.objects.get(kind="credit_note")
    assert [first.number, second.number, note.number] == [
        f"{year}-000001",
        f"{year}-000002",
        f"CN-{year}-000001",
    ]


def test_a_cancelled_item_gets_a_credit_note_for_its_line(
    staff: Any, broker: Any, django_capture_on_commit_callbacks: Any
) -> None:
    booking = make_booking(staff, broker=broker)
    invoice = issue(booking, staff, django_capture_on_commit_callbacks)
    transfer = booking.items.get(service_type="transfer")
    with django_capture_on_commit_callbacks(execute=True):
        booking_services.item_cancel(item=transfer, actor=staff, reason="Not needed")
    note = Invoice.objects.get(kind="credit_note")
    assert note.refers_to == invoice
    assert note.reason == "Item cancelled"
    [line] = note.lines.all()
    original = invoice.lines.get(item=transfer)
    assert line.reverses == original
    assert (line.quantity, line.net, line.tax, line.gross) == (
        -1,
        Decimal("-66.67"),
        Decimal("-13.33"),
        Decimal("-80.00"),
    )
    assert (note.net, note.tax, note.total) == (
        Decimal("-66.67"),
        Decimal("-13.33"),
        Decimal("-80.00"),
    )
    # invoices minus credit notes = what is sold now
    assert sum(i.total for i in booking.invoices.all()) == Decimal("300.00")
    entry = CommissionEntry.objects.get(invoice=note)
    assert entry.amount == Decimal("-8.00")
    # nothing left to invoice; nothing credited twice
    with pytest.raises(services.NothingToInvoice):
        services.invoice_issue(booking=booking, actor=staff)
    booking_services.item_update(
        item=booking.items.get(service_type="accommodation"), actor=staff, description="x"
    )
    assert Invoice.objects.filter(kind="credit_note").count() == 1


def test_a_price_change_after_invoicing_credits_the_line_and_invoices_the_new_price(
    staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    booking = make_booking(staff)
    invoice = issue(booking, staff, django_capture_on_commit_callbacks)
    room = booking.items.get(service_type="accommodation")
    with django_capture_on_commit_callbacks(execute=True):
        booking_services.item_update(item=room, actor=staff, unit_price=Decimal("175.00"))
    note = Invoice.objects.get(kind="credit_note")
    assert note.refers_to == invoice and note.reason == "Price changed"
    assert note.total == Decimal("-300.00")
    again = issue(booking, staff, django_capture_on_commit_callbacks)
    assert [(line.quantity, line.gross) for line in again.lines.all()] == [(2, Decimal("350.00"))]
    assert sum(i.total for i in booking.invoices.all()) == Decimal("430.00")


def test_a_cancelled_booking_credits_every_invoice(
    staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    booking = make_booking(staff)
    first = issue(booking, staff, django_capture_on_commit_callbacks)
    start = booking.items.first().start
    booking_services.item_add(
        booking=booking, actor=staff, service_type="activity", description="Tour", start=start,
        end=start, quantity=3, unit_price=Decimal("33.33"), unit_cost=Decimal("1"),
    )  # fmt: skip
    second = issue(booking, staff, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        booking_services.booking_cancel(booking=booking, actor=staff, reason="Storm")
    notes = Invoice.objects.filter(kind="credit_note").order_by("number")
    assert {n.refers_to for n in notes} == {first, second}
    assert sum(i.total for i in booking.invoices.all()) == Decimal("0.00")
    assert sum(i.tax for i in booking.invoices.all()) == Decimal("0.00")


# --- issued documents never change ----------------------------------------------------


def test_the_database_refuses_to_change_an_issued_invoice(
    staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    invoice = issue(make_booking(staff), staff, django_capture_on_commit_callbacks)
    for attempt in (
        lambda: Invoice.objects.filter(pk=invoice.pk).update(total=Decimal("1.00")),
        lambda: InvoiceLine.objects.filter(invoice=invoice).update(description="changed"),
        lambda: InvoiceDocument.objects.filter(invoice=invoice).update(sha256="0" * 64),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            attempt()
    invoice.refresh_from_db()
    assert invoice.total == Decimal("380.00")


@pytest.mark.postgres
def test_postgresql_also_refuses_to_delete_an_issued_invoice(
    staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    invoice = issue(make_booking(staff), staff, django_capture_on_commit_callbacks)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM billing_invoiceline WHERE invoice_id = %s", [invoice.pk])
    assert invoice.lines.count() == 2


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_the_api_answers_an_edit_with_a_409(
    method: str,
    accounts_client: Any,
    superuser_client: Any,
    staff: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    invoice = issue(make_booking(staff), staff, django_capture_on_commit_callbacks)
    for client in (accounts_client, superuser_client):
        response = getattr(client, method)(
            f"/api/v1/invoices/{invoice.number}/", {"total": "1.00"}, format="json"
        )
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "document_issued"
    invoice.refresh_from_db()
    assert invoice.total == Decimal("380.00")


def test_the_admin_shows_an_invoice_read_only_and_refuses_a_change(
    client: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests import factories

    invoice = issue(make_booking(staff), staff, django_capture_on_commit_callbacks)
    client.force_login(factories.SuperuserFactory())
    url = reverse("admin:billing_invoice_change", args=[invoice.pk])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert invoice.number in html and 'name="total"' not in html and "Save" not in html
    assert client.post(url, {"total": "1.00"}).status_code == 403
    delete = client.post(
        reverse("admin:billing_invoice_delete", args=[invoice.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    assert (
        reverse("admin:billing_invoice_add")
        and client.get(reverse("admin:billing_invoice_add")).status_code == 403
    )
    invoice.refresh_from_db()
    assert invoice.total == Decimal("380.00")


# --- the PDF and the email --------------------------------------------------------------


def test_the_pdf_opens_and_carries_the_number_and_totals(
    accounts_client: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    invoice = issue(make_booking(staff), staff, django_capture_on_commit_callbacks)
    response = accounts_client.get(f"/api/v1/invoices/{invoice.number}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in (invoice.number, "339.40", "40.60", "380.00", invoice.booking.reference):
        assert expected in text
    # The stored document of record is what is served.
    assert response.content == bytes(InvoiceDocument.objects.get(invoice=invoice).pdf)


def test_a_credit_note_pdf_names_the_invoice_it_corrects(
    accounts_client: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    booking = make_booking(staff)
    invoice = issue(booking, staff, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        booking_services.booking_cancel(booking=booking, actor=staff, reason="Storm")
    note = Invoice.objects.get(kind="credit_note")
    text = pdf_text(accounts_client.get(f"/api/v1/invoices/{note.number}/pdf/").content)
    assert note.number in text and invoice.number in text and "-380.00" in text


def test_the_document_is_emailed_with_its_pdf_once(
    staff: Any, broker: Any, django_capture_on_commit_callbacks: Any, mailoutbox: Any
) -> None:
    invoice = issue(make_booking(staff, broker=broker), staff, django_capture_on_commit_callbacks)
    mails = [m for m in mailoutbox if invoice.number in m.subject]
    assert len(mails) == 1
    assert mails[0].to == [f"{broker.name} <{broker.email}>"]
    [(name, content, mimetype)] = mails[0].attachments
    assert (name, mimetype) == (f"invoice-{invoice.number}.pdf", "application/pdf")
    assert invoice.number in pdf_text(content)
    from billing import tasks

    assert tasks.invoice_send(invoice.pk) == 0  # a second run sends nothing
    assert tasks.sweep()["documents"] == 0


# --- listing and isolation ----------------------------------------------------------------


def test_the_api_lists_invoices_with_their_lines(
    broker_client: Any, other_broker_client: Any, vendor_client: Any, staff: Any, broker: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    invoice = issue(make_booking(staff, broker=broker), staff, django_capture_on_commit_callbacks)
    listed = broker_client.get("/api/v1/invoices/").json()
    [row] = listed["results"]
    assert set(row) >= {
        "number",
        "kind",
        "booking",
        "issued_at",
        "currency",
        "lines",
        "net",
        "tax",
        "total",
    }
    assert (row["number"], row["kind"], row["total"], len(row["lines"])) == (
        invoice.number,
        "invoice",
        "380.00",
        2,
    )
    assert broker_client.get(f"/api/v1/invoices/{invoice.number}/pdf/").status_code == 200
    for client in (other_broker_client, vendor_client):
        assert client.get("/api/v1/invoices/").json()["count"] == 0
        assert client.get(f"/api/v1/invoices/{invoice.number}/").status_code == 404
        assert client.get(f"/api/v1/invoices/{invoice.number}/pdf/").status_code == 404
        assert (
            client.patch(f"/api/v1/invoices/{invoice.number}/", {}, format="json").status_code
            == 404
        )
    assert (
        other_broker_client.post(
            f"/api/v1/bookings/{invoice.booking.reference}/invoice/"
        ).status_code
        == 404
    )
    assert (
        broker_client.post(f"/api/v1/bookings/{invoice.booking.reference}/invoice/").status_code
        == 403
    )


def test_the_portal_lists_a_brokers_invoices_and_serves_only_its_pdfs(
    client: Any, staff: Any, broker: Any, other_broker: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests import factories

    mine = issue(make_booking(staff, broker=broker), staff, django_capture_on_commit_callbacks)
    theirs = issue(
        make_booking(staff, broker=other_broker), staff, django_capture_on_commit_callbacks
    )
    client.force_login(factories.PortalAccountFactory(broker=broker).user)
    page = client.get(reverse("portal:invoices")).content.decode()
    assert mine.number in page and theirs.number not in page
    assert client.get(reverse("portal:invoice-pdf", args=[mine.number])).status_code == 200
    assert client.get(reverse("portal:invoice-pdf", args=[theirs.number])).status_code == 404
    detail = client.get(
        reverse("portal:booking-detail", args=[mine.booking.reference])
    ).content.decode()
    assert "Payments" in detail and "Deposit" in detail

"""Done when: a booking goes from approval to fully paid and invoiced, is partly
cancelled, and ends with a credit note, a correct balance and a broker statement that
adds up, through the API alone and through the admin alone."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pypdf
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, Payment
from billing.reconcile import reconcile
from bookings.models import Booking, BookingItem
from partners.roles import ACCOUNTS, AGENTS, APPROVERS
from tests import factories
from tests.admin.helpers import form_post_data


def _staff_key_client(make_key: Any) -> Any:
    from tests.api.conftest import key_client

    user = factories.StaffFactory(username="integrator", groups=[AGENTS, APPROVERS, ACCOUNTS])
    _, raw = make_key(user=user)
    return key_client(raw)


def test_through_the_api_alone(
    make_key: Any, broker: Any, django_capture_on_commit_callbacks: Any, mailoutbox: Any
) -> None:
    api = _staff_key_client(make_key)
    _, broker_raw = make_key(broker=broker)
    from tests.api.conftest import key_client

    broker_api = key_client(broker_raw)
    start = timezone.now() + timedelta(days=60)
    item = {
        "start": start.isoformat(),
        "end": (start + timedelta(days=2)).isoformat(),
        "unit_cost": "50.00",
    }
    created = api.post(
        "/api/v1/bookings/",
        {
            "customer_name": "Grace Hopper",
            "customer_email": "grace@example.com",
            "broker": broker.pk,
            "currency": "EUR",
            "items": [
                {**item, "service_type": "accommodation", "description": "Suite",
                 "quantity": 2, "unit_price": "150.00"},
                {**item, "service_type": "transfer", "description": "Airport pickup",
                 "quantity": 1, "unit_price": "80.00"},
            ],
        },
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    ref = created.json()["reference"]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/v1/bookings/{ref}/submit/").status_code == 200
        approved = api.post(f"/api/v1/bookings/{ref}/approve/")
    assert approved.status_code == 200
    schedule = approved.json()["money"]["schedule"]
    assert [(s["kind"], s["amount"], s["state"]) for s in schedule] == [
        ("deposit", "114.00", "due"),
        ("balance", "266.00", "due"),
    ]

    # Invoiced, then paid in full (each payment sent twice with its Idempotency-Key).
    with django_capture_on_commit_callbacks(execute=True):
        invoice = api.post(f"/api/v1/bookings/{ref}/invoice/")
    assert invoice.status_code == 201
    number = invoice.json()["number"]
    assert invoice.json()["total"] == "380.00"
    for key, amount in (("dep", "114.00"), ("bal", "266.00")):
        for _ in range(2):
            paid = api.post(
                f"/api/v1/bookings/{ref}/payments/",
                {"amount": amount, "currency": "EUR", "method": "bank_transfer", "reference": key},
                format="json",
                HTTP_IDEMPOTENCY_KEY=f"{ref}-{key}",
            )
            assert paid.status_code == 201
    money = api.get(f"/api/v1/bookings/{ref}/").json()["money"]
    assert (money["paid"], money["due"], money["balance"], money["invoiced"]) == (
        "380.00",
        "0.00",
        "0.00",
        "380.00",
    )
    assert [s["state"] for s in money["schedule"]] == ["paid", "paid"]
    assert api.post(f"/api/v1/bookings/{ref}/invoice/").status_code == 409

    # Partly cancelled: the transfer. A credit note follows by itself.
    transfer = next(
        i
        for i in api.get(f"/api/v1/bookings/{ref}/items/").json()["results"]
        if i["service_type"] == "transfer"
    )
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = api.post(
            f"/api/v1/booking-items/{transfer['id']}/cancel/",
            {"reason": "Flight changed"},
            format="json",
        )
    assert cancelled.status_code == 200
    documents = api.get(f"/api/v1/invoices/?booking={ref}&ordering=issued_at").json()["results"]
    assert [(d["kind"], d["total"], d["refers_to"]) for d in documents] == [
        ("invoice", "380.00", None),
        ("credit_note", "-80.00", number),
    ]
    note = documents[1]
    assert (note["net"], note["tax"]) == ("-66.67", "-13.33")
    pdf = api.get(f"/api/v1/invoices/{note['number']}/pdf/").content
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert note["number"] in text and number in text and "-80.00" in text
    assert (
        api.patch(f"/api/v1/invoices/{number}/", {"total": "0"}, format="json").status_code == 409
    )

    # The balance: 80 paid too much, refunded; then nothing owed either way.
    money = api.get(f"/api/v1/bookings/{ref}/").json()["money"]
    assert (money["total"], money["paid"], money["balance"]) == ("300.00", "380.00", "-80.00")
    refund = api.post(
        f"/api/v1/bookings/{ref}/payments/",
        {
            "amount": "-80.00",
            "currency": "EUR",
            "method": "bank_transfer",
            "reason": "Transfer cancelled",
        },
        format="json",
    )
    assert refund.status_code == 201
    money = broker_api.get(f"/api/v1/bookings/{ref}/").json()["money"]
    assert (money["total"], money["paid"], money["due"], money["balance"], money["invoiced"]) == (
        "300.00", "300.00", "0.00", "0.00", "300.00",
    )  # fmt: skip
    payments = broker_api.get(f"/api/v1/payments/?booking={ref}&ordering=created_at").json()
    assert [p["amount"] for p in payments["results"]] == ["114.00", "266.00", "-80.00"]

    # The broker's statement adds up: 30 + 8 earned, 8 given back.
    month = timezone.localdate().strftime("%Y-%m")
    [result] = broker_api.get(f"/api/v1/commission-statements/?month={month}").json()["results"]
    [statement] = result["statements"]
    assert [e["amount"] for e in statement["entries"]] == ["30.00", "8.00", "-8.00"]
    assert Decimal(statement["opening_balance"]) + sum(
        Decimal(e["amount"]) for e in statement["entries"]
    ) == Decimal(statement["closing_balance"])
    assert statement["closing_balance"] == "30.00"
    # The invoice and the credit note were emailed to the broker with their PDFs.
    sent = [m for m in mailoutbox if m.attachments]
    assert sorted(m.subject.split()[0] for m in sent) == ["Credit", "Invoice"]
    assert reconcile().differences == []


def test_through_the_admin_alone(
    client: Any, broker: Any, django_capture_on_commit_callbacks: Any, mailoutbox: Any
) -> None:
    staff = factories.StaffFactory(username="office", groups=[AGENTS, APPROVERS, ACCOUNTS])
    client.force_login(staff)
    add = reverse("admin:bookings_booking_add")
    data = form_post_data(client.get(add))
    start = timezone.localtime(timezone.now() + timedelta(days=60)).date().isoformat()
    end = timezone.localtime(timezone.now() + timedelta(days=62)).date().isoformat()
    data.update(
        {
            "customer_name": "Grace Hopper",
            "customer_email": "grace@example.com",
            "currency": "EUR",
            "broker": str(broker.pk),
        }
    )
    for n, (kind, description, quantity, price) in enumerate(
        [("accommodation", "Suite", "2", "150.00"), ("transfer", "Airport pickup", "1", "80.00")]
    ):
        data.update({
            f"items-{n}-service_type": kind, f"items-{n}-description": description,
            f"items-{n}-start_0": start, f"items-{n}-start_1": "14:00:00",
            f"items-{n}-end_0": end, f"items-{n}-end_1": "11:00:00",
            f"items-{n}-quantity": quantity, f"items-{n}-unit_price": price,
            f"items-{n}-unit_cost": "50.00",
        })  # fmt: skip
    data["items-TOTAL_FORMS"] = "2"
    assert client.post(add, data).status_code == 302
    booking = Booking.objects.get(customer_name="Grace Hopper")

    def transition(name: str, **form: str) -> None:
        url = reverse("admin:bookings_booking_transition", args=[booking.pk, name])
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(url, form).status_code == 302

    transition("submit")
    transition("approve")
    page = client.get(reverse("admin:bookings_booking_change", args=[booking.pk])).content.decode()
    assert "Deposit" in page and "EUR 114.00" in page and "Issue invoice" in page
    transition("invoice")
    invoice = Invoice.objects.get(booking=booking)
    assert invoice.total == Decimal("380.00")
    page = client.get(reverse("admin:bookings_booking_change", args=[booking.pk])).content.decode()
    assert invoice.number in page and "Issue invoice" not in page

    pay = reverse("admin:billing_payment_add")
    now = timezone.localtime()
    for amount in ("114.00", "266.00"):
        form = {"booking": booking.pk, "amount": amount, "currency": "EUR",
                "method": "bank_transfer", "reference": "", "received_at_0": now.date().isoformat(),
                "received_at_1": now.strftime("%H:%M:%S"), "reason": ""}  # fmt: skip
        assert client.post(pay, form).status_code == 302
    page = client.get(reverse("admin:bookings_booking_change", args=[booking.pk])).content.decode()
    assert "<th>Due</th><td>EUR 0.00</td>" in page

    # Partly cancelled through the item's own page; the credit note follows.
    transfer = booking.items.get(service_type="transfer")
    url = reverse("admin:bookings_bookingitem_transition", args=[transfer.pk, "cancel"])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"reason": "Flight changed"}).status_code == 302
    transfer.refresh_from_db()
    assert transfer.cancelled_at is not None
    note = Invoice.objects.get(booking=booking, kind="credit_note")
    assert (note.refers_to, note.total) == (invoice, Decimal("-80.00"))
    # The admin shows the documents but never lets them change.
    assert client.get(reverse("admin:billing_invoice_change", args=[note.pk])).status_code == 200
    assert (
        client.post(
            reverse("admin:billing_invoice_change", args=[note.pk]), {"total": "0"}
        ).status_code
        == 403
    )
    pdf = client.get(reverse("admin:billing_invoice_pdf", args=[note.pk]))
    assert note.number in pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()

    refund = {**form, "amount": "-80.00", "reason": "Transfer cancelled"}
    assert client.post(pay, refund).status_code == 302
    assert sum(p.amount for p in Payment.objects.filter(booking=booking)) == Decimal("300.00")
    page = client.get(reverse("admin:bookings_booking_change", args=[booking.pk])).content.decode()
    for shown in (
        "<th>Total</th><td>EUR 300.00</td>",
        "<th>Paid</th><td>EUR 300.00</td>",
        "<th>Due</th><td>EUR 0.00</td>",
        "<th>Invoiced</th><td>EUR 300.00</td>",
    ):
        assert shown in page

    # Commission, as the admin lists it, adds up to 30.00; the books reconcile.
    entries = client.get(
        reverse("admin:billing_commissionentry_changelist") + f"?broker__id__exact={broker.pk}"
    )
    assert entries.status_code == 200
    listed = entries.context["cl"].result_list
    assert sorted(e.amount for e in listed) == [Decimal("-8.00"), Decimal("8.00"), Decimal("30.00")]
    assert sum(e.amount for e in listed) == Decimal("30.00")
    reconciliation = client.get(reverse("admin:billing_reconciliation")).content.decode()
    assert "The books reconcile." in reconciliation
    assert [m for m in mailoutbox if m.attachments and note.number in m.subject]


def test_item_cancel_through_the_api_is_staff_only_and_scoped(
    make_key: Any, broker: Any, other_broker: Any
) -> None:
    from core.domain import Actor
    from tests.api.conftest import key_client
    from tests.billing.conftest import make_booking

    system = Actor(via="system", label="test")
    booking = make_booking(system, broker=broker)
    item = booking.items.first()
    _, mine = make_key(broker=broker)
    _, theirs = make_key(broker=other_broker)
    url = f"/api/v1/booking-items/{item.pk}/cancel/"
    assert key_client(theirs).post(url, {"reason": "x"}, format="json").status_code == 404
    assert key_client(mine).post(url, {"reason": "x"}, format="json").status_code == 403
    assert BookingItem.objects.get(pk=item.pk).cancelled_at is None
    assert Permission.objects.filter(codename="change_bookingitem").exists()

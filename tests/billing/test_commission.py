"""Broker commission: a ledger entry per invoiced line and per credit note; monthly statements."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import Any
from unittest import mock

import pypdf
import pytest
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import CommissionEntry
from billing.selectors import commission_statements
from bookings import services as booking_services
from tests import factories
from tests.billing.conftest import make_booking


def at(year: int, month: int, day: int) -> datetime:
    return timezone.make_aware(datetime(year, month, day, 12))


@pytest.fixture
def ledger(
    staff: Any,
    broker: Any,
    other_broker: Any,
    django_capture_on_commit_callbacks: Any,
    time_machine: Any = None,
) -> Any:
    """April: an invoice of 380 (commission 38). May: another of 380, then a cancelled
    transfer (credit note of 80, commission -8). The other broker: one invoice in May."""

    def issue_at(when: datetime, call: Any) -> Any:
        with (
            mock.patch("django.utils.timezone.now", return_value=when),
            django_capture_on_commit_callbacks(execute=True),
        ):
            return call()

    april = make_booking(staff, broker=broker)
    issue_at(at(2027, 4, 20), lambda: services.invoice_issue(booking=april, actor=staff))
    may = make_booking(staff, broker=broker)
    issue_at(at(2027, 5, 3), lambda: services.invoice_issue(booking=may, actor=staff))
    transfer = may.items.get(service_type="transfer")
    issue_at(
        at(2027, 5, 9), lambda: booking_services.item_cancel(item=transfer, actor=staff, reason="x")
    )
    theirs = make_booking(staff, broker=other_broker)
    issue_at(at(2027, 5, 10), lambda: services.invoice_issue(booking=theirs, actor=staff))
    return {"april": april, "may": may, "theirs": theirs}


def test_one_entry_per_invoiced_line_and_one_per_credit_note(ledger: Any, broker: Any) -> None:
    entries = list(CommissionEntry.objects.filter(broker=broker).order_by("booked_at", "id"))
    assert [e.amount for e in entries] == [
        Decimal("30.00"), Decimal("8.00"), Decimal("30.00"), Decimal("8.00"), Decimal("-8.00"),
    ]  # fmt: skip
    assert entries[-1].line is None and entries[-1].invoice.kind == "credit_note"


def test_statements_add_up(ledger: Any, broker: Any) -> None:
    [april] = commission_statements(broker=broker, month=at(2027, 4, 1).date())
    [may] = commission_statements(broker=broker, month=at(2027, 5, 1).date())
    [june] = commission_statements(broker=broker, month=at(2027, 6, 1).date())
    assert (april.opening_balance, april.total, april.closing_balance) == (
        0,
        Decimal("38.00"),
        Decimal("38.00"),
    )
    assert (may.opening_balance, may.total, may.closing_balance) == (
        Decimal("38.00"),
        Decimal("30.00"),
        Decimal("68.00"),
    )
    assert may.opening_balance + sum(e.amount for e in may.entries) == may.closing_balance
    assert (june.opening_balance, june.entries, june.closing_balance) == (
        Decimal("68.00"),
        [],
        Decimal("68.00"),
    )
    assert commission_statements(broker=broker, month=at(2027, 3, 1).date()) == []


def test_the_api_gives_a_broker_its_own_statement(
    ledger: Any, broker: Any, other_broker: Any, broker_client: Any, vendor_client: Any
) -> None:
    response = broker_client.get("/api/v1/commission-statements/?month=2027-05")
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["broker"] == broker.pk
    [statement] = result["statements"]
    assert (statement["opening_balance"], statement["total"], statement["closing_balance"]) == (
        "38.00",
        "30.00",
        "68.00",
    )
    assert [e["amount"] for e in statement["entries"]] == ["30.00", "8.00", "-8.00"]
    assert (
        broker_client.get(
            f"/api/v1/commission-statements/?month=2027-05&broker={other_broker.pk}"
        ).status_code
        == 404
    )
    assert vendor_client.get("/api/v1/commission-statements/?month=2027-05").json()["results"] == []
    assert broker_client.get("/api/v1/commission-statements/?month=2027-13").status_code == 400
    assert broker_client.get("/api/v1/commission-statements/").status_code == 400


def test_staff_see_any_broker_and_filter_by_one(
    ledger: Any, broker: Any, other_broker: Any, accounts_client: Any
) -> None:
    everyone = accounts_client.get("/api/v1/commission-statements/?month=2027-05").json()
    assert {r["broker"] for r in everyone["results"]} == {broker.pk, other_broker.pk}
    one = accounts_client.get(
        f"/api/v1/commission-statements/?month=2027-05&broker={other_broker.pk}"
    ).json()
    [result] = one["results"]
    assert result["statements"][0]["closing_balance"] == "38.00"


def test_the_portal_statement_page_csv_and_pdf(
    ledger: Any, broker: Any, other_broker: Any, client: Any
) -> None:
    client.force_login(factories.PortalAccountFactory(broker=broker).user)
    page = client.get(reverse("portal:statement") + "?month=2027-05").content.decode()
    assert "May 2027" in page and "68.00" in page and ledger["may"].reference in page
    assert ledger["theirs"].reference not in page
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(reverse("portal:statement-csv") + "?month=2027-05").content.decode()
            )
        )
    )
    assert rows[1][4:] == ["Opening balance", "", "", "", "38.00"]
    assert rows[-1][4:] == ["Closing balance", "", "", "", "68.00"]
    assert [r[7] for r in rows[2:-1]] == ["30.00", "8.00", "-8.00"]
    pdf = client.get(reverse("portal:statement-pdf") + "?month=2027-05")
    assert pdf["Content-Type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Commission statement May 2027" in text and "68.00" in text and "38.00" in text
    assert client.get(reverse("portal:statement") + "?month=nonsense").status_code == 404


def test_another_brokers_people_see_only_their_own(
    ledger: Any, other_broker: Any, client: Any
) -> None:
    client.force_login(factories.PortalAccountFactory(broker=other_broker).user)
    page = client.get(reverse("portal:statement") + "?month=2027-05").content.decode()
    assert ledger["theirs"].reference in page and ledger["may"].reference not in page
    rows = client.get(reverse("portal:statement-csv") + "?month=2027-05").content.decode()
    assert ledger["may"].reference not in rows and "38.00" in rows


def test_vendors_have_no_invoices_or_statement(client: Any, vendor: Any) -> None:
    client.force_login(factories.PortalAccountFactory(vendor=vendor).user)
    for name in (
        "portal:invoices",
        "portal:statement",
        "portal:statement-csv",
        "portal:statement-pdf",
    ):
        assert client.get(reverse(name)).status_code == 404

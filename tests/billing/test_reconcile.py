"""Reconciliation lists differences and fixes nothing."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from billing import services
from billing.models import CommissionEntry, Payment
from billing.reconcile import reconcile
from tests import factories
from tests.billing.conftest import make_booking


@pytest.fixture
def books(staff: Any, broker: Any, django_capture_on_commit_callbacks: Any) -> Any:
    booking = make_booking(staff, broker=broker)
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_issue(booking=booking, actor=staff)
    services.payment_record(
        booking=booking, actor=staff, amount="380.00", currency="EUR", method="cash"
    )
    return booking


def test_clean_books_reconcile(books: Any) -> None:
    report = reconcile()
    assert report.checked == 1 and report.differences == []
    out = StringIO()
    call_command("billing_reconcile", stdout=out)
    assert "1 bookings checked, 0 differences." in out.getvalue()


def test_a_planted_payment_is_found_and_left_alone(books: Any, staff: Any) -> None:
    # Written around the service: no instalment settled, over what was invoiced.
    Payment.objects.create(booking=books, amount=Decimal("25.00"), currency="USD", method="cash")
    report = reconcile()
    checks = {d.check for d in report.differences}
    assert "payments in another currency" in checks
    assert "payments not more than invoiced (refund due)" in checks
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("billing_reconcile", stdout=out)
    assert f"{books.reference}: payments in another currency: expected 0, found 1" in out.getvalue()
    assert Payment.objects.filter(booking=books).count() == 2  # nothing fixed


def test_missing_commission_and_a_wrong_paid_mark_are_found(books: Any, staff: Any) -> None:
    CommissionEntry.objects.filter(booking=books).first().delete()
    books.instalments.update(paid_at=None)
    checks = [d.check for d in reconcile().differences]
    assert "commission entries against invoiced lines" in checks
    assert sum("paid state against payments" in c for c in checks) == 2


def test_a_sell_total_not_invoiced_is_found(books: Any, staff: Any) -> None:
    from bookings.models import BookingItem

    BookingItem.objects.filter(booking=books, service_type="transfer").update(
        unit_price=Decimal("90.00")
    )
    [difference] = [d for d in reconcile().differences if d.check.startswith("invoices minus")]
    assert (difference.expected, difference.actual) == (Decimal("390.00"), Decimal("380.00"))


def test_the_admin_page_lists_the_differences(books: Any, client: Any) -> None:
    Payment.objects.create(booking=books, amount=Decimal("25.00"), currency="USD", method="cash")
    client.force_login(factories.SuperuserFactory())
    page = client.get(reverse("admin:billing_reconciliation"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "payments in another currency" in html and books.reference in html
    client.force_login(factories.StaffFactory())
    assert client.get(reverse("admin:billing_reconciliation")).status_code == 403

"""`seed_demo`: realistic, covers every status, and a second run changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import CommissionEntry, Instalment, Invoice, Payment
from billing.reconcile import reconcile
from bookings.models import Booking, BookingItem
from core.models import AuditEntry
from notifications.models import Notification
from offers.models import Offer
from partners.models import Broker, PortalAccount, Vendor

pytestmark = pytest.mark.django_db

MODELS = [
    Invoice,
    Payment,
    Instalment,
    CommissionEntry,
    Vendor,
    Broker,
    Booking,
    BookingItem,
    Offer,
    AuditEntry,
    Notification,
    PortalAccount,
    get_user_model(),
]


def snapshot() -> dict[str, object]:
    return {
        "counts": {m.__name__: m.objects.count() for m in MODELS},
        "bookings": sorted(Booking.objects.values_list("reference", "status", "updated_at")),
        "items": sorted(BookingItem.objects.values_list("pk", "vendor_status", "updated_at")),
        "offers": sorted(Offer.objects.values_list("reference", "status", "updated_at")),
    }


def test_seed_demo_covers_every_status_and_is_idempotent(settings: object) -> None:
    settings.DEBUG = True  # type: ignore[attr-defined]
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "user admin" in out.getvalue() and "password admin" in out.getvalue()
    assert Vendor.objects.count() == 10 and Broker.objects.count() == 5
    assert set(Booking.objects.values_list("status", flat=True)) == set(Booking.Status.values)
    assert set(Offer.objects.values_list("status", flat=True)) == set(Offer.Status.values)
    demo = Booking.objects.filter(reference__startswith="BK-DEM")
    assert demo.count() == 40
    for booking in demo:
        assert 1 <= booking.items.count() <= 5
    assert Offer.objects.count() == 15
    assert set(BookingItem.objects.values_list("vendor_status", flat=True)) == set(
        BookingItem.VendorStatus.values
    )
    assert not Notification.objects.filter(status="pending").exists()
    # Money on a few bookings: invoices, payments, a credit note, and books that reconcile.
    assert Invoice.objects.filter(kind="invoice").count() == 3
    assert Invoice.objects.filter(kind="credit_note").count() == 1
    assert Payment.objects.filter(amount__lt=0).count() == 1
    assert Invoice.objects.filter(booking__broker__name="Nordic Travel AS").exists()
    assert reconcile().differences == []
    first = snapshot()

    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert snapshot() == first
    assert "0 bookings and 0 offers created" in out.getvalue()


def test_seed_demo_refuses_to_run_in_production(settings: object) -> None:
    settings.DEBUG = False  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", stdout=StringIO())
    assert not get_user_model().objects.filter(username="admin").exists()

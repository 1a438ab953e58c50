"""The database itself refuses rows that must never be stored, whoever writes them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from bookings.models import Booking, BookingItem
from offers.models import Offer, OfferLine
from partners.models import ApiKey, Broker, PortalAccount, Vendor
from tests import factories

pytestmark = pytest.mark.django_db


def rejected(create: Any) -> bool:
    try:
        with transaction.atomic():
            create()
    except DatabaseError:  # IntegrityError, or DataError for an over-long value
        return True
    return False


def test_booking_references_are_unique() -> None:
    booking = factories.BookingFactory()
    assert rejected(lambda: Booking.objects.create(reference=booking.reference, customer_name="x"))


def test_offer_references_are_unique() -> None:
    offer = factories.OfferFactory()
    assert rejected(
        lambda: Offer.objects.create(
            reference=offer.reference, customer_name="x", valid_until=timezone.now()
        )
    )


@pytest.mark.parametrize("currency", ["XXX", "eur", "EURO", ""])
def test_currency_must_be_an_iso_code(currency: str) -> None:
    assert rejected(
        lambda: Booking.objects.create(reference="BK-1", customer_name="x", currency=currency)
    )
    assert rejected(
        lambda: Offer.objects.create(
            reference="OF-1", customer_name="x", currency=currency, valid_until=timezone.now()
        )
    )


ITEM_BAD_VALUES = [
    {"quantity": 0},
    {"unit_price": Decimal("-0.01")},
    {"unit_cost": Decimal("-5")},
    {"end_before_start": True},
]


@pytest.mark.parametrize("bad", ITEM_BAD_VALUES, ids=lambda b: next(iter(b)))
def test_booking_items_refuse_negative_amounts_and_backwards_dates(bad: dict[str, Any]) -> None:
    booking = factories.BookingFactory()
    start = timezone.now()
    fields = {
        "booking": booking,
        "service_type": "transfer",
        "description": "x",
        "start": start,
        "end": start + timedelta(hours=1),
        "quantity": 1,
        "unit_price": 1,
        "unit_cost": 1,
    }
    bad = dict(bad)
    if bad.pop("end_before_start", False):
        fields["end"] = start - timedelta(minutes=1)
    fields.update(bad)
    assert rejected(lambda: BookingItem.objects.create(**fields))


@pytest.mark.parametrize("bad", ITEM_BAD_VALUES, ids=lambda b: next(iter(b)))
def test_offer_lines_refuse_negative_amounts_and_backwards_dates(bad: dict[str, Any]) -> None:
    offer = factories.OfferFactory()
    start = timezone.now()
    fields = {
        "offer": offer,
        "service_type": "transfer",
        "description": "x",
        "start": start,
        "end": start + timedelta(hours=1),
        "quantity": 1,
        "unit_price": 1,
        "unit_cost": 1,
    }
    bad = dict(bad)
    if bad.pop("end_before_start", False):
        fields["end"] = start - timedelta(minutes=1)
    fields.update(bad)
    assert rejected(lambda: OfferLine.objects.create(**fields))


def test_an_item_cannot_be_pending_without_a_vendor() -> None:
    assert rejected(lambda: factories.BookingItemFactory(vendor=None, vendor_status="pending"))


def test_an_offer_needs_a_broker_or_a_customer() -> None:
    assert rejected(
        lambda: Offer.objects.create(reference="OF-2", customer_name="", valid_until=timezone.now())
    )


def test_commission_rate_stays_between_0_and_100() -> None:
    assert rejected(
        lambda: Broker.objects.create(
            name="B", email="b@example.com", commission_rate=Decimal("100.01")
        )
    )
    assert rejected(
        lambda: Broker.objects.create(
            name="C", email="c@example.com", commission_rate=Decimal("-1")
        )
    )


def test_partner_names_are_unique_ignoring_case() -> None:
    Vendor.objects.create(name="Sintra Tours", email="a@example.com")
    assert rejected(lambda: Vendor.objects.create(name="SINTRA TOURS", email="b@example.com"))


def test_a_portal_user_belongs_to_exactly_one_partner(vendor: Any, broker: Any) -> None:
    user = factories.UserFactory()
    assert rejected(lambda: PortalAccount.objects.create(user=user, vendor=vendor, broker=broker))
    assert rejected(lambda: PortalAccount.objects.create(user=user))
    PortalAccount.objects.create(user=user, vendor=vendor)
    assert rejected(lambda: PortalAccount.objects.create(user=user, broker=broker))


def test_an_api_key_has_exactly_one_owner(vendor: Any, broker: Any) -> None:
    assert rejected(
        lambda: ApiKey.objects.create(prefix="a", key_hash="x", vendor=vendor, broker=broker)
    )
    assert rejected(lambda: ApiKey.objects.create(prefix="b", key_hash="x"))

"""A changelist runs the same number of queries for 10 rows as for 100.

The figures printed here (run with ``-s``) are the ones quoted in the closing note.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.models import Booking, BookingItem
from core.audit import audit_record
from offers.models import Offer, OfferLine
from partners.models import ApiKey, Broker, Invitation, PortalAccount, Vendor
from tests import factories
from tests.admin.helpers import change_url, changelist

pytestmark = pytest.mark.django_db
STATUSES = list(Booking.Status.values)
V = BookingItem.VendorStatus


def measure(client: Any, url: str) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries), response


def _bookings(n: int, start: int = 0) -> None:
    vendors = list(Vendor.objects.all()) or [factories.VendorFactory() for _ in range(3)]
    brokers = list(Broker.objects.all()) or [factories.BrokerFactory() for _ in range(2)]
    for i in range(start, start + n):
        booking = factories.BookingFactory(
            status=STATUSES[i % len(STATUSES)], broker=brokers[i % len(brokers)] if i % 3 else None
        )
        factories.BookingItemFactory(
            booking=booking, vendor=vendors[i % len(vendors)], vendor_status=V.PENDING
        )
        factories.BookingItemFactory(booking=booking)


def _offers(n: int, start: int = 0) -> None:
    brokers = list(Broker.objects.all()) or [factories.BrokerFactory() for _ in range(2)]
    vendor = Vendor.objects.first() or factories.VendorFactory()
    statuses = list(Offer.Status.values)
    for i in range(start, start + n):
        offer = factories.OfferFactory(status=statuses[i % len(statuses)], broker=brokers[i % 2])
        if i % 4 == 0:
            offer.booking = factories.BookingFactory()
            offer.save(update_fields=["booking"])
        factories.OfferLineFactory(offer=offer, proposed_vendor=vendor)
        factories.OfferLineFactory(offer=offer)


def _vendors(n: int, start: int = 0) -> None:
    for _ in range(n):
        vendor = factories.VendorFactory()
        factories.PortalAccountFactory(vendor=vendor)
        factories.BookingItemFactory(vendor=vendor, vendor_status=V.PENDING)


def _brokers(n: int, start: int = 0) -> None:
    for _ in range(n):
        broker = factories.BrokerFactory()
        factories.PortalAccountFactory(broker=broker)
        factories.BookingFactory(broker=broker)


def _invitations(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        partner = (
            {"vendor": factories.VendorFactory()}
            if i % 2
            else {"broker": factories.BrokerFactory()}
        )
        Invitation.objects.create(
            **partner,
            email=f"person{i}@example.com",
            token_hash=f"{i:064d}",
            created_by=factories.StaffFactory(),
            expires_at=timezone.now() + timedelta(days=7 - i % 10),
        )


def _api_keys(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        owner = [
            {"user": factories.StaffFactory()},
            {"vendor": factories.VendorFactory()},
            {"broker": factories.BrokerFactory()},
        ][i % 3]
        ApiKey.objects.create(
            prefix=f"{i:08x}", key_hash=f"{i:064d}", created_by=factories.StaffFactory(), **owner
        )


def _portal_accounts(n: int, start: int = 0) -> None:
    for i in range(n):
        owner = (
            {"vendor": factories.VendorFactory()}
            if i % 2
            else {"broker": factories.BrokerFactory()}
        )
        factories.PortalAccountFactory(**owner)


CASES: dict[str, tuple[Any, Callable[..., None]]] = {
    "bookings": (Booking, _bookings),
    "items": (BookingItem, _bookings),
    "offers": (Offer, _offers),
    "offer lines": (OfferLine, _offers),
    "vendors": (Vendor, _vendors),
    "brokers": (Broker, _brokers),
    "invitations": (Invitation, _invitations),
    "api keys": (ApiKey, _api_keys),
    "portal accounts": (PortalAccount, _portal_accounts),
}


@pytest.mark.parametrize("name", list(CASES))
def test_changelist_queries_do_not_grow_with_rows(staff_client: Any, name: str) -> None:
    model, make = CASES[name]
    url = changelist(model)
    make(5)
    staff_client.get(url)  # warm the per-process caches (content types, site)
    rows_small = model.objects.count()
    small, response = measure(staff_client, url)
    assert len(response.context["cl"].result_list) == rows_small
    make(50 - 5 if rows_small < 10 else 45, start=5)
    rows_large = model.objects.count()
    large, response = measure(staff_client, url)
    shown = len(response.context["cl"].result_list)
    assert shown == min(rows_large, response.context["cl"].list_per_page) > rows_small
    print(f"\n{name}: {small} queries for {rows_small} rows, {large} for {shown} rows")
    assert small == large, f"{name}: {small} queries for {rows_small} rows, {large} for {shown}"


def test_booking_changelist_same_queries_for_10_and_100_bookings(staff_client: Any) -> None:
    _bookings(10)
    url = changelist(Booking)
    staff_client.get(url)
    ten, response = measure(staff_client, url)
    assert response.context["cl"].result_count == 10
    _bookings(90, start=10)
    hundred, response = measure(staff_client, url)
    assert len(response.context["cl"].result_list) == 100
    print(f"\nbookings changelist: {ten} queries for 10 rows, {hundred} for 100 rows")
    assert ten == hundred
    assert hundred <= 12, f"the booking changelist grew to {hundred} queries"
    # Searching across the items join, filtering and sorting by a total stay flat too.
    busy = "?q=example&status__exact=draft&vendor_status=needs_vendor&o=6"
    searched, response = measure(staff_client, url + busy)
    assert response.context["cl"].result_count > 0
    print(f"bookings changelist, search + 2 filters + sort by total: {searched} queries")
    assert searched <= hundred + 1


def test_booking_page_queries_do_not_grow_with_items_or_history(staff_client: Any) -> None:
    vendor = factories.VendorFactory()

    def booking_with(n: int) -> Booking:
        booking = factories.BookingFactory(
            status=Booking.Status.APPROVED, broker=factories.BrokerFactory()
        )
        for _ in range(n):
            item = factories.BookingItemFactory(
                booking=booking, vendor=vendor, vendor_status=V.ACCEPTED
            )
            audit_record(
                target=item, action="accepted", from_status="pending", to_status="accepted"
            )
            audit_record(target=booking, action="updated", data={"changed": {"notes": "x"}})
        return booking

    small_booking, large_booking = booking_with(2), booking_with(12)
    staff_client.get(change_url(small_booking))
    small, _ = measure(staff_client, change_url(small_booking))
    large, response = measure(staff_client, change_url(large_booking))
    assert len(response.context["inline_admin_formsets"][0].formset.forms) == 12
    assert len(response.context["inline_admin_formsets"][1].formset.forms) == 24
    print(f"\nbooking change page: {small} queries with 2 items, {large} with 12 items")
    assert small == large


def test_offer_page_queries_do_not_grow_with_lines(staff_client: Any) -> None:
    def offer_with(n: int) -> Offer:
        offer = factories.OfferFactory(broker=factories.BrokerFactory())
        vendor = factories.VendorFactory()
        for _ in range(n):
            factories.OfferLineFactory(
                offer=offer, proposed_vendor=vendor, unit_price=Decimal("10")
            )
        return offer

    small_offer, large_offer = offer_with(2), offer_with(12)
    staff_client.get(change_url(small_offer))
    small, _ = measure(staff_client, change_url(small_offer))
    large, _ = measure(staff_client, change_url(large_offer))
    print(f"\noffer change page: {small} queries with 2 lines, {large} with 12 lines")
    assert small == large

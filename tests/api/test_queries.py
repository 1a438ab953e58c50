"""Every list runs the same number of queries for 5 and for 50 objects (page size 50)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from offers.models import Offer
from tests import factories

pytestmark = pytest.mark.django_db


def _bookings(n: int, broker: Any, vendor: Any) -> None:
    for _ in range(n):
        booking = factories.BookingFactory(broker=broker)
        factories.BookingItemFactory(booking=booking, vendor=vendor, vendor_status="pending")
        factories.BookingItemFactory(booking=booking, vendor=vendor, vendor_status="pending")
        factories.BookingItemFactory(booking=booking)


def _offers(n: int, broker: Any, vendor: Any) -> None:
    for _ in range(n):
        offer = factories.OfferFactory(broker=broker, status=Offer.Status.SENT)
        factories.OfferLineFactory(offer=offer, proposed_vendor=vendor)
        factories.OfferLineFactory(offer=offer)


def _count(client: Any, url: str, expected: int) -> int:
    client.get(url)  # warm caches (content types, permissions) outside the count
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"page_size": 50})
    assert response.status_code == 200
    assert response.json()["count"] == expected
    return len(ctx.captured_queries)


CASES = [
    ("staff", "/api/v1/bookings/", _bookings, 1),
    ("broker", "/api/v1/bookings/", _bookings, 1),
    ("staff", "/api/v1/booking-items/", _bookings, 3),
    ("broker", "/api/v1/booking-items/", _bookings, 3),
    ("vendor", "/api/v1/booking-items/", _bookings, 2),
    ("staff", "/api/v1/offers/", _offers, 1),
    ("broker", "/api/v1/offers/", _offers, 1),
]


@pytest.mark.parametrize(("who", "url", "make", "per_object"), CASES)
def test_list_query_count_does_not_grow(
    who: str,
    url: str,
    make: Callable[[int, Any, Any], None],
    per_object: int,
    broker: Any,
    vendor: Any,
    superuser_client: Any,
    broker_client: Any,
    vendor_client: Any,
) -> None:
    client = {"staff": superuser_client, "broker": broker_client, "vendor": vendor_client}[who]
    make(5, broker, vendor)
    few = _count(client, url, 5 * per_object)
    make(45, broker, vendor)
    many = _count(client, url, 50 * per_object)
    assert few == many
    # Auth, count, page (and the items or lines in one more query where not in the page's).
    assert many <= 4


@pytest.mark.postgres
def test_bookings_list_is_planned_once_per_connection(
    superuser_client: Any, broker: Any, vendor: Any
) -> None:
    """Server-side binding: the filter's value is a parameter, so every status shares one
    prepared statement, which psycopg prepares after DATABASE_PREPARE_THRESHOLD runs."""
    _bookings(3, broker, vendor)

    def prepared() -> list[tuple[str, int, int]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
                " WHERE statement LIKE %s",
                ["%row_to_json%"],
            )
            return cursor.fetchall()

    assert connection.settings_dict["OPTIONS"]["prepare_threshold"] == 5
    statuses = ("draft", "approved", "cancelled", "draft", "confirmed", "approved", "completed")
    for status in statuses:
        response = superuser_client.get("/api/v1/bookings/", {"status": status, "page_size": 50})
        assert response.status_code == 200
    statements = prepared()
    assert len(statements) == 1, statements
    statement, generic, custom = statements[0]
    assert "$1" in statement and "'draft'" not in statement
    # Five runs planned each time, prepared on the sixth, run from its plan on the seventh.
    assert generic + custom == 2

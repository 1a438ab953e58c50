"""The bookings' and offers' lists show each row's service dates."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bookings.admin_dates import date_span
from tests import factories

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")
NBSP = "\u00a0"


def on(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("first", "last", "shown"),
    [
        (on(2027, 5, 3), on(2027, 5, 3), "3 May 2027"),
        (on(2027, 5, 3), on(2027, 5, 7), "3–7 May 2027"),
        (on(2027, 5, 28), on(2027, 6, 2), "28 May – 2 Jun 2027"),
        (on(2027, 12, 30), on(2028, 1, 2), "30 Dec 2027 – 2 Jan 2028"),
        (None, None, "—"),
    ],
)
def test_a_date_span_is_short_and_breaks_only_at_its_dash(
    first: Any, last: Any, shown: str, settings: Any
) -> None:
    settings.TIME_ZONE = "UTC"
    span = date_span(first, last)
    assert span.replace(NBSP, " ") == shown
    assert " " not in span.replace("– ", "")


def test_the_bookings_list_shows_live_service_dates(settings: Any, staff_client: Client) -> None:
    settings.TIME_ZONE = "UTC"
    booking = factories.BookingFactory(customer_name="Ines Costa")
    factories.BookingItemFactory(booking=booking, start=on(2027, 5, 3), end=on(2027, 5, 4))
    factories.BookingItemFactory(booking=booking, start=on(2027, 5, 5), end=on(2027, 5, 7))
    # A cancelled item no longer stretches the trip.
    factories.BookingItemFactory(
        booking=booking, start=on(2027, 4, 1), end=on(2027, 6, 1), cancelled_at=on(2027, 1, 1)
    )
    html = staff_client.get("/admin/bookings/booking/").content.decode()
    assert f"3–7{NBSP}May{NBSP}2027" in html


def test_the_offers_list_shows_its_lines_dates(settings: Any, staff_client: Client) -> None:
    settings.TIME_ZONE = "UTC"
    offer = factories.OfferFactory()
    factories.OfferLineFactory(offer=offer, start=on(2027, 5, 28), end=on(2027, 5, 29))
    factories.OfferLineFactory(offer=offer, start=on(2027, 6, 1), end=on(2027, 6, 2))
    html = staff_client.get("/admin/offers/offer/").content.decode()
    assert f"28{NBSP}May{NBSP}– 2{NBSP}Jun{NBSP}2027" in html


def test_the_service_dates_cost_no_query_per_row(staff_client: Client) -> None:
    staff_client.get("/admin/bookings/booking/")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get("/admin/bookings/booking/").status_code == 200
        return len(captured.captured_queries)

    factories.BookingItemFactory()
    one = queries()
    for n in range(10):
        factories.BookingItemFactory(start=on(2027, 5, 1) + timedelta(days=n))
    assert queries() == one

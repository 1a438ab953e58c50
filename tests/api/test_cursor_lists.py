"""Cursor mode on the bookings, items and offers lists: a whole walk by (updated_at, id),
every row once, scoped to the caller, the same objects as the numbered pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from bookings.models import Booking, BookingItem
from offers.models import Offer
from tests import factories

pytestmark = pytest.mark.django_db


def walk(client: Any, path: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    response = client.get(path, {"cursor": "", **params})
    for _ in range(500):
        assert response.status_code == 200, response.content
        page = response.json()
        assert "count" not in page and page["previous"] is None
        rows += page["results"]
        if page["next"] is None:
            return rows
        assert "cursor=" in page["next"]
        response = client.get(page["next"])
    raise AssertionError("the walk never ended")


def _spread(model: Any, rows: list[Any]) -> None:
    """Distinct and shared update times: the id must break ties."""
    base = timezone.now() - timedelta(days=1)
    for n, row in enumerate(rows):
        model.objects.filter(pk=row.pk).update(updated_at=base + timedelta(minutes=n // 2))


def test_bookings_walk_every_row_once_in_update_order(superuser_client: Any, broker: Any) -> None:
    bookings = [factories.BookingFactory(broker=broker) for _ in range(7)]
    for booking in bookings:
        factories.BookingItemFactory(booking=booking)
    _spread(Booking, bookings)
    rows = walk(superuser_client, "/api/v1/bookings/", page_size=2)
    expected = list(
        Booking.objects.order_by("updated_at", "id").values_list("reference", flat=True)
    )
    assert [row["reference"] for row in rows] == expected
    paged = superuser_client.get("/api/v1/bookings/", {"page_size": 100}).json()["results"]
    by_ref = {row["reference"]: row for row in paged}
    assert all(row == by_ref[row["reference"]] for row in rows)  # the same objects


def test_a_broker_walks_only_its_own_bookings_without_costs(
    broker_client: Any, broker: Any, other_broker: Any
) -> None:
    mine = [factories.BookingFactory(broker=broker) for _ in range(3)]
    factories.BookingFactory(broker=other_broker)
    rows = walk(broker_client, "/api/v1/bookings/", page_size=2)
    assert {row["reference"] for row in rows} == {b.reference for b in mine}
    assert all(set(row["totals"]) == {"sell", "commission"} for row in rows)


def test_a_row_changed_during_the_walk_comes_round_again(superuser_client: Any) -> None:
    bookings = [factories.BookingFactory() for _ in range(4)]
    _spread(Booking, bookings)
    first = superuser_client.get("/api/v1/bookings/", {"cursor": "", "page_size": 2}).json()
    seen = [row["reference"] for row in first["results"]]
    Booking.objects.filter(reference=seen[0]).update(updated_at=timezone.now())
    rest = superuser_client.get(first["next"]).json()
    while rest["next"]:
        seen += [row["reference"] for row in rest["results"]]
        rest = superuser_client.get(rest["next"]).json()
    seen += [row["reference"] for row in rest["results"]]
    assert seen[-1] == seen[0] and len(seen) == 5
    assert set(seen) == {b.reference for b in bookings}


def test_items_walk_scoped_to_the_vendor(
    vendor_client: Any, vendor: Any, other_vendor: Any
) -> None:
    mine = [factories.BookingItemFactory(vendor=vendor, vendor_status="pending") for _ in range(5)]
    factories.BookingItemFactory(vendor=other_vendor, vendor_status="pending")
    _spread(BookingItem, mine)
    rows = walk(vendor_client, "/api/v1/booking-items/", page_size=2)
    expected = list(
        BookingItem.objects.filter(vendor=vendor)
        .order_by("updated_at", "id")
        .values_list("id", flat=True)
    )
    assert [row["id"] for row in rows] == expected
    assert all("unit_price" not in row for row in rows)


def test_offers_walk(superuser_client: Any, broker: Any) -> None:
    offers = [factories.OfferFactory(broker=broker) for _ in range(5)]
    _spread(Offer, offers)
    rows = walk(superuser_client, "/api/v1/offers/", page_size=3)
    expected = list(Offer.objects.order_by("updated_at", "id").values_list("reference", flat=True))
    assert [row["reference"] for row in rows] == expected


@pytest.mark.parametrize("path", ["/api/v1/bookings/", "/api/v1/booking-items/", "/api/v1/offers/"])
@pytest.mark.parametrize(
    "cursor", ["nonsense", "azEuMS4tMg", "azEueC4x", "azEuOTk5OTk5OTk5OTk5OTk5OTk5OTkuMQ"]
)
def test_a_bad_cursor_is_a_400(superuser_client: Any, path: str, cursor: str) -> None:
    response = superuser_client.get(path, {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()["fields"]


def test_a_cursor_page_costs_a_few_queries(
    superuser_client: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(30):
        factories.BookingItemFactory()
    first = superuser_client.get("/api/v1/bookings/", {"cursor": "", "page_size": 10}).json()
    with django_assert_max_num_queries(6):
        response = superuser_client.get(first["next"])
    assert len(response.json()["results"]) == 10

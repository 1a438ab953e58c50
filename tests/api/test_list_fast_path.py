"""The lists render rows without DRF's field machinery (and, on PostgreSQL, with the
items' JSON built by the database). The detail serializers define the shape: for each
object and each kind of caller, the list must render exactly what the detail renders."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from bookings.extensions import sections
from bookings.models import Booking
from tests import factories

SECTIONS = {section.name for section in sections()}

pytestmark = pytest.mark.django_db

# UTC with its offset; a fraction only when there is one, without trailing zeros.
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,5}[1-9])?\+00:00$")
# A service's time: the same, in its own zone's offset.
LOCAL_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,5}[1-9])?[+-]\d\d:\d\d$")
ZONES = ("Europe/Lisbon", "Asia/Kolkata", "America/St_Johns", "UTC", "Pacific/Chatham")


@pytest.fixture
def bookings(broker: Any, other_broker: Any, vendor: Any) -> list[Booking]:
    """A varied set: with and without broker, cancelled items, odd amounts, no items,
    microsecond and whole-second datetimes, text that needs escaping in JSON."""
    made = []
    start = timezone.now().replace(microsecond=0) + timedelta(days=10)
    for n, owner in enumerate([broker, broker, other_broker, None, broker]):
        booking = factories.BookingFactory(
            broker=owner,
            commission_rate=owner.commission_rate if owner else Decimal("0.00"),
            notes='Line one\nLine "two" \\ ünïcødé' if n == 1 else "",
            customer_phone="+351912345678" if n % 2 else "",
        )
        if n == 3:
            made.append(booking)
            continue
        factories.BookingItemFactory(
            booking=booking,
            vendor=vendor,
            vendor_status="pending",
            start=start + timedelta(days=n),
            unit_price=Decimal("0.05"),
            unit_cost=Decimal("1234567.89"),
            quantity=3,
            # Each service in its own zone (half-hour and negative offsets too); one
            # vendor late with its answer, one still in time.
            timezone=ZONES[n % len(ZONES)],
            respond_by=timezone.now() + timedelta(hours=-2 if n % 2 else 2),
        )
        factories.BookingItemFactory(booking=booking, start=start)  # whole seconds
        factories.BookingItemFactory(  # a fraction with trailing zeros
            booking=booking,
            start=start.replace(microsecond=250000),
            quantity=1,
            timezone="Europe/Lisbon",
        )
        factories.BookingItemFactory(
            booking=booking, cancelled_at=timezone.now(), description="Cancelled <b>&</b>"
        )
        made.append(booking)
    return made


def _pages(client: Any, url: str) -> list[dict[str, Any]]:
    response = client.get(url, {"page_size": 100})
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.mark.parametrize("who", ["staff", "broker"])
def test_bookings_list_renders_what_the_detail_renders(
    who: str, bookings: list[Booking], superuser_client: Any, broker_client: Any
) -> None:
    client = superuser_client if who == "staff" else broker_client
    listed = _pages(client, "/api/v1/bookings/")
    assert len(listed) == (5 if who == "staff" else 3)
    for row in listed:
        detail = client.get(f"/api/v1/bookings/{row['reference']}/")
        assert detail.status_code == 200
        # Sections other apps add (a booking's money) are in the detail only: the
        # list stays one query per page.
        document = {k: v for k, v in detail.json().items() if k not in SECTIONS}
        assert row == document
    # The set really exercises what it claims to.
    assert any(i["cancelled_at"] for row in listed for i in row["items"])
    assert any(".25+" in i["start"] for row in listed for i in row["items"])
    assert any(i["start"].endswith("+05:30") for row in listed for i in row["items"])
    assert any(i["start"][-6] == "-" for row in listed for i in row["items"]) == (who == "staff")
    if who == "staff":
        flags = [i["overdue"] for row in listed for i in row["items"]]
        assert True in flags and False in flags
    assert any(not row["items"] for row in listed) == (who == "staff")


@pytest.mark.parametrize("who", ["staff", "broker", "vendor"])
def test_items_list_renders_what_the_detail_renders(
    who: str,
    bookings: list[Booking],
    superuser_client: Any,
    broker_client: Any,
    vendor_client: Any,
) -> None:
    client = {"staff": superuser_client, "broker": broker_client, "vendor": vendor_client}[who]
    listed = _pages(client, "/api/v1/booking-items/")
    assert len(listed) == {"staff": 16, "broker": 12, "vendor": 4}[who]
    for row in listed:
        detail = client.get(f"/api/v1/booking-items/{row['id']}/")
        assert detail.status_code == 200
        # Sections other apps add (a booking's money) are in the detail only: the
        # list stays one query per page.
        document = {k: v for k, v in detail.json().items() if k not in SECTIONS}
        assert row == document


@pytest.mark.parametrize("who", ["staff", "broker"])
def test_nested_items_render_what_the_item_detail_renders(
    who: str, bookings: list[Booking], superuser_client: Any, broker_client: Any
) -> None:
    client = superuser_client if who == "staff" else broker_client
    for row in _pages(client, "/api/v1/bookings/"):
        for item in row["items"]:
            detail = client.get(f"/api/v1/booking-items/{item['id']}/").json()
            # The item's own resource adds the caller's actions; nested items do not.
            assert isinstance(detail.pop("actions"), list)
            assert item == detail


def test_field_sets_per_caller(
    bookings: list[Booking], superuser_client: Any, broker_client: Any, vendor_client: Any
) -> None:
    staff = _pages(superuser_client, "/api/v1/bookings/")[0]
    broker = _pages(broker_client, "/api/v1/bookings/")[0]
    vendor_item = _pages(vendor_client, "/api/v1/booking-items/")[0]
    assert set(staff["totals"]) == {"sell", "cost", "margin", "commission"}
    assert set(broker["totals"]) == {"sell", "commission"}
    assert {"unit_cost", "vendor", "decline_reason"}.isdisjoint(broker["items"][0])
    assert "unit_price" in broker["items"][0]
    assert {"unit_price", "commission", "totals"}.isdisjoint(vendor_item)
    assert "unit_cost" in vendor_item


def test_datetimes_and_money_formats(bookings: list[Booking], superuser_client: Any) -> None:
    for row in _pages(superuser_client, "/api/v1/bookings/"):
        assert ISO.match(row["created_at"]), row["created_at"]
        for item in row["items"]:
            # The service's times (its deadlines too) in the offset of the item's own
            # zone at that instant; what was done here in UTC.
            for name in ("start", "end", "respond_by", "confirm_by"):
                if item[name] is None:
                    continue
                assert LOCAL_ISO.match(item[name]), item[name]
                moment = datetime.fromisoformat(item[name])
                expected = moment.astimezone(ZoneInfo(item["timezone"])).utcoffset()
                assert moment.utcoffset() == expected, (name, item)
            assert ISO.match(item["updated_at"]), item["updated_at"]
            assert Decimal(item["unit_price"]).as_tuple().exponent == -2
        for value in row["totals"].values():
            assert isinstance(value, str)
            assert Decimal(value).as_tuple().exponent == -2

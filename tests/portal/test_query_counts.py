"""Portal list pages cost the same number of queries for 1 row or many (no N+1)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings import services as bs
from core.domain import Actor
from offers import services as os_
from tests.portal.conftest import World, line, when


def queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(captured)


def add_rows(world: World, staff: Actor, count: int) -> None:
    """``count`` more bookings for the broker, each with two items for the vendor, one
    accepted and one confirmed (two answers in its history), and ``count`` more offers."""
    for n in range(count):
        booking = bs.booking_create(
            actor=staff,
            broker=world.broker,
            customer_name=f"Guest {n}",
            items=[line(vendor=world.vendor), line(vendor=world.vendor, quantity=3)],
        )
        bs.booking_submit(booking=booking, actor=staff)  # the vendor is asked now
        first, second = booking.items.order_by("id")
        bs.item_accept(item=first, actor=staff)
        bs.item_accept(item=second, actor=staff)
        bs.item_confirm(item=second, actor=staff, vendor_reference=f"R-{n}")
        offer = os_.offer_create(
            actor=staff,
            broker=world.broker,
            valid_until=when(5),
            lines=[line(description=f"Line {i}") for i in range(3)],
        )
        os_.offer_send(offer=offer, actor=staff)


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("vendor", reverse("portal:dashboard")),
        ("vendor", reverse("portal:items") + "?show=all"),
        ("vendor", reverse("portal:history")),
        ("broker", reverse("portal:dashboard")),
        ("broker", reverse("portal:offers") + "?show=all"),
        ("broker", reverse("portal:bookings")),
    ],
)
def test_list_pages_do_not_query_per_row(
    who: str,
    path: str,
    world: World,
    superuser: Any,
    vendor_client: Client,
    broker_client: Client,
) -> None:
    client = vendor_client if who == "vendor" else broker_client
    staff = Actor(user=superuser, via="admin")
    add_rows(world, staff, 1)
    few = queries(client, path)
    add_rows(world, staff, 4)
    assert queries(client, path) == few


def test_detail_pages_do_not_query_per_line(
    world: World, superuser: Any, broker_client: Client
) -> None:
    staff = Actor(user=superuser, via="admin")
    booking_path = reverse("portal:booking-detail", args=[world.booking.reference])
    offer = os_.offer_create(actor=staff, broker=world.broker, valid_until=when(5), lines=[line()])
    os_.offer_send(offer=offer, actor=staff)
    offer_path = reverse("portal:offer-detail", args=[offer.reference])
    few = (queries(broker_client, booking_path), queries(broker_client, offer_path))
    for n in range(5):
        bs.item_add(booking=world.booking, actor=staff, **line(description=f"Extra {n}"))
    more_lines = [line(description=f"Line {n}") for n in range(5)]
    for data in more_lines:
        offer.lines.create(**data)
    assert (queries(broker_client, booking_path), queries(broker_client, offer_path)) == few

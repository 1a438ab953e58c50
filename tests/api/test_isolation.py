"""Another partner's object is a 404 with nothing changed: every detail endpoint and
action of bookings, booking items and offers, called with another broker's or another
vendor's key. The database, the audit log and the outbox stay exactly as they were."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from bookings.models import Booking, BookingItem
from core.models import AuditEntry
from notifications.models import Notification
from offers.models import Offer, OfferLine
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(broker: Any, vendor: Any, other_vendor: Any) -> dict[str, Any]:
    booking = factories.BookingFactory(broker=broker, commission_rate=broker.commission_rate)
    item = factories.BookingItemFactory(booking=booking, vendor=vendor, vendor_status="pending")
    factories.BookingItemFactory(booking=booking)
    offer = factories.OfferFactory(broker=broker, status=Offer.Status.SENT)
    factories.OfferLineFactory(offer=offer)
    return {"booking": booking, "item": item, "offer": offer, "other_vendor": other_vendor}


def snapshot() -> tuple[Any, ...]:
    return (
        list(Booking.objects.order_by("pk").values()),
        list(BookingItem.objects.order_by("pk").values()),
        list(Offer.objects.order_by("pk").values()),
        list(OfferLine.objects.order_by("pk").values()),
        AuditEntry.objects.count(),
        Notification.objects.count(),
    )


def _when() -> dict[str, str]:
    start = timezone.now() + timedelta(days=5)
    return {"start": start.isoformat(), "end": (start + timedelta(days=1)).isoformat()}


def booking_calls(w: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    url = f"/api/v1/bookings/{w['booking'].reference}/"
    item = {
        "service_type": "other",
        "description": "x",
        "quantity": 1,
        "unit_price": "1.00",
        "unit_cost": "1.00",
        **_when(),
    }
    return [
        ("get", url, None),
        ("patch", url, {"notes": "hijacked"}),
        ("post", f"{url}submit/", {}),
        ("post", f"{url}approve/", {}),
        ("post", f"{url}cancel/", {"reason": "hijacked"}),
        ("get", f"{url}items/", None),
        ("post", f"{url}items/", item),
    ]


def item_calls(w: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    url = f"/api/v1/booking-items/{w['item'].pk}/"
    return [
        ("get", url, None),
        ("patch", url, {"description": "hijacked"}),
        ("post", f"{url}assign-vendor/", {"vendor": w["other_vendor"].pk}),
        ("post", f"{url}accept/", {}),
        ("post", f"{url}decline/", {"reason": "hijacked"}),
        ("post", f"{url}confirm/", {"vendor_reference": "hijacked"}),
    ]


def offer_calls(w: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    url = f"/api/v1/offers/{w['offer'].reference}/"
    return [
        ("get", url, None),
        ("patch", url, {"notes": "hijacked"}),
        ("post", f"{url}send/", {}),
        ("post", f"{url}accept/", {}),
        ("post", f"{url}decline/", {"reason": "hijacked"}),
        ("post", f"{url}withdraw/", {}),
    ]


# Who calls, and which resources are none of theirs. The assigned vendor itself sees its
# item but no booking or offer.
MATRIX = [
    ("other_broker_client", booking_calls),
    ("other_broker_client", item_calls),
    ("other_broker_client", offer_calls),
    ("other_vendor_client", booking_calls),
    ("other_vendor_client", item_calls),
    ("other_vendor_client", offer_calls),
    ("vendor_client", booking_calls),
    ("vendor_client", offer_calls),
]


@pytest.mark.parametrize(("caller", "calls"), MATRIX)
def test_other_partners_objects_are_404_and_untouched(
    caller: str, calls: Any, world: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    client = request.getfixturevalue(caller)
    before = snapshot()
    for method, url, data in calls(world):
        response = getattr(client, method)(url, data, format="json")
        assert response.status_code == 404, (method, url, response.status_code, response.content)
        assert response.json() == {"detail": "Not found.", "code": "not_found"}
        assert b"hijacked" not in response.content
    assert snapshot() == before


@pytest.mark.parametrize(
    ("caller", "url"),
    [
        ("other_broker_client", "/api/v1/bookings/"),
        ("other_broker_client", "/api/v1/booking-items/"),
        ("other_broker_client", "/api/v1/offers/"),
        ("other_vendor_client", "/api/v1/booking-items/"),
        ("vendor_client", "/api/v1/bookings/"),
        ("vendor_client", "/api/v1/offers/"),
    ],
)
def test_other_partners_objects_are_not_listed(
    caller: str, url: str, world: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    client = request.getfixturevalue(caller)
    broker_id = world["booking"].broker_id
    # Filters cannot widen what a partner sees either.
    response = client.get(url, {"broker": broker_id, "page_size": 100})
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_the_owners_see_them(world: dict[str, Any], broker_client: Any, vendor_client: Any) -> None:
    """The same calls the matrix refuses do reach the owners (the 404s are not an accident)."""
    booking, item, offer = world["booking"], world["item"], world["offer"]
    assert broker_client.get(f"/api/v1/bookings/{booking.reference}/").status_code == 200
    assert broker_client.get(f"/api/v1/booking-items/{item.pk}/").status_code == 200
    assert broker_client.get(f"/api/v1/offers/{offer.reference}/").status_code == 200
    assert vendor_client.get(f"/api/v1/booking-items/{item.pk}/").status_code == 200

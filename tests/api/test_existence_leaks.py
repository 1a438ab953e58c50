"""A broker naming another partner's id learns nothing: the answer is the one a missing
id gets, word for word (only the id it named differs)."""

from __future__ import annotations

from typing import Any

import pytest

from bookings.models import Booking, BookingItem
from tests import factories
from tests.api.test_bookings import item_payload

pytestmark = pytest.mark.django_db

URL = "/api/v1/bookings/"
MISSING = 987654


def _answer(response: Any, named: int) -> tuple[int, str]:
    return response.status_code, response.content.decode().replace(str(named), "<id>")


def test_another_brokers_id_answers_as_a_missing_one(broker_client: Any, other_broker: Any) -> None:
    other = broker_client.post(
        URL, {"customer_name": "Rui", "broker": other_broker.pk}, format="json"
    )
    missing = broker_client.post(URL, {"customer_name": "Rui", "broker": MISSING}, format="json")
    assert _answer(other, other_broker.pk) == _answer(missing, MISSING)
    assert other.status_code == 400 and "broker" in other.json()["fields"]
    assert not Booking.objects.exists()


def test_moving_a_booking_to_another_broker_answers_as_a_missing_one(
    broker_client: Any, broker: Any, other_broker: Any
) -> None:
    booking = factories.BookingFactory(broker=broker)
    url = f"{URL}{booking.reference}/"
    other = broker_client.patch(url, {"broker": other_broker.pk}, format="json")
    missing = broker_client.patch(url, {"broker": MISSING}, format="json")
    assert _answer(other, other_broker.pk) == _answer(missing, MISSING)
    assert other.status_code == 400
    booking.refresh_from_db()
    assert booking.broker == broker


def test_an_existing_vendor_id_answers_as_a_missing_one(broker_client: Any, vendor: Any) -> None:
    def create(vendor_id: int) -> Any:
        body = {"customer_name": "Rui", "items": [item_payload(vendor=vendor_id)]}
        return broker_client.post(URL, body, format="json")

    existing, missing = create(vendor.pk), create(MISSING)
    assert _answer(existing, vendor.pk) == _answer(missing, MISSING)
    assert existing.status_code == 400
    assert not Booking.objects.exists()


def test_adding_an_item_with_a_vendor_answers_as_a_missing_one(
    broker_client: Any, broker: Any, vendor: Any
) -> None:
    booking = factories.BookingFactory(broker=broker)
    url = f"{URL}{booking.reference}/items/"
    existing = broker_client.post(url, item_payload(vendor=vendor.pk), format="json")
    missing = broker_client.post(url, item_payload(vendor=MISSING), format="json")
    assert _answer(existing, vendor.pk) == _answer(missing, MISSING)
    assert existing.status_code == 400
    assert not BookingItem.objects.exists()


def test_staff_still_name_any_broker_and_vendor(
    superuser_client: Any, other_broker: Any, vendor: Any
) -> None:
    body = {"customer_name": "Rui", "broker": other_broker.pk, "items": [item_payload()]}
    response = superuser_client.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    reference = response.json()["reference"]
    item = superuser_client.post(
        f"{URL}{reference}/items/", item_payload(vendor=vendor.pk), format="json"
    )
    assert item.status_code == 201, item.content

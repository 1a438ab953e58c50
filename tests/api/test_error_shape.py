"""One error shape on every error path ({detail, code} and, for refused input, fields),
unknown query parameters refused by name, and a Location on every 201."""

from __future__ import annotations

from typing import Any

import pytest

from bookings.models import Booking
from partners.models import Vendor
from tests import factories
from tests.api.conftest import key_client
from tests.api.test_bookings import _when, item_payload

pytestmark = pytest.mark.django_db


def assert_shape(response: Any, status: int, *, fields: bool = False) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["code"]
    assert ("fields" in body) is fields
    return body


def test_every_error_path_has_detail_and_code(superuser_client: Any, make_key: Any) -> None:
    client = superuser_client
    # 400: refused input, with messages per field
    body = assert_shape(client.post("/api/v1/bookings/", {}, format="json"), 400, fields=True)
    assert body["fields"]["customer_name"] == ["This field is required."]
    assert body["detail"] == "customer_name: This field is required."
    # 401: no key, and a wrong key
    assert_shape(key_client().get("/api/v1/bookings/"), 401)
    assert_shape(key_client("bk_nope_nope").get("/api/v1/bookings/"), 401)
    # 403: a staff key without the permission
    _, raw = make_key(user=factories.StaffFactory())
    assert_shape(key_client(raw).get("/api/v1/bookings/"), 403)
    # 404: an unknown object, and an unknown path
    assert_shape(client.get("/api/v1/bookings/BK-NOPE00/"), 404)
    assert_shape(client.get("/api/v1/nowhere/"), 404)
    # 405, 415
    assert_shape(client.delete("/api/v1/bookings/"), 405)
    response = client.post("/api/v1/bookings/", "x=1", content_type="text/plain")
    assert_shape(response, 415)
    # 409: a transition the booking's state refuses
    booking = factories.BookingFactory()
    assert_shape(client.post(f"/api/v1/bookings/{booking.reference}/approve/"), 409)


def test_malformed_json_is_400_in_the_shape(superuser_client: Any) -> None:
    response = superuser_client.post(
        "/api/v1/bookings/", "{not json", content_type="application/json"
    )
    assert assert_shape(response, 400)["code"] == "parse_error"


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/v1/bookings/", "q"),
        ("/api/v1/bookings/", "statuss"),
        ("/api/v1/booking-items/", "search"),
        ("/api/v1/vendors/", "nme"),
        ("/api/v1/offers/", "q"),
        ("/api/v1/notifications/", "q"),
    ],
)
def test_unknown_query_parameter_is_400_naming_the_accepted_ones(
    superuser_client: Any, url: str, param: str
) -> None:
    response = superuser_client.get(url, {param: "x"})
    body = assert_shape(response, 400, fields=True)
    message = body["fields"][param][0]
    assert message.startswith("Not a query parameter here. Accepted: ")
    assert "page_size" in message and "ordering" in message


def test_known_filters_and_range_suffixes_are_accepted(superuser_client: Any) -> None:
    factories.BookingFactory(status="draft")
    response = superuser_client.get(
        "/api/v1/bookings/",
        {"status": "draft", "updated_since": "2020-01-01T00:00:00Z", "page": 1, "page_size": 5},
    )
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 1


def test_a_detail_page_takes_no_query_parameters(superuser_client: Any) -> None:
    booking = factories.BookingFactory()
    response = superuser_client.get(f"/api/v1/bookings/{booking.reference}/", {"page": 2})
    body = assert_shape(response, 400, fields=True)
    assert body["fields"]["page"] == ["Not a query parameter here. Accepted: none."]


def test_every_201_carries_location(superuser_client: Any, vendor: Any, broker: Any) -> None:
    client = superuser_client
    response = client.post(
        "/api/v1/bookings/", {"customer_name": "Ana", "items": [item_payload()]}, format="json"
    )
    assert response.status_code == 201
    reference = response.json()["reference"]
    assert response["Location"] == f"http://testserver/api/v1/bookings/{reference}/"
    assert client.get(response["Location"]).json()["reference"] == reference

    response = client.post(f"/api/v1/bookings/{reference}/items/", item_payload(), format="json")
    assert response.status_code == 201
    item_id = response.json()["id"]
    assert response["Location"] == f"http://testserver/api/v1/booking-items/{item_id}/"
    assert client.get(response["Location"]).status_code == 200

    response = client.post(
        "/api/v1/vendors/", {"name": "Tejo Boats", "email": "t@example.com"}, format="json"
    )
    assert response.status_code == 201
    new_vendor = Vendor.objects.get(name="Tejo Boats")
    assert response["Location"] == f"http://testserver/api/v1/vendors/{new_vendor.pk}/"

    response = client.post(
        "/api/v1/brokers/", {"name": "Fjord AS", "email": "f@example.com"}, format="json"
    )
    assert response.status_code == 201
    assert client.get(response["Location"]).json()["name"] == "Fjord AS"

    response = client.post(f"/api/v1/vendors/{vendor.pk}/invite/", {}, format="json")
    assert response.status_code == 201
    assert response["Location"] == f"http://testserver/api/v1/vendors/{vendor.pk}/"

    valid_until = _when(20)[0][:10]
    response = client.post(
        "/api/v1/offers/",
        {
            "broker": broker.pk,
            "valid_until": valid_until,
            "lines": [{k: v for k, v in item_payload().items() if k != "vendor"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    offer = response.json()["reference"]
    assert response["Location"] == f"http://testserver/api/v1/offers/{offer}/"
    assert Booking.objects.filter(reference=reference).exists()

"""booking-items/: list, retrieve, partial update, assign-vendor, accept, decline, confirm."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from bookings.models import Booking, BookingItem
from core.models import AuditEntry
from notifications.models import Notification
from tests import factories
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/booking-items/"


@pytest.fixture
def agent_client(make_key: Any, agent: Any) -> Any:
    _, raw = make_key(user=agent)
    return key_client(raw)


def make_item(vendor: Any = None, answer: str = "", **booking_fields: Any) -> BookingItem:
    booking = factories.BookingFactory(**booking_fields)
    status = answer or ("pending" if vendor is not None else "unassigned")
    return factories.BookingItemFactory(booking=booking, vendor=vendor, vendor_status=status)


# --- list and retrieve ---------------------------------------------------------------


def test_vendor_lists_only_its_items(vendor_client: Any, vendor: Any, other_vendor: Any) -> None:
    mine = make_item(vendor)
    make_item(other_vendor)
    make_item()
    body = vendor_client.get(URL).json()
    assert [i["id"] for i in body["results"]] == [mine.pk]
    assert "unit_price" not in body["results"][0]
    assert body["results"][0]["unit_cost"] == "100.00"


def test_list_filters(agent_client: Any, vendor: Any) -> None:
    pending = make_item(vendor)
    accepted = make_item(vendor, "accepted")
    later = make_item()
    later.start = timezone.now() + timedelta(days=90)
    later.end = later.start + timedelta(days=1)
    later.save()

    def ids(**params: Any) -> set[int]:
        response = agent_client.get(URL, params)
        assert response.status_code == 200, response.content
        return {i["id"] for i in response.json()["results"]}

    assert ids(vendor_status="pending") == {pending.pk}
    assert ids(vendor_status=["pending", "accepted"]) == {pending.pk, accepted.pk}
    assert ids(vendor=vendor.pk) == {pending.pk, accepted.pk}
    cut = (timezone.now() + timedelta(days=60)).isoformat()
    assert ids(start_after=cut) == {later.pk}
    assert ids(start_before=cut) == {pending.pk, accepted.pk}
    assert ids(booking=pending.booking.reference) == {pending.pk}
    assert ids(updated_since=(timezone.now() + timedelta(minutes=5)).isoformat()) == set()
    assert agent_client.get(URL, {"vendor_status": "bogus"}).status_code == 400
    assert agent_client.get(URL, {"start_after": "soon"}).status_code == 400


def test_list_ordering(agent_client: Any) -> None:
    first, second = make_item(), make_item()
    ids = [i["id"] for i in agent_client.get(URL, {"ordering": "-id"}).json()["results"]]
    assert ids == [second.pk, first.pk]


def test_vendor_filter_on_vendor_key_cannot_widen(
    vendor_client: Any, vendor: Any, other_vendor: Any
) -> None:
    mine = make_item(vendor)
    make_item(other_vendor)
    body = vendor_client.get(URL, {"vendor": other_vendor.pk}).json()
    assert [i["id"] for i in body["results"]] == [mine.pk]


def test_retrieve(agent_client: Any, vendor: Any) -> None:
    item = make_item(vendor)
    body = agent_client.get(f"{URL}{item.pk}/").json()
    assert body["id"] == item.pk
    assert body["booking"] == item.booking.reference
    assert body["vendor"] == vendor.pk
    assert body["vendor_status"] == "pending"


def test_retrieve_unknown_is_404(agent_client: Any) -> None:
    assert agent_client.get(f"{URL}999999/").status_code == 404


def test_retrieve_without_view_permission_is_403(staff_client: Any) -> None:
    item = make_item()
    client = staff_client(["bookings.view_booking"])
    assert client.get(f"{URL}{item.pk}/").status_code == 403


# --- partial update --------------------------------------------------------------------


def test_partial_update(agent_client: Any) -> None:
    item = make_item()
    response = agent_client.patch(
        f"{URL}{item.pk}/", {"description": "Suite", "quantity": 3}, format="json"
    )
    assert response.status_code == 200, response.content
    item.refresh_from_db()
    assert (item.description, item.quantity) == ("Suite", 3)


def test_partial_update_bad_input_is_400(agent_client: Any) -> None:
    item = make_item()
    response = agent_client.patch(
        f"{URL}{item.pk}/",
        {"quantity": 0, "end": (item.start - timedelta(days=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert "quantity" in response.json()["fields"]


def test_partial_update_end_before_start_is_400(agent_client: Any) -> None:
    item = make_item()
    response = agent_client.patch(
        f"{URL}{item.pk}/", {"end": (item.start - timedelta(days=1)).isoformat()}, format="json"
    )
    assert response.status_code == 400
    assert "end" in response.json()["fields"]


def test_partial_update_confirmed_item_is_409(agent_client: Any, vendor: Any) -> None:
    item = make_item(vendor, "confirmed")
    response = agent_client.patch(f"{URL}{item.pk}/", {"description": "x"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_partial_update_without_permission_is_403(staff_client: Any) -> None:
    item = make_item()
    client = staff_client(["bookings.view_bookingitem"])
    response = client.patch(f"{URL}{item.pk}/", {"description": "x"}, format="json")
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.description == "Double room, sea view"


def test_vendor_cannot_edit_its_item(vendor_client: Any, vendor: Any) -> None:
    item = make_item(vendor)
    response = vendor_client.patch(f"{URL}{item.pk}/", {"description": "x"}, format="json")
    assert response.status_code == 403


# --- assign-vendor ---------------------------------------------------------------------


def test_assign_vendor(agent_client: Any, vendor: Any) -> None:
    item = make_item(status="pending_approval")
    response = agent_client.post(f"{URL}{item.pk}/assign-vendor/", {"vendor": vendor.pk})
    assert response.status_code == 200, response.content
    assert response.json()["vendor_status"] == "pending"
    assert Notification.objects.filter(kind="item_assigned").exists()


def test_assign_unknown_vendor_is_400(agent_client: Any) -> None:
    item = make_item()
    response = agent_client.post(f"{URL}{item.pk}/assign-vendor/", {"vendor": 999999})
    assert response.status_code == 400
    assert "vendor" in response.json()["fields"]


def test_assign_inactive_vendor_is_400(agent_client: Any) -> None:
    item = make_item()
    inactive = factories.VendorFactory(is_active=False)
    response = agent_client.post(f"{URL}{item.pk}/assign-vendor/", {"vendor": inactive.pk})
    assert response.status_code == 400
    assert "vendor" in response.json()["fields"]


def test_assign_same_vendor_again_is_409(agent_client: Any, vendor: Any) -> None:
    item = make_item(vendor, status="pending_approval")
    response = agent_client.post(f"{URL}{item.pk}/assign-vendor/", {"vendor": vendor.pk})
    assert response.status_code == 409


def test_assign_without_permission_is_403(staff_client: Any, vendor: Any) -> None:
    item = make_item()
    client = staff_client(["bookings.view_bookingitem"])
    response = client.post(f"{URL}{item.pk}/assign-vendor/", {"vendor": vendor.pk})
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.vendor_id is None


def test_vendor_cannot_assign(vendor_client: Any, vendor: Any, other_vendor: Any) -> None:
    item = make_item(vendor)
    response = vendor_client.post(f"{URL}{item.pk}/assign-vendor/", {"vendor": other_vendor.pk})
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.vendor_id == vendor.pk


# --- accept, decline, confirm ------------------------------------------------------------


def test_vendor_accepts_and_confirms(vendor_client: Any, vendor: Any) -> None:
    item = make_item(vendor)
    response = vendor_client.post(f"{URL}{item.pk}/accept/")
    assert response.status_code == 200
    assert response.json()["vendor_status"] == "accepted"
    response = vendor_client.post(f"{URL}{item.pk}/confirm/", {"vendor_reference": "H-123"})
    assert response.status_code == 200
    assert response.json()["vendor_status"] == "confirmed"
    assert response.json()["vendor_reference"] == "H-123"


def test_accept_twice_is_409(vendor_client: Any, vendor: Any) -> None:
    item = make_item(vendor, "accepted")
    response = vendor_client.post(f"{URL}{item.pk}/accept/")
    assert response.status_code == 409
    assert set(response.json()) == {"detail", "code"}


def test_confirm_needs_a_reference(vendor_client: Any, vendor: Any) -> None:
    item = make_item(vendor, "accepted")
    response = vendor_client.post(f"{URL}{item.pk}/confirm/", {"vendor_reference": ""})
    assert response.status_code == 400
    assert "vendor_reference" in response.json()["fields"]
    response = vendor_client.post(f"{URL}{item.pk}/confirm/", {"vendor_reference": "x" * 101})
    assert response.status_code == 400
    item.refresh_from_db()
    assert item.vendor_status == "accepted"


def test_confirm_pending_item_is_409(vendor_client: Any, vendor: Any) -> None:
    item = make_item(vendor)
    response = vendor_client.post(f"{URL}{item.pk}/confirm/", {"vendor_reference": "R1"})
    assert response.status_code == 409


def test_vendor_declines_with_reason(vendor_client: Any, vendor: Any) -> None:
    item = make_item(vendor)
    assert vendor_client.post(f"{URL}{item.pk}/decline/", {}).status_code == 400
    response = vendor_client.post(f"{URL}{item.pk}/decline/", {"reason": "Fully booked"})
    assert response.status_code == 200
    assert response.json()["vendor_status"] == "declined"
    assert response.json()["decline_reason"] == "Fully booked"
    assert AuditEntry.objects.filter(action="declined", object_id=item.pk).count() == 1


def test_decline_accepted_item_is_409(vendor_client: Any, vendor: Any) -> None:
    item = make_item(vendor, "accepted")
    assert vendor_client.post(f"{URL}{item.pk}/decline/", {"reason": "x"}).status_code == 409


def test_staff_accepts_on_vendors_behalf(agent_client: Any, vendor: Any) -> None:
    item = make_item(vendor)
    assert agent_client.post(f"{URL}{item.pk}/accept/").status_code == 200


def test_accept_without_permission_is_403(staff_client: Any, vendor: Any) -> None:
    item = make_item(vendor)
    client = staff_client(["bookings.view_bookingitem"])
    assert client.post(f"{URL}{item.pk}/accept/").status_code == 403
    item.refresh_from_db()
    assert item.vendor_status == "pending"


def test_broker_cannot_answer_for_vendor(broker_client: Any, broker: Any, vendor: Any) -> None:
    item = make_item(vendor, broker=broker)
    assert broker_client.post(f"{URL}{item.pk}/accept/").status_code == 403
    item.refresh_from_db()
    assert item.vendor_status == "pending"


def test_last_confirmation_confirms_the_approved_booking(vendor_client: Any, vendor: Any) -> None:
    item = make_item(vendor, "accepted", status=Booking.Status.APPROVED)
    response = vendor_client.post(f"{URL}{item.pk}/confirm/", {"vendor_reference": "OK-1"})
    assert response.status_code == 200
    item.booking.refresh_from_db()
    assert item.booking.status == "confirmed"


@pytest.mark.parametrize(
    ("action", "answer", "data"),
    [
        ("accept", "pending", {}),
        ("decline", "pending", {"reason": "Full"}),
        ("confirm", "accepted", {"vendor_reference": "R-1"}),
    ],
)
def test_answers_need_the_staff_permission(
    staff_client: Any, vendor: Any, action: str, answer: str, data: dict
) -> None:
    item = make_item(vendor, answer)
    client = staff_client(["bookings.view_bookingitem"])
    audited = AuditEntry.objects.count()
    response = client.post(f"{URL}{item.pk}/{action}/", data)
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.vendor_status == answer
    assert AuditEntry.objects.count() == audited

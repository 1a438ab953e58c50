"""bookings/ by reference: list, create, retrieve, partial update, submit, approve, cancel,
and bookings/{reference}/items/."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from bookings.models import Booking, BookingItem
from core.models import AuditEntry
from tests import factories
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/bookings/"


def _when(days: int = 30) -> tuple[str, str]:
    start = timezone.now().replace(microsecond=0) + timedelta(days=days)
    return start.isoformat(), (start + timedelta(days=2)).isoformat()


def item_payload(**overrides: Any) -> dict[str, Any]:
    start, end = _when()
    return {
        "service_type": "accommodation",
        "description": "Double room",
        "start": start,
        "end": end,
        "quantity": 2,
        "unit_price": "150.00",
        "unit_cost": "100.00",
        **overrides,
    }


@pytest.fixture
def agent_client(make_key: Any, agent: Any) -> Any:
    _, raw = make_key(user=agent)
    return key_client(raw)


@pytest.fixture
def approver_client(make_key: Any, approver: Any) -> Any:
    _, raw = make_key(user=approver)
    return key_client(raw)


def make_booking(broker: Any = None, *, items: int = 1, **fields: Any) -> Booking:
    booking = factories.BookingFactory(broker=broker, **fields)
    if broker is not None and "commission_rate" not in fields:
        booking.commission_rate = broker.commission_rate
        booking.save(update_fields=["commission_rate"])
    for _ in range(items):
        factories.BookingItemFactory(booking=booking)
    return booking


# --- create ------------------------------------------------------------------------


def test_staff_creates_booking_with_items(agent_client: Any, broker: Any, vendor: Any) -> None:
    response = agent_client.post(
        URL,
        {
            "broker": broker.pk,
            "customer_name": "Ana Silva",
            "customer_email": "ana@example.com",
            "customer_phone": "+351912345678",
            "currency": "EUR",
            "items": [item_payload(), item_payload(vendor=vendor.pk, quantity=1)],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    booking = Booking.objects.get(reference=body["reference"])
    assert booking.source == Booking.Source.API
    assert body["status"] == "draft"
    assert body["broker"] == broker.pk
    # A vendor given for an item of a draft is recorded; it is asked on submission.
    assert [i["vendor_status"] for i in body["items"]] == ["unassigned", "unassigned"]
    assert body["items"][1]["vendor"] == vendor.pk
    assert body["totals"] == {
        "sell": "450.00",
        "cost": "300.00",
        "margin": "150.00",
        "commission": "45.00",
    }
    assert body["created_at"].endswith("+00:00")


def test_create_rejects_bad_input_with_field_messages(agent_client: Any) -> None:
    start, _ = _when()
    response = agent_client.post(
        URL,
        {
            "customer_email": "not-an-email",
            "currency": "XXX",
            "customer_phone": "0912",
            "items": [item_payload(end=start, start=_when(40)[0], unit_price="-1")],
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    # Shapes are all reported at once; the item's dates and price are the service's to
    # refuse, once the shapes are right (test_create_item_end_before_start_is_400).
    assert body["code"] == "invalid"
    assert set(body["fields"]) >= {"customer_name", "customer_email", "currency", "customer_phone"}
    assert Booking.objects.count() == 0


def test_create_item_end_before_start_is_400(agent_client: Any) -> None:
    start, _ = _when()
    response = agent_client.post(
        URL,
        {"customer_name": "X", "items": [item_payload(start=start, end=_when(10)[0])]},
        format="json",
    )
    assert response.status_code == 400
    # The service's words, as the portal and the admin say them, naming the item.
    assert response.json()["fields"] == {"end": ["Item 1: The end is before the start."]}
    assert not Booking.objects.exists()


def test_staff_without_add_permission_gets_403(staff_client: Any) -> None:
    client = staff_client(["bookings.view_booking"])
    response = client.post(URL, {"customer_name": "X"}, format="json")
    assert response.status_code == 403
    assert Booking.objects.count() == 0


def broker_item_payload(**overrides: Any) -> dict[str, Any]:
    payload = item_payload(**overrides)
    del payload["unit_price"], payload["unit_cost"]
    return payload


def test_broker_creates_booking_for_itself_without_costs(broker_client: Any, broker: Any) -> None:
    response = broker_client.post(
        URL, {"customer_name": "Rui", "items": [broker_item_payload()]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["broker"] == broker.pk
    assert set(body["totals"]) == {"sell", "commission"}
    assert "unit_cost" not in body["items"][0]
    assert "vendor" not in body["items"][0]
    assert BookingItem.objects.get().unit_cost == 0
    priced = broker_client.post(
        URL, {"customer_name": "Rui", "items": [item_payload(unit_cost="99.00")]}, format="json"
    )
    assert priced.status_code == 400
    assert "Prices are ours to fill in" in priced.json()["fields"]["unit_price"][0]
    assert BookingItem.objects.count() == 1


def test_broker_cannot_book_for_another_broker(broker_client: Any, other_broker: Any) -> None:
    response = broker_client.post(
        URL, {"customer_name": "Rui", "broker": other_broker.pk}, format="json"
    )
    assert response.status_code == 400
    assert "broker" in response.json()["fields"]
    assert Booking.objects.count() == 0


def test_vendor_cannot_create_bookings(vendor_client: Any) -> None:
    response = vendor_client.post(URL, {"customer_name": "X"}, format="json")
    assert response.status_code == 403
    assert Booking.objects.count() == 0


def test_anonymous_is_401(anon_client: Any) -> None:
    assert anon_client.get(URL).status_code == 401


# --- list and retrieve -------------------------------------------------------------


def test_list_is_paginated_with_items_and_totals(agent_client: Any, broker: Any) -> None:
    for _ in range(3):
        make_booking(broker, items=2)
    response = agent_client.get(URL, {"page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] is not None and body["previous"] is None
    first = body["results"][0]
    assert len(first["items"]) == 2
    assert first["totals"]["sell"] == "600.00"
    assert first["totals"]["commission"] == "60.00"


def test_list_filters(agent_client: Any, broker: Any, other_broker: Any, vendor: Any) -> None:
    mine = make_booking(broker)
    other = make_booking(other_broker)
    other.status = Booking.Status.PENDING_APPROVAL
    other.save(update_fields=["status"])
    factories.BookingItemFactory(booking=mine, vendor=vendor, vendor_status="pending")

    def refs(**params: Any) -> set[str]:
        response = agent_client.get(URL, params)
        assert response.status_code == 200, response.content
        return {b["reference"] for b in response.json()["results"]}

    assert refs(broker=broker.pk) == {mine.reference}
    assert refs(status="pending_approval") == {other.reference}
    assert refs(status=["draft", "pending_approval"]) == {mine.reference, other.reference}
    assert refs(vendor=vendor.pk) == {mine.reference}
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert refs(updated_since=future) == set()
    assert refs(created_before=future) == {mine.reference, other.reference}
    assert refs(start_after=future) == {mine.reference, other.reference}
    assert refs(start_before=future) == set()


def test_list_bad_filter_is_400(agent_client: Any) -> None:
    assert agent_client.get(URL, {"status": "nonsense"}).status_code == 400
    assert agent_client.get(URL, {"updated_since": "yesterday"}).status_code == 400


def test_list_ordering(agent_client: Any) -> None:
    a = make_booking(reference="BK-AAAAAA")
    b = make_booking(reference="BK-BBBBBB")

    def refs(ordering: str) -> list[str]:
        results = agent_client.get(URL, {"ordering": ordering}).json()["results"]
        return [r["reference"] for r in results]

    assert refs("reference") == [a.reference, b.reference]
    assert refs("-reference") == [b.reference, a.reference]


def test_page_size_is_at_most_100(agent_client: Any) -> None:
    Booking.objects.bulk_create(
        [Booking(reference=f"BK-{i:06d}", customer_name="x") for i in range(105)]
    )
    body = agent_client.get(URL, {"page_size": 100}).json()
    assert body["count"] == 105
    assert len(body["results"]) == 100
    for bad in (101, 500, 0, -5, "x"):
        response = agent_client.get(URL, {"page_size": bad})
        assert response.status_code == 400, bad
        assert response.json()["fields"] == {"page_size": ["Give a whole number from 1 to 100."]}


def test_broker_lists_only_its_bookings(broker_client: Any, broker: Any, other_broker: Any) -> None:
    mine = make_booking(broker)
    make_booking(other_broker)
    make_booking(None)
    body = broker_client.get(URL).json()
    assert [b["reference"] for b in body["results"]] == [mine.reference]
    assert "cost" not in body["results"][0]["totals"]


def test_vendor_lists_no_bookings(vendor_client: Any, vendor: Any) -> None:
    booking = make_booking(None)
    factories.BookingItemFactory(booking=booking, vendor=vendor, vendor_status="pending")
    body = vendor_client.get(URL).json()
    assert body["count"] == 0
    assert vendor_client.get(f"{URL}{booking.reference}/").status_code == 404


def test_retrieve(agent_client: Any, broker: Any) -> None:
    booking = make_booking(broker, items=2)
    response = agent_client.get(f"{URL}{booking.reference}/")
    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == booking.reference
    assert len(body["items"]) == 2
    assert body["items"][0]["booking"] == booking.reference


def test_retrieve_unknown_is_404(agent_client: Any) -> None:
    response = agent_client.get(f"{URL}BK-NOPE00/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_staff_without_view_permission_gets_403(staff_client: Any) -> None:
    booking = make_booking()
    client = staff_client(["bookings.add_booking"])
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{booking.reference}/").status_code == 403


def test_cancelled_items_are_listed_but_not_totalled(agent_client: Any) -> None:
    booking = make_booking(items=1)
    factories.BookingItemFactory(booking=booking, cancelled_at=timezone.now())
    body = agent_client.get(f"{URL}{booking.reference}/").json()
    assert len(body["items"]) == 2
    assert body["totals"]["sell"] == "300.00"


# --- partial update ----------------------------------------------------------------


def test_partial_update(agent_client: Any) -> None:
    booking = make_booking()
    response = agent_client.patch(
        f"{URL}{booking.reference}/", {"notes": "Late arrival", "currency": "USD"}, format="json"
    )
    assert response.status_code == 200, response.content
    booking.refresh_from_db()
    assert (booking.notes, booking.currency) == ("Late arrival", "USD")
    assert response.json()["notes"] == "Late arrival"


def test_partial_update_bad_input_is_400(agent_client: Any) -> None:
    booking = make_booking()
    response = agent_client.patch(
        f"{URL}{booking.reference}/", {"customer_email": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "customer_email" in response.json()["fields"]


def test_partial_update_currency_after_draft_is_409(agent_client: Any) -> None:
    booking = make_booking(status=Booking.Status.APPROVED)
    response = agent_client.patch(f"{URL}{booking.reference}/", {"currency": "USD"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    booking.refresh_from_db()
    assert booking.currency == "EUR"


def test_partial_update_of_cancelled_booking_is_409(agent_client: Any) -> None:
    booking = make_booking(status=Booking.Status.CANCELLED)
    response = agent_client.patch(f"{URL}{booking.reference}/", {"notes": "x"}, format="json")
    assert response.status_code == 409
    assert set(response.json()) == {"detail", "code"}


def test_partial_update_without_change_permission_is_403(staff_client: Any) -> None:
    booking = make_booking()
    client = staff_client(["bookings.view_booking"])
    response = client.patch(f"{URL}{booking.reference}/", {"notes": "x"}, format="json")
    assert response.status_code == 403
    booking.refresh_from_db()
    assert booking.notes == ""


def test_broker_updates_its_booking(broker_client: Any, broker: Any) -> None:
    booking = make_booking(broker)
    response = broker_client.patch(
        f"{URL}{booking.reference}/", {"customer_name": "New name"}, format="json"
    )
    assert response.status_code == 200
    booking.refresh_from_db()
    assert booking.customer_name == "New name"


# --- transitions -------------------------------------------------------------------


def test_submit(agent_client: Any) -> None:
    booking = make_booking()
    response = agent_client.post(f"{URL}{booking.reference}/submit/")
    assert response.status_code == 200
    assert response.json()["status"] == "pending_approval"
    assert AuditEntry.objects.filter(action="submitted", object_id=booking.pk).count() == 1


def test_submit_without_items_is_409(agent_client: Any) -> None:
    booking = make_booking(items=0)
    response = agent_client.post(f"{URL}{booking.reference}/submit/")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    booking.refresh_from_db()
    assert booking.status == "draft"


def test_submit_twice_is_409(agent_client: Any) -> None:
    booking = make_booking()
    assert agent_client.post(f"{URL}{booking.reference}/submit/").status_code == 200
    response = agent_client.post(f"{URL}{booking.reference}/submit/")
    assert response.status_code == 409
    assert "pending approval" in response.json()["detail"]


def test_submit_without_permission_is_403(staff_client: Any) -> None:
    booking = make_booking()
    client = staff_client(["bookings.view_booking"])
    assert client.post(f"{URL}{booking.reference}/submit/").status_code == 403
    booking.refresh_from_db()
    assert booking.status == "draft"


def test_broker_submits_its_booking(broker_client: Any, broker: Any) -> None:
    booking = make_booking(broker)
    response = broker_client.post(f"{URL}{booking.reference}/submit/")
    assert response.status_code == 200
    assert response.json()["status"] == "pending_approval"


def test_approve(approver_client: Any, broker: Any) -> None:
    booking = make_booking(broker, status=Booking.Status.PENDING_APPROVAL)
    response = approver_client.post(f"{URL}{booking.reference}/approve/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"


def test_approve_draft_is_409(approver_client: Any) -> None:
    booking = make_booking()
    response = approver_client.post(f"{URL}{booking.reference}/approve/")
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Cannot approve: booking {booking.reference} is draft.",
        "code": "invalid_transition",
    }


def test_agent_cannot_approve(agent_client: Any) -> None:
    booking = make_booking(status=Booking.Status.PENDING_APPROVAL)
    assert agent_client.post(f"{URL}{booking.reference}/approve/").status_code == 403
    booking.refresh_from_db()
    assert booking.status == "pending_approval"


def test_broker_cannot_approve(broker_client: Any, broker: Any) -> None:
    booking = make_booking(broker, status=Booking.Status.PENDING_APPROVAL)
    response = broker_client.post(f"{URL}{booking.reference}/approve/")
    assert response.status_code == 403
    booking.refresh_from_db()
    assert booking.status == "pending_approval"


def test_cancel_needs_a_reason(agent_client: Any) -> None:
    booking = make_booking()
    response = agent_client.post(f"{URL}{booking.reference}/cancel/", {}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["fields"]
    response = agent_client.post(
        f"{URL}{booking.reference}/cancel/", {"reason": "Client changed plans"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancel_reason"] == "Client changed plans"


def test_cancel_cancelled_is_409(agent_client: Any) -> None:
    booking = make_booking(status=Booking.Status.CANCELLED)
    response = agent_client.post(
        f"{URL}{booking.reference}/cancel/", {"reason": "again"}, format="json"
    )
    assert response.status_code == 409


def test_broker_cannot_cancel_approved_booking(broker_client: Any, broker: Any) -> None:
    booking = make_booking(broker, status=Booking.Status.APPROVED)
    response = broker_client.post(
        f"{URL}{booking.reference}/cancel/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 403
    booking.refresh_from_db()
    assert booking.status == "approved"


def test_cancel_unknown_is_404(agent_client: Any) -> None:
    response = agent_client.post(f"{URL}BK-NOPE00/cancel/", {"reason": "x"}, format="json")
    assert response.status_code == 404


# --- bookings/{reference}/items/ ---------------------------------------------------


def test_items_list(agent_client: Any) -> None:
    booking = make_booking(items=3)
    response = agent_client.get(f"{URL}{booking.reference}/items/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert {i["booking"] for i in body["results"]} == {booking.reference}


def test_items_add(agent_client: Any, vendor: Any) -> None:
    booking = make_booking(items=0)
    response = agent_client.post(
        f"{URL}{booking.reference}/items/", item_payload(vendor=vendor.pk), format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["vendor"] == vendor.pk
    assert body["vendor_status"] == "unassigned"  # a draft: asked when submitted
    assert body["unit_price"] == "150.00"
    assert booking.items.count() == 1


def test_items_add_without_a_price_leaves_it_unpriced(agent_client: Any) -> None:
    booking = make_booking(items=0)
    payload = item_payload()
    del payload["unit_price"]
    response = agent_client.post(f"{URL}{booking.reference}/items/", payload, format="json")
    assert response.status_code == 201
    assert response.json()["unit_price"] == "0.00"
    assert not booking.items.get().is_priced


def test_items_add_to_confirmed_booking_is_409(agent_client: Any) -> None:
    booking = make_booking(items=0, status=Booking.Status.CONFIRMED)
    response = agent_client.post(f"{URL}{booking.reference}/items/", item_payload(), format="json")
    assert response.status_code == 409
    assert booking.items.count() == 0


def test_items_add_without_permission_is_403(staff_client: Any) -> None:
    booking = make_booking(items=0)
    client = staff_client(["bookings.view_booking", "bookings.view_bookingitem"])
    response = client.post(f"{URL}{booking.reference}/items/", item_payload(), format="json")
    assert response.status_code == 403
    assert booking.items.count() == 0


def test_broker_cannot_choose_a_vendor(broker_client: Any, broker: Any, vendor: Any) -> None:
    booking = make_booking(broker, items=0)
    response = broker_client.post(
        f"{URL}{booking.reference}/items/", broker_item_payload(vendor=vendor.pk), format="json"
    )
    # As for a vendor id that does not exist (tests/api/test_existence_leaks.py).
    assert response.status_code == 400
    assert "vendor" in response.json()["fields"]
    assert booking.items.count() == 0


def test_money_is_a_decimal_string(agent_client: Any) -> None:
    booking = make_booking(items=0)
    factories.BookingItemFactory(booking=booking, unit_price=Decimal("0.10"), quantity=3)
    body = agent_client.get(f"{URL}{booking.reference}/").json()
    assert body["items"][0]["unit_price"] == "0.10"
    assert body["totals"]["sell"] == "0.30"
    assert body["commission_rate"] == "0.00"


def test_pagination_edges(agent_client: Any) -> None:
    assert agent_client.get(URL).json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }
    for n in range(5):
        make_booking(reference=f"BK-PAGE0{n}")
    second = agent_client.get(URL, {"page_size": 2, "page": 2}).json()
    assert second["count"] == 5
    assert "page=3" in second["next"] and "page_size=2" in second["next"]
    assert "page=" not in second["previous"]  # page 1 is the bare URL, as DRF writes it
    last = agent_client.get(URL, {"page_size": 2, "page": "last"}).json()
    assert [b["reference"] for b in last["results"]] == ["BK-PAGE00"]
    assert last["next"] is None
    # Past the last page: 404; not a page number at all: 400 saying what is.
    assert agent_client.get(URL, {"page_size": 2, "page": 4}).status_code == 404
    for bad in (0, -1, "x"):
        response = agent_client.get(URL, {"page_size": 2, "page": bad})
        assert response.status_code == 400, bad
        assert "page" in response.json()["fields"]


@pytest.mark.parametrize(
    ("action", "data"),
    [("submit", {}), ("approve", {}), ("cancel", {"reason": "x"})],
)
def test_actions_need_the_staff_permission(staff_client: Any, action: str, data: dict) -> None:
    booking = make_booking(
        status=Booking.Status.PENDING_APPROVAL if action == "approve" else "draft"
    )
    client = staff_client(["bookings.view_booking", "bookings.view_bookingitem"])
    audited = AuditEntry.objects.count()
    response = client.post(f"{URL}{booking.reference}/{action}/", data, format="json")
    assert response.status_code == 403
    assert set(response.json()) == {"detail", "code"}
    before = booking.status
    booking.refresh_from_db()
    assert booking.status == before
    assert AuditEntry.objects.count() == audited

"""The API speaks each service's own time: ``start`` / ``end`` in the service's offset
with its ``timezone``; any offset accepted and returned as the same instant; a time
without an offset read where the service happens, refused when a daylight-saving
change skips or repeats it. And the vendors' deadlines: ``respond_by``, ``overdue``,
their filters, and a vendor never sees another vendor's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from bookings import services
from bookings.models import BookingItem
from core.domain import Actor
from tests import factories
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db
URL = "/api/v1/bookings/"
ITEMS = "/api/v1/booking-items/"
SYSTEM = Actor(via="system", label="test")


@pytest.fixture
def agent_client(make_key: Any, agent: Any) -> Any:
    _, raw = make_key(user=agent)
    return key_client(raw)


def _create(client: Any, **item: Any) -> Any:
    payload = {
        "service_type": "transfer",
        "description": "Airport pickup",
        "quantity": 1,
        "unit_price": "80.00",
        "unit_cost": "50.00",
        **item,
    }
    return client.post(URL, {"customer_name": "Ana", "items": [payload]}, format="json")


def test_an_offset_sent_comes_back_as_the_same_instant_in_the_services_offset(
    agent_client: Any,
) -> None:
    response = _create(
        agent_client,
        start="2027-05-10T10:00:00+02:00",
        end="2027-05-10T12:00:00+02:00",
        timezone="Europe/Lisbon",
    )
    assert response.status_code == 201, response.content
    (item,) = response.json()["items"]
    # 10:00 in Madrid is 09:00 in Lisbon (WEST, +01:00): never 08:00+00:00.
    assert item["start"] == "2027-05-10T09:00:00+01:00"
    assert item["end"] == "2027-05-10T11:00:00+01:00"
    assert item["timezone"] == "Europe/Lisbon"
    stored = BookingItem.objects.get(pk=item["id"])
    assert stored.start == datetime(2027, 5, 10, 8, 0, tzinfo=UTC)
    again = agent_client.get(f"{ITEMS}{item['id']}/").json()
    assert again["start"] == item["start"]
    listed = agent_client.get(ITEMS).json()["results"]
    assert [row["start"] for row in listed] == [item["start"]]


def test_a_time_without_offset_is_the_services_local_time(agent_client: Any, vendor: Any) -> None:
    vendor.timezone = "Europe/Lisbon"
    vendor.save(update_fields=["timezone"])
    response = _create(
        agent_client, start="2027-05-10T10:00:00", end="2027-05-10T11:00:00", vendor=vendor.pk
    )
    assert response.status_code == 201, response.content
    (item,) = response.json()["items"]
    assert item["timezone"] == "Europe/Lisbon"  # the vendor's
    assert item["start"] == "2027-05-10T10:00:00+01:00"


@pytest.mark.parametrize(
    ("start", "offset"),
    [
        ("2027-03-28T00:30:00", "+00:00"),  # the last Sunday of March, before the change
        ("2027-03-28T02:30:00", "+01:00"),  # after it
        ("2027-10-31T00:30:00", "+01:00"),  # the last Sunday of October, before
        ("2027-10-31T02:30:00", "+00:00"),  # after
    ],
)
def test_lisbon_either_side_of_the_changes(agent_client: Any, start: str, offset: str) -> None:
    response = _create(agent_client, start=start, end=start, timezone="Europe/Lisbon")
    assert response.status_code == 201, response.content
    assert response.json()["items"][0]["start"] == start + offset


def test_a_time_the_clocks_skip_is_a_field_error(agent_client: Any) -> None:
    # 01:30 on 28 March 2027 does not happen in Lisbon (01:00 -> 02:00).
    response = _create(
        agent_client,
        start="2027-03-28T01:30:00",
        end="2027-03-28T03:00:00",
        timezone="Europe/Lisbon",
    )
    assert response.status_code == 400
    body = response.json()
    text = str(body)
    assert "does not exist in Europe/Lisbon" in text and "start" in text


def test_a_time_the_clocks_repeat_is_refused_but_an_offset_says_which(agent_client: Any) -> None:
    # 01:30 on 31 October 2027 happens twice in Lisbon (02:00 -> 01:00).
    response = _create(
        agent_client,
        start="2027-10-31T01:30:00",
        end="2027-10-31T03:00:00",
        timezone="Europe/Lisbon",
    )
    assert response.status_code == 400
    assert "happens twice in Europe/Lisbon" in str(response.json())
    for offset in ("+01:00", "+00:00"):  # the first (WEST), then the second (WET)
        ok = _create(
            agent_client,
            start=f"2027-10-31T01:30:00{offset}",
            end="2027-10-31T03:00:00+00:00",
            timezone="Europe/Lisbon",
        )
        assert ok.status_code == 201, ok.content
        assert ok.json()["items"][0]["start"] == f"2027-10-31T01:30:00{offset}"


def test_an_unknown_timezone_is_a_field_error(agent_client: Any) -> None:
    response = _create(
        agent_client, start="2027-05-10T10:00:00Z", end="2027-05-10T11:00:00Z", timezone="Mars/Base"
    )
    assert response.status_code == 400
    assert "not a timezone we know" in str(response.json())


# --- deadlines on the API -----------------------------------------------------------------


def _asked(vendor: Any, *, hours_ago: float = 0) -> BookingItem:
    booking = factories.BookingFactory(status="pending_approval")
    item = factories.BookingItemFactory(booking=booking)
    services.item_assign_vendor(item=item, vendor=vendor, actor=SYSTEM)
    item.refresh_from_db()
    if hours_ago:
        # As if asked that long ago: the deadline has come and gone.
        item.respond_by = timezone.now() - timedelta(hours=hours_ago)
        item.save(update_fields=["respond_by"])
    return item


def test_items_show_respond_by_and_overdue_and_filter_on_them(
    agent_client: Any, vendor: Any, other_vendor: Any
) -> None:
    late = _asked(vendor, hours_ago=2)
    on_time = _asked(other_vendor)
    body = agent_client.get(f"{ITEMS}{late.pk}/").json()
    assert body["overdue"] is True and body["respond_by"].endswith("+00:00")
    assert agent_client.get(f"{ITEMS}{on_time.pk}/").json()["overdue"] is False

    def ids(query: str) -> set[int]:
        response = agent_client.get(f"{ITEMS}?{query}")
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids("overdue=true") == {late.pk}
    assert ids("overdue=false") == {on_time.pk}
    cut = (timezone.now() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"respond_by_before={cut}") == {late.pk}
    listed = {row["id"]: row for row in agent_client.get(ITEMS).json()["results"]}
    assert listed[late.pk]["overdue"] is True and listed[on_time.pk]["overdue"] is False


def test_a_vendor_sees_only_its_own_deadlines(
    vendor_client: Any, other_vendor_client: Any, vendor: Any, other_vendor: Any
) -> None:
    mine = _asked(vendor, hours_ago=2)
    theirs = _asked(other_vendor, hours_ago=2)
    rows = vendor_client.get(f"{ITEMS}?overdue=true").json()["results"]
    assert [row["id"] for row in rows] == [mine.pk]
    assert rows[0]["respond_by"] is not None
    assert vendor_client.get(f"{ITEMS}{theirs.pk}/").status_code == 404
    assert other_vendor_client.get(f"{ITEMS}{mine.pk}/").status_code == 404


def test_a_broker_sees_no_vendor_deadlines(broker_client: Any, broker: Any, vendor: Any) -> None:
    item = _asked(vendor, hours_ago=2)
    item.booking.broker = broker
    item.booking.save(update_fields=["broker"])
    body = broker_client.get(f"{ITEMS}{item.pk}/").json()
    assert "respond_by" not in body and "overdue" not in body
    assert body["timezone"] == item.timezone
    # Nor may it filter on them: the filter is not there for it (no answer tells).
    assert broker_client.get(f"{ITEMS}?overdue=false").json() == broker_client.get(ITEMS).json()


def test_a_vendors_timezone_and_response_hours_are_checked_by_the_service() -> None:
    from core.domain import ValidationFailed
    from partners import services as partners

    with pytest.raises(ValidationFailed) as zone_error:
        partners.vendor_create(actor=SYSTEM, name="X", email="x@example.com", timezone="Mars/Base")
    assert zone_error.value.field == "timezone"
    with pytest.raises(ValidationFailed) as hours_error:
        partners.vendor_create(actor=SYSTEM, name="Y", email="y@example.com", response_hours=0)
    assert hours_error.value.field == "response_hours"
    vendor = partners.vendor_create(
        actor=SYSTEM, name="Z", email="z@example.com", timezone="Europe/Lisbon", response_hours=6
    )
    assert (vendor.timezone, vendor.response_hours) == ("Europe/Lisbon", 6)


def test_a_lisbon_vendors_deadlines_come_back_in_the_services_offset(
    agent_client: Any, vendor_client: Any, vendor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In May a Lisbon service's deadlines are written +01:00, like its start, at every
    door that shows the item: its detail and list, the booking and the bookings list,
    the vendor's own view and the events (feed and webhook body) of it. Times of what
    was done here (created, updated, an event's occurred_at) stay UTC."""
    from events.feed import event_document
    from events.models import Event

    asked = datetime(2027, 5, 3, 9, 0, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: asked)
    vendor.timezone = "Europe/Lisbon"
    vendor.response_hours = 24
    vendor.save(update_fields=["timezone", "response_hours"])
    created = _create(
        agent_client,
        start="2027-05-20T10:00:00",
        end="2027-05-20T12:00:00",
        timezone="Europe/Lisbon",
    )
    reference, item_id = created.json()["reference"], created.json()["items"][0]["id"]
    assert agent_client.post(f"{URL}{reference}/submit/").status_code == 200
    assigned = agent_client.post(f"{ITEMS}{item_id}/assign-vendor/", {"vendor": vendor.pk})
    assert assigned.status_code == 200, assigned.content
    # Asked 09:00 UTC on 3 May, 24 hours to answer: 10:00 WEST on the 4th.
    answer_by = "2027-05-04T10:00:00+01:00"
    assert assigned.json()["respond_by"] == answer_by
    assert BookingItem.objects.get(pk=item_id).respond_by == datetime(
        2027, 5, 4, 9, tzinfo=UTC
    )

    def everywhere(client: Any) -> list[dict[str, Any]]:
        rows = [client.get(f"{ITEMS}{item_id}/").json()]
        rows += [r for r in client.get(ITEMS).json()["results"] if r["id"] == item_id]
        return rows

    staff_rows = everywhere(agent_client)
    staff_rows.append(agent_client.get(f"{URL}{reference}/").json()["items"][0])
    listed = agent_client.get(URL).json()["results"]
    staff_rows += [i for b in listed for i in b["items"] if i["id"] == item_id]
    for row in [*staff_rows, *everywhere(vendor_client)]:
        assert row["respond_by"] == answer_by, row
        assert row["start"] == "2027-05-20T10:00:00+01:00"
        assert row["updated_at"].endswith("+00:00")  # what was done here: UTC
    assert len(staff_rows) == 4

    accepted = vendor_client.post(f"{ITEMS}{item_id}/accept/")
    assert accepted.status_code == 200, accepted.content
    # Accepted 09:00 UTC on 3 May, 48 hours to confirm: 10:00 WEST on the 5th.
    assert accepted.json()["confirm_by"] == "2027-05-05T10:00:00+01:00"
    assert accepted.json()["respond_by"] is None

    event = Event.objects.filter(type="booking_item.accepted").get()
    document = event_document(event, audience="vendor", party_id=vendor.pk)
    assert document is not None
    assert document["data"]["confirm_by"] == "2027-05-05T10:00:00+01:00"
    assert document["occurred_at"].endswith("Z")  # when it happened here: UTC
    feed = vendor_client.get("/api/v1/events/").json()["results"]
    fed = [e for e in feed if e["type"] == "booking_item.accepted"]
    assert [e["data"]["confirm_by"] for e in fed] == ["2027-05-05T10:00:00+01:00"]
    assigned_event = Event.objects.get(type="booking_item.assigned")
    assert assigned_event.payload["data"]["respond_by"] == answer_by

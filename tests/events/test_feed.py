"""``GET /api/v1/events/``: the caller's events in commit order, a page at a time.

These tests commit (``transaction=True``), as the web requests that make the events
do; the feed numbers events after their commit.
"""

from __future__ import annotations

from typing import Any

import pytest

from events.models import Event
from tests.events.flows import approved_booking

pytestmark = pytest.mark.django_db(transaction=True)


def walk(client: Any, *, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every page from the start: the events in the order given."""
    seen: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": limit, **params}
    for _ in range(1000):
        response = client.get("/api/v1/events/", query)
        assert response.status_code == 200, response.content
        page = response.json()
        assert len(page["results"]) <= limit
        seen += page["results"]
        if not page["has_more"]:
            # The cursor of the last page: a poll from it finds nothing new.
            again = client.get("/api/v1/events/", {**query, "after": page["cursor"]}).json()
            assert again["results"] == [] and again["cursor"] == page["cursor"]
            return seen
        assert page["next"].startswith("http://testserver/api/v1/events/?after=")
        query["after"] = page["cursor"]
    raise AssertionError("the feed never ended")


def test_staff_walk_the_whole_feed_in_order_without_repeats(
    superuser_client: Any, broker: Any, other_broker: Any, vendor: Any
) -> None:
    approved_booking(broker=broker, vendors=[vendor])
    approved_booking(broker=other_broker, vendors=[])
    seen = walk(superuser_client, limit=2)
    expected = [str(pk) for pk in Event.objects.order_by("position").values_list("id", flat=True)]
    assert [e["id"] for e in seen] == expected
    assert len(expected) == len(set(expected)) >= 9


def test_a_broker_sees_only_its_own_events_without_costs(
    broker_client: Any, broker: Any, other_broker: Any
) -> None:
    mine = approved_booking(broker=broker, vendors=[])
    approved_booking(broker=other_broker, vendors=[])
    seen = walk(broker_client, limit=3)
    assert {e["data"]["reference"] for e in seen if e["object"]["type"] == "booking"} == {
        mine.reference
    }
    assert len(seen) == Event.objects.filter(broker_id=broker.pk).count()
    for event in seen:
        if event["object"]["type"] == "booking":
            assert set(event["data"]["totals"]) == {"sell", "commission"}


def test_a_vendor_sees_only_events_about_its_items(
    vendor_client: Any, other_vendor_client: Any, vendor: Any, other_vendor: Any, broker: Any
) -> None:
    approved_booking(broker=broker, vendors=[vendor])
    seen = walk(vendor_client, limit=50)
    assert {e["type"] for e in seen} >= {"booking_item.assigned", "booking.approved"}
    for event in seen:
        assert "unit_price" not in str(event["data"])
    assert walk(other_vendor_client, limit=50) == []


def test_types_narrow_the_feed(superuser_client: Any, broker: Any) -> None:
    approved_booking(broker=broker, vendors=[])
    approved_booking(broker=broker, vendors=[])
    seen = walk(superuser_client, limit=1, types="booking.approved,booking.submitted")
    assert [e["type"] for e in seen] == [
        "booking.submitted",
        "booking.approved",
        "booking.submitted",
        "booking.approved",
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"after": "not-a-cursor"}, "after"),
        ({"after": "MS45OTk5OTk5OTk5OTk5OTk5OTk5OTkuMQ"}, "after"),
        ({"types": "booking.exploded"}, "types"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_bad_parameters_are_a_400(superuser_client: Any, params: dict, field: str) -> None:
    response = superuser_client.get("/api/v1/events/", params)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_staff_need_the_event_permission(staff_client: Any) -> None:
    assert staff_client([]).get("/api/v1/events/").status_code == 403
    assert staff_client(["events.view_event"]).get("/api/v1/events/").status_code == 200


def test_anonymous_callers_are_refused(client: Any) -> None:
    assert client.get("/api/v1/events/").status_code in (401, 403)


def test_one_event_by_its_id_is_404_to_other_partners(
    broker_client: Any,
    other_broker_client: Any,
    vendor_client: Any,
    superuser_client: Any,
    broker: Any,
) -> None:
    booking = approved_booking(broker=broker, vendors=[])
    event = Event.objects.get(reference=booking.reference, type="booking.approved")
    path = f"/api/v1/events/{event.id}/"
    mine = broker_client.get(path)
    assert mine.status_code == 200 and mine.json()["id"] == str(event.id)
    assert set(mine.json()["data"]["totals"]) == {"sell", "commission"}
    assert superuser_client.get(path).json()["data"]["totals"].keys() >= {"cost", "margin"}
    assert other_broker_client.get(path).status_code == 404
    assert vendor_client.get(path).status_code == 404
    assert (
        broker_client.get("/api/v1/events/00000000-0000-0000-0000-000000000000/").status_code == 404
    )

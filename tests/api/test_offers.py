"""offers/ by reference: list, create, retrieve, partial update, send, accept, decline,
withdraw; ``booking`` is the reference of the booking an accepted offer became."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from bookings.models import Booking
from offers.models import Offer
from tests import factories
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/offers/"


@pytest.fixture
def agent_client(make_key: Any, agent: Any) -> Any:
    _, raw = make_key(user=agent)
    return key_client(raw)


def _iso(days: float) -> str:
    return (timezone.now().replace(microsecond=0) + timedelta(days=days)).isoformat()


def line_payload(**overrides: Any) -> dict[str, Any]:
    return {
        "service_type": "transfer",
        "description": "Airport transfer",
        "start": _iso(30),
        "end": _iso(30.1),
        "quantity": 2,
        "unit_price": "80.00",
        "unit_cost": "50.00",
        **overrides,
    }


def make_offer(broker: Any = None, status: str = Offer.Status.DRAFT, lines: int = 1) -> Offer:
    offer = factories.OfferFactory(broker=broker, status=status)
    for _ in range(lines):
        factories.OfferLineFactory(offer=offer)
    return offer


# --- create, list, retrieve, update -------------------------------------------------


def test_staff_creates_offer_with_lines(agent_client: Any, broker: Any, vendor: Any) -> None:
    response = agent_client.post(
        URL,
        {
            "broker": broker.pk,
            "valid_until": _iso(14),
            "lines": [line_payload(), line_payload(proposed_vendor=vendor.pk, quantity=1)],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["booking"] is None
    assert len(body["lines"]) == 2
    assert body["lines"][1]["proposed_vendor"] == vendor.pk
    assert body["totals"] == {
        "sell": "240.00",
        "cost": "150.00",
        "margin": "90.00",
        "commission": "24.00",
    }
    assert Offer.objects.get(reference=body["reference"]).lines.count() == 2


def test_create_needs_broker_or_customer(agent_client: Any) -> None:
    response = agent_client.post(URL, {"valid_until": _iso(14)}, format="json")
    assert response.status_code == 400
    assert "customer_name" in response.json()["fields"]


def test_create_bad_input_is_400(agent_client: Any) -> None:
    response = agent_client.post(
        URL,
        {
            "customer_name": "Ana",
            "valid_until": "next week",
            "currency": "ZZZ",
            "lines": [line_payload(start=_iso(31), end=_iso(30), quantity=0)],
        },
        format="json",
    )
    assert response.status_code == 400
    # Shapes first, all at once; the line's dates and quantity are the service's to refuse.
    assert {"valid_until", "currency"} <= set(response.json()["fields"])
    assert Offer.objects.count() == 0


def test_broker_cannot_create_offers(broker_client: Any) -> None:
    response = broker_client.post(
        URL, {"customer_name": "A", "valid_until": _iso(3)}, format="json"
    )
    assert response.status_code == 403
    assert Offer.objects.count() == 0


def test_create_without_permission_is_403(staff_client: Any) -> None:
    client = staff_client(["offers.view_offer"])
    response = client.post(URL, {"customer_name": "A", "valid_until": _iso(3)}, format="json")
    assert response.status_code == 403


def test_list_filters_and_broker_scope(
    agent_client: Any, broker_client: Any, broker: Any, other_broker: Any
) -> None:
    draft = make_offer(broker)
    sent = make_offer(broker, Offer.Status.SENT)
    make_offer(other_broker, Offer.Status.SENT)

    def refs(client: Any, **params: Any) -> set[str]:
        response = client.get(URL, params)
        assert response.status_code == 200, response.content
        return {o["reference"] for o in response.json()["results"]}

    assert refs(agent_client, broker=broker.pk) == {draft.reference, sent.reference}
    assert refs(agent_client, status="draft") == {draft.reference}
    assert refs(agent_client, valid_before=_iso(1)) == set()
    # A broker sees its own offers once sent, never drafts or others'.
    assert refs(broker_client) == {sent.reference}
    assert agent_client.get(URL, {"status": "nope"}).status_code == 400


def test_broker_sees_no_costs(broker_client: Any, broker: Any) -> None:
    offer = make_offer(broker, Offer.Status.SENT)
    body = broker_client.get(f"{URL}{offer.reference}/").json()
    assert set(body["totals"]) == {"sell", "commission"}
    assert {"unit_cost", "proposed_vendor"}.isdisjoint(body["lines"][0])


def test_broker_cannot_see_drafts(broker_client: Any, broker: Any) -> None:
    offer = make_offer(broker)
    assert broker_client.get(f"{URL}{offer.reference}/").status_code == 404


def test_retrieve_unknown_is_404(agent_client: Any) -> None:
    assert agent_client.get(f"{URL}OF-NOPE00/").status_code == 404


def test_partial_update(agent_client: Any) -> None:
    offer = make_offer()
    response = agent_client.patch(
        f"{URL}{offer.reference}/", {"notes": "Includes breakfast"}, format="json"
    )
    assert response.status_code == 200
    offer.refresh_from_db()
    assert offer.notes == "Includes breakfast"


def test_partial_update_bad_input_is_400(agent_client: Any) -> None:
    offer = make_offer()
    response = agent_client.patch(
        f"{URL}{offer.reference}/", {"customer_email": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "customer_email" in response.json()["fields"]


def test_partial_update_of_sent_offer_is_409(agent_client: Any) -> None:
    offer = make_offer(status=Offer.Status.SENT)
    response = agent_client.patch(f"{URL}{offer.reference}/", {"notes": "x"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_partial_update_without_permission_is_403(staff_client: Any) -> None:
    offer = make_offer()
    client = staff_client(["offers.view_offer"])
    assert (
        client.patch(f"{URL}{offer.reference}/", {"notes": "x"}, format="json").status_code == 403
    )


# --- transitions ----------------------------------------------------------------------


def test_send(agent_client: Any, broker: Any) -> None:
    offer = make_offer(broker)
    response = agent_client.post(f"{URL}{offer.reference}/send/")
    assert response.status_code == 200
    assert response.json()["status"] == "sent"


def test_send_without_lines_is_409(agent_client: Any, broker: Any) -> None:
    offer = make_offer(broker, lines=0)
    response = agent_client.post(f"{URL}{offer.reference}/send/")
    assert response.status_code == 409
    offer.refresh_from_db()
    assert offer.status == "draft"


def test_send_without_permission_is_403(staff_client: Any, broker: Any) -> None:
    offer = make_offer(broker)
    client = staff_client(["offers.view_offer"])
    assert client.post(f"{URL}{offer.reference}/send/").status_code == 403


def test_broker_accepts_and_gets_the_booking(broker_client: Any, broker: Any) -> None:
    offer = make_offer(broker, Offer.Status.SENT, lines=2)
    response = broker_client.post(f"{URL}{offer.reference}/accept/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "accepted"
    booking = Booking.objects.get(reference=body["booking"])
    assert booking.status == "pending_approval"
    assert booking.items.count() == 2
    assert broker_client.get(f"/api/v1/bookings/{booking.reference}/").status_code == 200


def test_accept_expired_offer_is_409(broker_client: Any, broker: Any) -> None:
    offer = make_offer(broker, Offer.Status.SENT)
    offer.valid_until = timezone.now() - timedelta(days=1)
    offer.save(update_fields=["valid_until"])
    response = broker_client.post(f"{URL}{offer.reference}/accept/")
    assert response.status_code == 409
    assert response.json()["code"] == "offer_expired"
    assert Booking.objects.count() == 0


def test_accept_twice_is_409(broker_client: Any, broker: Any) -> None:
    offer = make_offer(broker, Offer.Status.SENT)
    assert broker_client.post(f"{URL}{offer.reference}/accept/").status_code == 200
    assert broker_client.post(f"{URL}{offer.reference}/accept/").status_code == 409
    assert Booking.objects.count() == 1


def test_broker_declines(broker_client: Any, broker: Any) -> None:
    offer = make_offer(broker, Offer.Status.SENT)
    response = broker_client.post(f"{URL}{offer.reference}/decline/", {"reason": "Too dear"})
    assert response.status_code == 200
    assert response.json()["decline_reason"] == "Too dear"


def test_decline_draft_is_409_for_staff(agent_client: Any) -> None:
    offer = make_offer()
    assert agent_client.post(f"{URL}{offer.reference}/decline/").status_code == 409


def test_withdraw(agent_client: Any, broker: Any) -> None:
    offer = make_offer(broker, Offer.Status.SENT)
    response = agent_client.post(f"{URL}{offer.reference}/withdraw/", {"reason": "Sold out"})
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"


def test_withdraw_accepted_is_409(agent_client: Any) -> None:
    offer = make_offer(status=Offer.Status.ACCEPTED)
    assert agent_client.post(f"{URL}{offer.reference}/withdraw/").status_code == 409


def test_broker_cannot_withdraw(broker_client: Any, broker: Any) -> None:
    offer = make_offer(broker, Offer.Status.SENT)
    assert broker_client.post(f"{URL}{offer.reference}/withdraw/").status_code == 403
    offer.refresh_from_db()
    assert offer.status == "sent"


def test_vendor_sees_no_offers(vendor_client: Any) -> None:
    offer = make_offer(status=Offer.Status.SENT)
    assert vendor_client.get(URL).json()["count"] == 0
    assert vendor_client.get(f"{URL}{offer.reference}/").status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_accepts_make_one_booking(make_key: Any, broker: Any) -> None:
    """Two accepts of one offer at the same moment (a retried call without an
    Idempotency-Key): the row lock serialises them, one wins, the other is a 409."""
    offer = make_offer(broker, Offer.Status.SENT)
    _, raw = make_key(broker=broker)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def accept() -> None:
        try:
            client = key_client(raw)
            barrier.wait(10)
            statuses.append(client.post(f"{URL}{offer.reference}/accept/").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200, 409]
    assert Booking.objects.count() == 1
    offer.refresh_from_db()
    assert offer.booking is not None


@pytest.mark.parametrize(
    ("action", "status"),
    [("send", "draft"), ("accept", "sent"), ("decline", "sent"), ("withdraw", "sent")],
)
def test_actions_need_the_staff_permission(
    staff_client: Any, broker: Any, action: str, status: str
) -> None:
    offer = make_offer(broker, status)
    client = staff_client(["offers.view_offer"])
    response = client.post(f"{URL}{offer.reference}/{action}/")
    assert response.status_code == 403
    offer.refresh_from_db()
    assert offer.status == status
    assert Booking.objects.count() == 0


def test_lines_are_in_their_own_offset_with_their_timezone(
    agent_client: Any, make_key: Any, broker: Any
) -> None:
    """An offer line happens somewhere: its times come back in that place's offset."""
    response = agent_client.post(
        URL,
        {
            "broker": broker.pk,
            "valid_until": (timezone.now() + timedelta(days=20)).isoformat(),
            "lines": [
                {
                    "service_type": "activity",
                    "description": "Sintra by day",
                    "start": "2027-05-10T11:00:00+02:00",
                    "end": "2027-05-10T17:00:00Z",
                    "quantity": 2,
                    "unit_price": "50.00",
                    "unit_cost": "30.00",
                    "timezone": "Europe/Lisbon",
                }
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    line = response.json()["lines"][0]
    assert line["timezone"] == "Europe/Lisbon"
    assert line["start"] == "2027-05-10T10:00:00+01:00"
    assert line["end"] == "2027-05-10T18:00:00+01:00"
    # Sent with other offsets: the same instants, shown in Lisbon's; a broker sees them so.
    offer = response.json()["reference"]
    assert agent_client.post(f"{URL}{offer}/send/").status_code == 200
    broker_view = key_client(make_key(broker=broker)[1])
    line = broker_view.get(f"{URL}{offer}/").json()["lines"][0]
    assert (line["start"], line["timezone"]) == ("2027-05-10T10:00:00+01:00", "Europe/Lisbon")


@pytest.mark.parametrize(
    ("line", "start"),
    [
        ({"timezone": "Europe/Lisbon"}, "2027-05-10T10:00:00+01:00"),
        ({"timezone": "Asia/Tokyo"}, "2027-05-10T10:00:00+09:00"),
    ],
)
def test_a_line_time_without_offset_is_read_where_the_line_happens(
    agent_client: Any, settings: Any, line: dict[str, str], start: str
) -> None:
    """As for booking items: 10:00 sent for a Lisbon line is 10:00 in Lisbon, whatever
    the site's TIME_ZONE."""
    settings.TIME_ZONE = "America/New_York"
    payload = line_payload(start="2027-05-10T10:00:00", end="2027-05-10T12:00:00", **line)
    response = agent_client.post(
        URL, {"customer_name": "Ana", "valid_until": _iso(20), "lines": [payload]}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["lines"][0]["start"] == start


def test_a_line_time_the_clocks_skip_is_a_field_error(agent_client: Any) -> None:
    payload = line_payload(
        start="2027-03-28T01:30:00", end="2027-03-28T03:00:00", timezone="Europe/Lisbon"
    )
    response = agent_client.post(
        URL, {"customer_name": "Ana", "valid_until": _iso(20), "lines": [payload]}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "does not exist in Europe/Lisbon" in str(response.json()["fields"])
    assert Offer.objects.count() == 0

"""Every state change the services make is an event, written in the change's own
transaction, and each kind of caller sees of it what the API shows that caller."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from bookings import extensions
from bookings import services as bookings
from bookings.models import Booking
from core.domain import Actor
from events import registry
from events.feed import event_document, events_visible
from events.models import Event
from offers import services as offers
from tests import factories
from tests.events.flows import SYSTEM, approved_booking, item, pending_booking

pytestmark = pytest.mark.django_db


def _types(reference: str) -> list[str]:
    return list(
        Event.objects.filter(reference=reference).order_by("seq").values_list("type", flat=True)
    )


def test_approval_writes_a_booking_approved_event(broker: Any, vendor: Any) -> None:
    booking = approved_booking(broker=broker, vendors=[vendor])
    event = Event.objects.get(reference=booking.reference, type="booking.approved")
    assert event.payload["object"] == {"type": "booking", "id": booking.reference}
    assert event.payload["data"]["status"] == "approved"
    assert event.broker_id == broker.pk
    assert list(event.vendor_links.values_list("vendor_id", flat=True)) == [vendor.pk]
    types = _types(booking.reference)
    assert types[0] == "booking.created" and types[-1] == "booking.approved"
    assert {"booking.item_added", "booking_item.assigned", "booking.submitted"} <= set(types)


def test_a_rolled_back_change_leaves_no_event(broker: Any) -> None:
    booking = pending_booking(broker=broker, vendors=[])
    with pytest.raises(RuntimeError), transaction.atomic():
        bookings.booking_approve(booking=booking, actor=SYSTEM)
        assert Event.objects.filter(type="booking.approved").exists()
        raise RuntimeError("the request failed after the service")
    assert not Event.objects.filter(type="booking.approved").exists()
    assert Booking.objects.get(pk=booking.pk).status == "pending_approval"


def test_event_ids_are_unique_and_stable(broker: Any) -> None:
    booking = approved_booking(broker=broker, vendors=[])
    ids = list(Event.objects.filter(reference=booking.reference).values_list("id", flat=True))
    assert len(set(ids)) == len(ids) > 1
    event = Event.objects.get(type="booking.approved", reference=booking.reference)
    first = event_document(event, audience="staff", party_id=None)
    again = event_document(Event.objects.get(pk=event.pk), audience="staff", party_id=None)
    assert first == again and first is not None and first["id"] == str(event.id)


def test_item_transitions_are_booking_item_events(broker: Any, vendor: Any) -> None:
    booking = approved_booking(broker=broker, vendors=[vendor])
    line = booking.items.get()
    vendor_actor = Actor(vendor=vendor, via="api")
    bookings.item_accept(item=line, actor=vendor_actor)
    bookings.item_confirm(item=line, actor=vendor_actor, vendor_reference="V-1")
    types = _types(booking.reference)
    assert types[-3:] == ["booking_item.accepted", "booking_item.confirmed", "booking.confirmed"]
    confirmed = Event.objects.get(type="booking_item.confirmed")
    assert confirmed.payload["object"] == {
        "type": "booking_item",
        "id": line.pk,
        "booking": booking.reference,
    }
    assert confirmed.payload["data"]["vendor_reference"] == "V-1"


def test_every_audited_booking_and_offer_action_has_an_event_type() -> None:
    types = registry.event_types()
    for expected in (
        "booking.approved",
        "booking.cancelled",
        "booking_item.confirmed",
        "booking_item.declined",
        "offer.sent",
        "offer.accepted",
        "offer.expired",
    ):
        assert expected in types


def test_broker_event_equals_what_the_api_shows_the_broker(
    broker: Any, vendor: Any, broker_client: Any
) -> None:
    booking = approved_booking(broker=broker, vendors=[vendor])
    event = Event.objects.get(type="booking.approved", reference=booking.reference)
    seen = event_document(event, audience="broker", party_id=broker.pk)
    api = key_client_get(broker_client, f"/api/v1/bookings/{booking.reference}/")
    # What the caller may do now is the API's answer to the caller, not part of the event.
    assert isinstance(api.pop("actions"), list)
    assert seen is not None
    # Sections other apps add to the booking's API document (its money) are not part
    # of the booking's own state, which is what an event carries.
    sections = {section.name for section in extensions.sections()}
    assert seen["data"] == {k: v for k, v in api.items() if k not in sections}
    assert "cost" not in seen["data"]["totals"] and "margin" not in seen["data"]["totals"]
    assert all("unit_cost" not in i and "vendor" not in i for i in seen["data"]["items"])


def test_vendor_event_has_no_prices_and_no_other_vendors_items(
    broker: Any, vendor: Any, other_vendor: Any, vendor_client: Any
) -> None:
    booking = approved_booking(broker=broker, vendors=[vendor, other_vendor])
    event = Event.objects.get(type="booking.approved", reference=booking.reference)
    mine = booking.items.get(vendor=vendor)
    seen = event_document(event, audience="vendor", party_id=vendor.pk)
    assert seen is not None
    assert set(seen["data"]) == {"reference", "status", "currency", "items"}
    assert [i["id"] for i in seen["data"]["items"]] == [mine.pk]
    api_item = key_client_get(vendor_client, f"/api/v1/booking-items/{mine.pk}/")
    assert isinstance(api_item.pop("actions"), list)
    assert seen["data"]["items"][0] == api_item
    assert "unit_price" not in seen["data"]["items"][0]
    # An event about the other vendor's item is not this vendor's at all.
    other_item = booking.items.get(vendor=other_vendor)
    bookings.item_accept(item=other_item, actor=Actor(vendor=other_vendor, via="api"))
    accepted = Event.objects.get(type="booking_item.accepted")
    assert not events_visible(audience="vendor", party_id=vendor.pk).filter(pk=accepted.pk).exists()
    assert event_document(accepted, audience="vendor", party_id=vendor.pk) is None
    assert event_document(accepted, audience="vendor", party_id=other_vendor.pk) is not None


def test_other_brokers_see_none_of_a_brokers_events(broker: Any, other_broker: Any) -> None:
    booking = approved_booking(broker=broker, vendors=[])
    theirs = events_visible(audience="broker", party_id=broker.pk).filter(
        reference=booking.reference
    )
    assert theirs.count() == len(_types(booking.reference))
    assert not events_visible(audience="broker", party_id=other_broker.pk).exists()


def test_a_broker_sees_its_offer_only_once_sent(broker: Any) -> None:
    offer = offers.offer_create(
        actor=SYSTEM,
        broker=broker,
        valid_until=timezone.now() + timedelta(days=10),
        lines=[item()],
    )
    visible = events_visible(audience="broker", party_id=broker.pk)
    assert not visible.exists()  # a draft is staff work in progress
    offers.offer_send(offer=offer, actor=SYSTEM)
    sent = visible.get(type="offer.sent")
    seen = event_document(sent, audience="broker", party_id=broker.pk)
    assert seen is not None and seen["data"]["status"] == "sent"
    assert all(
        set(line)
        <= {
            "id",
            "service_type",
            "description",
            "start",
            "end",
            "timezone",
            "quantity",
            "unit_price",
        }
        for line in seen["data"]["lines"]
    )
    assert set(seen["data"]["totals"]) == {"sell", "commission"}
    assert event_document(sent, audience="vendor", party_id=1) is None


def key_client_get(client: Any, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.content
    return response.json()


def test_partner_changes_are_not_events(partner_manager: Any) -> None:
    factories.VendorFactory()
    vendor = factories.VendorFactory()
    from partners import services as partners

    partners.partner_update(partner=vendor, actor=Actor(user=partner_manager), name="Renamed")
    assert not Event.objects.exists()


def test_a_vendor_chosen_on_a_draft_sees_nothing_until_it_is_asked(
    broker: Any, vendor: Any
) -> None:
    booking = bookings.booking_create(
        actor=SYSTEM, customer_name="Ada", broker=broker, items=[item(vendor)]
    )
    mine = events_visible(audience="vendor", party_id=vendor.pk)
    assert Event.objects.filter(reference=booking.reference).exists()
    assert not mine.exists()
    for event in Event.objects.filter(reference=booking.reference):
        seen = event_document(event, audience="vendor", party_id=vendor.pk)
        assert seen is None or seen["data"]["items"] == []
    bookings.booking_submit(booking=booking, actor=SYSTEM)
    assert mine.filter(type="booking_item.assigned").exists()


def test_a_vendor_replaced_on_a_reassignment_is_told_its_request_was_withdrawn(
    broker: Any, vendor: Any, other_vendor: Any
) -> None:
    booking = approved_booking(broker=broker, vendors=[vendor])
    mine = booking.items.get()
    bookings.item_assign_vendor(item=mine, vendor=other_vendor, actor=SYSTEM)
    event = Event.objects.get(type="booking_item.reassigned")
    # The old vendor sees it in its feed, as a withdrawal, with nothing of the new vendor.
    assert events_visible(audience="vendor", party_id=vendor.pk).filter(pk=event.pk).exists()
    withdrawn = event_document(event, audience="vendor", party_id=vendor.pk)
    assert withdrawn is not None
    assert withdrawn["data"]["vendor_status"] == "withdrawn"
    assert withdrawn["data"]["id"] == mine.pk
    assert set(withdrawn["data"]) == {
        "id", "booking", "service_type", "description", "start", "end", "timezone",
        "vendor_status",
    }
    # The new vendor sees the request as its own, pending.
    asked = event_document(event, audience="vendor", party_id=other_vendor.pk)
    assert asked is not None and asked["data"]["vendor_status"] == "pending"
    assert "withdrawn_from" not in asked["data"]
    # A third vendor sees nothing; the broker never learns who had it.
    third = factories.VendorFactory()
    assert event_document(event, audience="vendor", party_id=third.pk) is None
    seen = event_document(event, audience="broker", party_id=broker.pk)
    assert seen is not None and "withdrawn_from" not in seen["data"]


def test_a_withdrawn_vendors_webhook_receives_the_withdrawal(
    broker: Any, vendor: Any, other_vendor: Any
) -> None:
    from events.models import WebhookDelivery
    from events.services import webhook_register

    endpoint, _secret = webhook_register(
        actor=Actor(vendor=vendor, via="api"),
        url="http://127.0.0.1:9/hook",
        event_types=["booking_item.reassigned"],
    )
    booking = approved_booking(broker=broker, vendors=[vendor])
    bookings.item_assign_vendor(item=booking.items.get(), vendor=other_vendor, actor=SYSTEM)
    assert WebhookDelivery.objects.filter(
        endpoint=endpoint, event__type="booking_item.reassigned"
    ).count() == 1

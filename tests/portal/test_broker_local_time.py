"""A broker's request reads each service's times where the service happens.

A broker types 10:00 for a service in Lisbon in May: that is 10:00 WEST (09:00 UTC),
whatever the site's TIME_ZONE. The zone is the one chosen on the form (the usual zones
first), else the item's own when a draft's service is changed, else
DEFAULT_SERVICE_TIMEZONE; the form says which. A time a daylight-saving change skips
or repeats there is a field error in words, and nothing is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from bookings.models import Booking, BookingItem
from tests.portal.conftest import World, snapshot
from tests.portal.test_broker_portal import request_data

S = Booking.Status
HINT = 'Times are local to the service: <strong data-zone-hint="">{}</strong>'


def url(name: str, *args: Any) -> str:
    return reverse(f"portal:{name}", args=args)


@pytest.fixture(autouse=True)
def _zones(settings: Any) -> None:
    # The site's clock is far from the services': a time read in TIME_ZONE by mistake
    # would be off by hours.
    settings.TIME_ZONE = "Asia/Tokyo"
    settings.DEFAULT_SERVICE_TIMEZONE = "UTC"
    settings.SERVICE_TIMEZONES = ["Europe/Lisbon", "Atlantic/Madeira"]


def one_item(**item: str) -> dict[str, Any]:
    """A request of one service, its fields as typed (``items-0-<name>``)."""
    data = request_data(
        **{
            "items-TOTAL_FORMS": "1",
            "items-0-service_type": "transfer",
            "items-0-description": "Airport pickup",
            "items-0-quantity": "2",
        }
    )
    for key in [k for k in data if k.startswith("items-1-")]:
        del data[key]
    data.update({f"items-0-{name}": value for name, value in item.items()})
    return data


def new_items(world: World) -> list[BookingItem]:
    known = [world.booking.pk, world.draft.pk, world.other_booking.pk]
    return list(BookingItem.objects.exclude(booking__in=known))


def test_a_time_typed_for_a_lisbon_service_is_lisbon_time(
    world: World, broker_client: Client
) -> None:
    response = broker_client.post(
        url("booking-request"),
        one_item(timezone="Europe/Lisbon", start="2027-05-20T10:00", end="2027-05-20T11:30"),
    )
    assert response.status_code == 302, response.context and response.context["formset"].errors
    (item,) = new_items(world)
    assert item.timezone == "Europe/Lisbon"
    # 10:00 WEST is 09:00 UTC: not 10:00 in Tokyo (the site's clock), nor in UTC.
    assert item.start == datetime(2027, 5, 20, 9, 0, tzinfo=UTC)
    assert item.end == datetime(2027, 5, 20, 10, 30, tzinfo=UTC)
    page = broker_client.get(response["Location"]).content.decode()
    assert "Thu 20 May 2027, 10:00 – 11:30 WEST" in page


def test_without_a_choice_times_are_read_in_the_default_zone(
    world: World, broker_client: Client, settings: Any
) -> None:
    settings.DEFAULT_SERVICE_TIMEZONE = "Europe/Lisbon"
    data = one_item(start="2027-05-20T10:00", end="2027-05-20T11:00")
    assert "items-0-timezone" not in data
    assert broker_client.post(url("booking-request"), data).status_code == 302
    (item,) = new_items(world)
    assert (item.timezone, item.start) == ("Europe/Lisbon", datetime(2027, 5, 20, 9, tzinfo=UTC))


def test_the_form_says_which_zone_it_reads_times_in_and_offers_the_usual_ones_first(
    world: World, broker_client: Client, settings: Any
) -> None:
    settings.DEFAULT_SERVICE_TIMEZONE = "Europe/Lisbon"
    settings.SERVICE_TIMEZONES = ["Atlantic/Madeira", "Europe/Lisbon"]
    html = broker_client.get(url("booking-request")).content.decode()
    assert HINT.format("Europe/Lisbon") in html
    field = broker_client.get(url("booking-request")).context["formset"].forms[0]["timezone"]
    usual, every = field.field.choices
    assert usual == ("Usual", [("Europe/Lisbon", "Europe/Lisbon"), ("Atlantic/Madeira",) * 2])
    assert ("Asia/Tokyo", "Asia/Tokyo") in every[1]
    assert field.value() == "Europe/Lisbon"
    # Sent back with an error elsewhere, the form says the zone chosen.
    response = broker_client.post(
        url("booking-request"),
        one_item(timezone="Atlantic/Madeira", start="2027-05-20T10:00", end="", quantity="2"),
    )
    assert response.status_code == 200
    assert HINT.format("Atlantic/Madeira") in response.content.decode()
    assert 'name="items-0-timezone"' in response.content.decode()


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        # Lisbon's clocks go from 01:00 to 02:00 on 28 March 2027: 01:30 never happens.
        (
            "2027-03-28T01:30",
            "01:30 on Sun 28 Mar 2027 does not exist in Europe/Lisbon: the clocks go "
            "forward then. Give a time outside the change.",
        ),
        # And from 02:00 back to 01:00 on 31 October 2027: 01:30 happens twice.
        (
            "2027-10-31T01:30",
            "01:30 on Sun 31 Oct 2027 happens twice in Europe/Lisbon: the clocks go back "
            "then. Say which: the first (WEST) or the second (WET).",
        ),
    ],
)
def test_a_time_the_clocks_skip_or_repeat_is_a_field_error_and_nothing_is_stored(
    typed: str, words: str, world: World, broker_client: Client
) -> None:
    before = snapshot()
    response = broker_client.post(
        url("booking-request"),
        one_item(timezone="Europe/Lisbon", start=typed, end="2027-11-02T12:00"),
    )
    assert response.status_code == 200
    assert response.context["formset"].forms[0].errors["start"] == [words]
    assert snapshot() == before


def test_a_zone_that_is_not_one_is_a_field_error(world: World, broker_client: Client) -> None:
    before = snapshot()
    response = broker_client.post(
        url("booking-request"),
        one_item(timezone="Mars/Olympus", start="2027-05-20T10:00", end="2027-05-20T11:00"),
    )
    assert response.status_code == 200
    assert "timezone" in response.context["formset"].forms[0].errors
    assert snapshot() == before


# --- changing a service of a draft -----------------------------------------------------


def change_data(**fields: str) -> dict[str, str]:
    data = {
        "service_type": "accommodation",
        "description": "Double room, garden view",
        "timezone": "Europe/Lisbon",
        "start": "2027-05-20T15:00",
        "end": "2027-05-22T11:00",
        "quantity": "2",
    }
    data.update(fields)
    return data


def draft_item(world: World) -> BookingItem:
    return world.draft.items.get()


def test_a_drafts_service_is_changed_with_its_times_read_in_its_zone(
    world: World, broker_client: Client
) -> None:
    item = draft_item(world)
    detail = broker_client.get(url("booking-detail", world.draft.reference)).content.decode()
    change = url("booking-item-change", world.draft.reference, item.pk)
    assert f'href="{change}"' in detail
    # Its current times on its own clock (UTC here), and the zone they are read in.
    form = broker_client.get(change)
    assert form.status_code == 200
    assert HINT.format("UTC") in form.content.decode()
    assert f'value="{item.start.astimezone(UTC):%Y-%m-%dT%H:%M}"' in form.content.decode()

    response = broker_client.post(change, change_data())
    assert response.status_code == 302
    assert response["Location"] == url("booking-detail", world.draft.reference)
    item.refresh_from_db()
    assert item.timezone == "Europe/Lisbon"
    assert item.start == datetime(2027, 5, 20, 14, 0, tzinfo=UTC)  # 15:00 WEST
    # Shown again on the Lisbon clock.
    again = broker_client.get(change)
    assert HINT.format("Europe/Lisbon") in again.content.decode()
    assert again.context["form"]["start"].value() == datetime(2027, 5, 20, 15, 0)


def test_changing_a_draft_refuses_a_time_the_clocks_skip(
    world: World, broker_client: Client
) -> None:
    item = draft_item(world)
    before = snapshot()
    response = broker_client.post(
        url("booking-item-change", world.draft.reference, item.pk),
        change_data(start="2027-03-28T01:30"),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["start"] == [
        "01:30 on Sun 28 Mar 2027 does not exist in Europe/Lisbon: the clocks go forward "
        "then. Give a time outside the change."
    ]
    assert snapshot() == before


def test_a_broker_cannot_price_a_service_by_changing_it(
    world: World, broker_client: Client
) -> None:
    item = draft_item(world)
    before = snapshot()
    response = broker_client.post(
        url("booking-item-change", world.draft.reference, item.pk),
        change_data(unit_price="1.00"),
    )
    assert response.status_code == 200
    assert "Prices are ours to fill in" in response.content.decode()
    assert snapshot() == before


def test_a_submitted_bookings_services_are_not_changed_here(
    world: World, broker_client: Client
) -> None:
    world.booking.refresh_from_db()
    assert world.booking.status == S.PENDING_APPROVAL
    change = url("booking-item-change", world.booking.reference, world.item.pk)
    detail = broker_client.get(url("booking-detail", world.booking.reference)).content.decode()
    assert change not in detail
    page = broker_client.get(change).content.decode()
    assert "can no longer be changed here" in page and "<form" not in page.split("<main")[1]
    before = snapshot()
    response = broker_client.post(change, change_data())
    assert response.status_code == 200
    assert "Items can be changed only while the booking is a draft." in response.content.decode()
    assert snapshot() == before


def test_another_partner_cannot_open_a_drafts_service(
    world: World, other_broker_client: Client, vendor_client: Client, broker_client: Client
) -> None:
    item = draft_item(world)
    change = url("booking-item-change", world.draft.reference, item.pk)
    before = snapshot()
    for client in (other_broker_client, vendor_client):
        assert client.get(change).status_code == 404
        assert client.post(change, change_data()).status_code == 404
    # An item of another booking, under this draft's reference: not found either.
    elsewhere = url("booking-item-change", world.draft.reference, world.other_vendor_item.pk)
    assert broker_client.get(elsewhere).status_code == 404
    assert broker_client.post(elsewhere, change_data()).status_code == 404
    assert snapshot() == before

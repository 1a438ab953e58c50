"""A broker's portal: offers (accept, decline), bookings and booking requests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from notifications.formatting import format_when
from offers.models import Offer
from tests.portal.conftest import OFFER_SELL, SELL, World, snapshot

S = Booking.Status


def url(name: str, *args: Any) -> str:
    return reverse(f"portal:{name}", args=args)


LEAD = {"lead_name": "Offer Customer", "lead_email": "oc@example.com", "lead_phone": ""}


def local(dt: Any) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


# --- offers ------------------------------------------------------------------------------


def test_dashboard_shows_offers_awaiting_an_answer(world: World, broker_client: Client) -> None:
    html = broker_client.get(url("dashboard")).content.decode()
    assert world.offer.reference in html
    assert world.draft_offer.reference not in html
    assert world.booking.reference in html
    assert "Request a booking" in html


def test_offer_list_never_shows_drafts_or_other_brokers(
    world: World, broker_client: Client
) -> None:
    html = broker_client.get(url("offers") + "?show=all").content.decode()
    assert world.offer.reference in html
    assert world.draft_offer.reference not in html
    assert world.other_offer.reference not in html


def test_offer_page_lists_lines_with_prices_and_commission(
    world: World, broker_client: Client
) -> None:
    html = broker_client.get(url("offer-detail", world.offer.reference)).content.decode()
    line = world.offer.lines.get()
    for expected in (
        "Sunset cruise for two",
        "Activity",
        format_when(line.start, line.end),
        f"EUR {OFFER_SELL:,.2f}",
        f"EUR {2 * OFFER_SELL:,.2f}",
        f"EUR {2 * OFFER_SELL / 10:,.2f}",  # 10 % commission
        url("offer-accept", world.offer.reference),
    ):
        assert expected in html, expected


def test_broker_accepts_an_offer_after_confirming(world: World, broker_client: Client) -> None:
    page = broker_client.get(url("offer-accept", world.offer.reference))
    assert "It cannot be undone here" in page.content.decode()
    world.offer.refresh_from_db()
    assert world.offer.status == Offer.Status.SENT  # the GET changed nothing

    response = broker_client.post(url("offer-accept", world.offer.reference), LEAD, follow=True)
    world.offer.refresh_from_db()
    booking = world.offer.booking
    # The lead traveller as given, never the broker's company name.
    assert (booking.customer_name, booking.customer_email) == ("Offer Customer", "oc@example.com")
    assert world.offer.status == Offer.Status.ACCEPTED
    assert booking.broker == world.broker and booking.status == S.PENDING_APPROVAL
    assert response.redirect_chain[-1][0] == url("booking-detail", booking.reference)
    html = response.content.decode()
    assert "It is now booking" in html and "Sunset cruise for two" in html


def test_accepting_an_accepted_offer_is_refused(world: World, broker_client: Client) -> None:
    broker_client.post(url("offer-accept", world.offer.reference), LEAD)
    before = snapshot()
    response = broker_client.post(url("offer-accept", world.offer.reference), LEAD)
    assert response.status_code == 200
    assert "Cannot accept: offer" in response.content.decode()
    assert snapshot() == before


def test_an_offer_past_its_validity_cannot_be_accepted(world: World, broker_client: Client) -> None:
    Offer.objects.filter(pk=world.offer.pk).update(
        valid_until=timezone.now() - timedelta(minutes=1)
    )
    detail = broker_client.get(url("offer-detail", world.offer.reference)).content.decode()
    assert "This offer expired" in detail
    assert url("offer-accept", world.offer.reference) not in detail
    before = snapshot()
    response = broker_client.post(url("offer-accept", world.offer.reference))
    assert "expired on" in response.content.decode()
    assert snapshot() == before


def test_broker_declines_an_offer_with_a_reason(world: World, broker_client: Client) -> None:
    page = broker_client.get(url("offer-decline", world.offer.reference))
    assert "Declining is final" in page.content.decode()
    response = broker_client.post(
        url("offer-decline", world.offer.reference), {"reason": "Customer chose Madeira"}
    )
    assert response.status_code == 302
    world.offer.refresh_from_db()
    assert world.offer.status == Offer.Status.DECLINED
    assert world.offer.decline_reason == "Customer chose Madeira"
    html = broker_client.get(url("offer-detail", world.offer.reference)).content.decode()
    assert "You declined this offer" in html


def test_declining_twice_is_refused(world: World, broker_client: Client) -> None:
    broker_client.post(url("offer-decline", world.offer.reference), {"reason": ""})
    before = snapshot()
    response = broker_client.post(url("offer-decline", world.offer.reference), {"reason": "x"})
    assert "Cannot decline: offer" in response.content.decode()
    assert snapshot() == before


# --- bookings ---------------------------------------------------------------------------


def test_booking_list_and_filters(world: World, broker_client: Client) -> None:
    html = broker_client.get(url("bookings")).content.decode()
    assert world.booking.reference in html and world.draft.reference in html
    assert world.other_booking.reference not in html
    cancelled = broker_client.get(url("bookings") + "?show=cancelled").content.decode()
    assert world.booking.reference not in cancelled
    assert "No bookings here" in cancelled


@pytest.mark.filterwarnings("error::django.core.paginator.UnorderedObjectListWarning")
def test_booking_list_and_dashboard_are_newest_first(world: World, broker_client: Client) -> None:
    """``with_totals()`` groups the query, which makes Django drop Meta.ordering."""
    older, newer = world.booking, world.draft
    Booking.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=3))
    for page in (url("bookings"), url("dashboard")):
        html = broker_client.get(page).content.decode()
        assert html.index(newer.reference) < html.index(older.reference), page
    Booking.objects.filter(pk=newer.pk).update(created_at=timezone.now() - timedelta(days=5))
    for page in (url("bookings"), url("dashboard")):
        html = broker_client.get(page).content.decode()
        assert html.index(older.reference) < html.index(newer.reference), page


def test_booking_page_shows_items_with_sell_price_and_commission(
    world: World, broker_client: Client
) -> None:
    html = broker_client.get(url("booking-detail", world.booking.reference)).content.decode()
    for expected in (
        "Pending approval",
        "Double room, garden view",
        "Airport pickup, minivan",
        format_when(world.item.start, world.item.end),
        f"EUR {2 * SELL:,.2f}",
        f"EUR {2 * SELL / 10:,.2f}",
        "Being arranged",
    ):
        assert expected in html, expected


def test_an_unpriced_request_shows_its_total_to_follow_not_zero(
    world: World, broker_client: Client
) -> None:
    detail = broker_client.get(url("booking-detail", world.draft.reference)).content.decode()
    assert "Price to follow" in detail and "To follow" in detail
    assert "0.00" not in detail
    listing = broker_client.get(url("bookings")).content.decode()
    draft_card = listing[listing.index(world.draft.reference) :].split("</article>")[0]
    assert "To follow" in draft_card and "0.00" not in draft_card
    priced_card = listing[listing.index(world.booking.reference) :].split("</article>")[0]
    assert f"EUR {2 * (SELL + 40):,.2f}" in priced_card  # two lines, quantity 2 each


def request_data(**extra: Any) -> dict[str, Any]:
    start = timezone.now() + timedelta(days=40)
    data = {
        "customer_name": "Ingrid Nilsen",
        "customer_email": "ingrid@example.com",
        "customer_phone": "+4791234567",
        "currency": "NOK",
        "notes": "Honeymoon",
        "items-TOTAL_FORMS": "2",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "1",
        "items-MAX_NUM_FORMS": "30",
        "items-0-service_type": "accommodation",
        "items-0-description": "Suite with a view",
        "items-0-start": local(start),
        "items-0-end": local(start + timedelta(days=3)),
        "items-0-quantity": "1",
        "items-1-service_type": "transfer",
        "items-1-description": "Airport transfer",
        "items-1-start": local(start),
        "items-1-end": local(start + timedelta(hours=1)),
        "items-1-quantity": "2",
    }
    data.update(extra)
    return data


def test_broker_requests_a_booking_then_submits_it(world: World, broker_client: Client) -> None:
    response = broker_client.post(url("booking-request"), request_data())
    booking = Booking.objects.exclude(
        pk__in=[world.booking.pk, world.draft.pk, world.other_booking.pk]
    ).get()
    assert response.status_code == 302
    assert response["Location"] == url("booking-detail", booking.reference)
    assert booking.status == S.DRAFT and booking.source == Booking.Source.PORTAL
    assert booking.broker == world.broker and booking.currency == "NOK"
    assert booking.customer_phone == "+4791234567"
    assert sorted(booking.items.values_list("description", "quantity")) == [
        ("Airport transfer", 2),
        ("Suite with a view", 1),
    ]
    detail = broker_client.get(url("booking-detail", booking.reference)).content.decode()
    assert "Price to follow" in detail and "Submit for approval" in detail

    confirm = broker_client.get(url("booking-submit", booking.reference))
    assert "can no longer be changed here" in confirm.content.decode()
    booking.refresh_from_db()
    assert booking.status == S.DRAFT

    broker_client.post(url("booking-submit", booking.reference))
    booking.refresh_from_db()
    assert booking.status == S.PENDING_APPROVAL


def test_add_another_item_keeps_what_was_typed(world: World, broker_client: Client) -> None:
    before = snapshot()
    response = broker_client.post(
        url("booking-request"), request_data(add_item="1", **{"items-1-DELETE": "on"})
    )
    html = response.content.decode()
    formset = response.context["formset"]
    assert len(formset.forms) == 2  # row 1 removed, one blank row added
    assert 'value="Ingrid Nilsen"' in html and 'value="Suite with a view"' in html
    assert "Airport transfer" not in html
    assert "This field is required" not in html  # a half-filled form is not an error yet
    assert snapshot() == before


def test_request_errors_sit_beside_their_fields(world: World, broker_client: Client) -> None:
    past = timezone.now() - timedelta(days=1)
    before = snapshot()
    response = broker_client.post(url("booking-request"), request_data(customer_name=""))
    assert 'id="id_customer_name_error"' in response.content.decode()
    # The service's refusals sit beside the field of the item they concern.
    response = broker_client.post(
        url("booking-request"), request_data(**{"items-0-start": local(past)})
    )
    assert response.status_code == 200
    assert response.context["formset"].forms[0].errors["start"] == [
        "Item 1: The start is in the past."
    ]
    response = broker_client.post(
        url("booking-request"), request_data(**{"items-1-end": local(past)})
    )
    assert response.context["formset"].forms[1].errors["end"] == [
        "Item 2: The end is before the start."
    ]
    assert snapshot() == before


def test_request_needs_at_least_one_item(world: World, broker_client: Client) -> None:
    data = {k: v for k, v in request_data().items() if not k.startswith("items-")}
    data.update({"items-TOTAL_FORMS": "1", "items-INITIAL_FORMS": "0"})
    data.update({"items-0-service_type": "", "items-0-quantity": ""})
    before = snapshot()
    response = broker_client.post(url("booking-request"), data)
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert snapshot() == before


def test_tampered_management_form_is_a_form_error(world: World, broker_client: Client) -> None:
    data = request_data()
    del data["items-TOTAL_FORMS"]
    before = snapshot()
    response = broker_client.post(url("booking-request"), data)
    assert response.status_code == 200
    assert "Add at least one item." in response.content.decode()
    assert snapshot() == before


def test_submitting_twice_is_refused(world: World, broker_client: Client) -> None:
    broker_client.post(url("booking-submit", world.draft.reference))
    before = snapshot()
    response = broker_client.post(url("booking-submit", world.draft.reference))
    assert "Cannot submit for approval" in response.content.decode()
    assert snapshot() == before


def test_broker_cancels_its_request_with_a_reason(world: World, broker_client: Client) -> None:
    blank = broker_client.post(url("booking-cancel", world.draft.reference), {"reason": ""})
    assert "This field is required." in blank.content.decode()
    broker_client.post(url("booking-cancel", world.draft.reference), {"reason": "Plans changed"})
    world.draft.refresh_from_db()
    assert world.draft.status == S.CANCELLED and world.draft.cancel_reason == "Plans changed"


def test_approved_booking_cannot_be_cancelled_by_the_broker(
    world: World, broker_client: Client, approver: Any
) -> None:
    from bookings import services as bs
    from core.domain import Actor

    bs.booking_approve(booking=world.booking, actor=Actor(user=approver, via="admin"))
    before = snapshot()
    response = broker_client.post(
        url("booking-cancel", world.booking.reference), {"reason": "Too late"}
    )
    assert response.status_code == 200
    assert "This booking is approved; ask us to cancel it." in response.content.decode()
    assert snapshot() == before


def test_broker_updates_contact_details_without_channels(
    world: World, broker_client: Client
) -> None:
    page = broker_client.get(url("profile")).content.decode()
    assert "notify_by" not in page
    assert "10.00 %" in page
    broker_client.post(url("profile"), {"email": "ops@nordic.example", "phone": ""})
    world.broker.refresh_from_db()
    assert world.broker.email == "ops@nordic.example"

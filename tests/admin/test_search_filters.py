"""Search and every filter of the back-office changelists find what staff look for."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from bookings import services as bs
from bookings.models import Booking, BookingItem
from offers.models import Offer
from partners import services as ps
from partners.models import ApiKey, Invitation, PortalAccount, Vendor
from tests import factories
from tests.admin.helpers import SYSTEM, changelist, make_booking, make_offer

pytestmark = pytest.mark.django_db


def found(client: Any, model: Any, query: str) -> set[int]:
    response = client.get(changelist(model) + "?" + query)
    assert response.status_code == 200  # an unknown lookup would redirect to ?e=1
    return {obj.pk for obj in response.context["cl"].result_list}


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    """Two bookings that differ in every way a search or filter can tell apart."""
    hotel = factories.VendorFactory(
        name="Hotel Avenida", email="desk@avenida.example", service_types=["accommodation"]
    )
    coach = factories.VendorFactory(
        name="Algarve Coaches", email="ops@coaches.example", service_types=["transfer"]
    )
    nordic = factories.BrokerFactory(name="Nordic Travel", email="bookings@nordic.example")
    first = make_booking("confirmed", vendor=hotel, broker=nordic, customer_name="Anna Lindqvist")
    second = make_booking("draft", customer_name="Jonas Becker", items=2)
    soon = timezone.now() + timedelta(days=3)
    bs.item_update(
        item=second.items.first(),
        actor=SYSTEM,
        service_type="transfer",
        start=soon,
        end=soon + timedelta(hours=1),
    )
    bs.item_assign_vendor(item=second.items.first(), vendor=coach, actor=SYSTEM)
    Booking.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=40))
    return {"hotel": hotel, "coach": coach, "nordic": nordic, "first": first, "second": second}


@pytest.mark.parametrize(
    ("term", "which"),
    [
        ("", {"first", "second"}),
        ("Lindqvist", {"first"}),
        ("jonas.becker@example.com", {"second"}),
        ("Nordic", {"first"}),
        ("bookings@nordic.example", {"first"}),
        ("Avenida", {"first"}),
        ("ops@coaches.example", {"second"}),
        ("V-1", {"first"}),
        ("nothing-like-this", set()),
    ],
)
def test_booking_search(staff_client: Any, world: dict[str, Any], term: str, which: set) -> None:
    assert found(staff_client, Booking, f"q={term}") == {world[w].pk for w in which}


def test_booking_search_by_reference(staff_client: Any, world: dict[str, Any]) -> None:
    first = world["first"]
    assert found(staff_client, Booking, f"q={first.reference}") == {first.pk}
    # A vendor on several items still lists the booking once.
    bs.item_add(booking=world["second"], actor=SYSTEM, **_item(), vendor=world["coach"])
    response = staff_client.get(changelist(Booking) + "?q=Algarve")
    assert [b.pk for b in response.context["cl"].result_list] == [world["second"].pk]


def _item() -> dict[str, Any]:
    start = timezone.now() + timedelta(days=9)
    return {
        "service_type": "transfer",
        "description": "Return transfer",
        "start": start,
        "end": start + timedelta(hours=1),
        "quantity": 1,
        "unit_price": 40,
        "unit_cost": 30,
    }


def test_booking_totals_in_the_list_count_each_item_once_when_searching(
    staff_client: Any, world: dict[str, Any]
) -> None:
    second = world["second"]
    response = staff_client.get(changelist(Booking) + "?q=Algarve")
    [row] = response.context["cl"].result_list
    # 2 items x 2 x 150.00, whatever join the search made.
    assert row.total_sell == 600 and row.live_count == 2
    assert row.pk == second.pk


@pytest.mark.parametrize(
    ("query", "which"),
    [
        ("status__exact=confirmed", {"first"}),
        ("status__exact=draft", {"second"}),
        ("status__exact=cancelled", set()),
        ("vendor_status=needs_vendor", {"second"}),
        # The coach is only chosen on the draft: asked (pending) once it is submitted.
        ("vendor_status=pending", set()),
        ("vendor_status=confirmed", {"first"}),
        ("travel=next7", {"second"}),
        ("travel=next30", {"first", "second"}),
        ("travel=past", set()),
        ("source__exact=admin", set()),
        ("source__exact=system", {"first", "second"}),
        ("currency=EUR", {"first", "second"}),
        ("broker__isnull=True", {"second"}),
    ],
)
def test_booking_filters(staff_client: Any, world: dict[str, Any], query: str, which: set) -> None:
    assert found(staff_client, Booking, query) == {world[w].pk for w in which}


def test_booking_partner_and_date_filters(staff_client: Any, world: dict[str, Any]) -> None:
    first, second = world["first"], world["second"]
    assert found(staff_client, Booking, f"broker__id__exact={world['nordic'].pk}") == {first.pk}
    assert found(staff_client, Booking, f"vendor={world['coach'].pk}") == {second.pk}
    assert found(staff_client, Booking, f"vendor={world['hotel'].pk}") == {first.pk}
    # As the admin's "Past 7 days" link writes it: aware midnights.
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    week = urlencode(
        {"created_at__gte": today - timedelta(days=7), "created_at__lt": today + timedelta(days=1)}
    )
    assert found(staff_client, Booking, week) == {second.pk}
    old = timezone.localtime(first.__class__.objects.get(pk=first.pk).created_at)
    hierarchy = f"created_at__year={old.year}&created_at__month={old.month}"
    assert first.pk in found(staff_client, Booking, hierarchy)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "vendor_status__exact=confirmed",
            lambda w: set(w["first"].items.values_list("pk", flat=True)),
        ),
        (
            "vendor_status__exact=unassigned",
            lambda w: set(w["second"].items.values_list("pk", flat=True)),
        ),
        ("service_type__exact=transfer", lambda w: {w["second"].items.order_by("id").first().pk}),
        (
            "booking__status__exact=draft",
            lambda w: set(w["second"].items.values_list("pk", flat=True)),
        ),
        ("q=Lindqvist", lambda w: set(w["first"].items.values_list("pk", flat=True))),
        ("q=Algarve", lambda w: {w["second"].items.order_by("id").first().pk}),
        ("live=no", lambda w: set()),
    ],
)
def test_item_search_and_filters(
    staff_client: Any, world: dict[str, Any], query: str, expected: Any
) -> None:
    assert found(staff_client, BookingItem, query) == expected(world)


def test_item_filters_by_vendor_reference_liveness_and_dates(
    staff_client: Any, world: dict[str, Any]
) -> None:
    transfer = world["second"].items.order_by("id").first()
    assert found(staff_client, BookingItem, f"vendor__id__exact={world['coach'].pk}") == {
        transfer.pk
    }
    bs.item_cancel(item=transfer, actor=SYSTEM)
    assert found(staff_client, BookingItem, "live=no") == {transfer.pk}
    assert transfer.pk not in found(staff_client, BookingItem, "live=yes")
    assert found(staff_client, BookingItem, f"q={world['first'].reference}") == set(
        world["first"].items.values_list("pk", flat=True)
    )
    start = timezone.localtime(transfer.start)
    assert transfer.pk in found(
        staff_client, BookingItem, f"start__year={start.year}&start__month={start.month}"
    )


def test_offer_search_and_filters(staff_client: Any, broker: Any) -> None:
    draft = make_offer("draft")
    sent = make_offer("sent", broker=broker)
    accepted = make_offer("accepted")
    Offer.objects.filter(pk=sent.pk).update(valid_until=timezone.now() + timedelta(days=1))
    assert found(staff_client, Offer, "status__exact=draft") == {draft.pk}
    assert found(staff_client, Offer, "validity=soon") == {sent.pk}
    assert found(staff_client, Offer, f"broker__id__exact={broker.pk}") == {sent.pk}
    assert found(staff_client, Offer, f"q={broker.name}") == {sent.pk}
    assert found(staff_client, Offer, f"q={broker.email}") == {sent.pk}
    assert found(staff_client, Offer, f"q={draft.reference}") == {draft.pk}
    assert found(staff_client, Offer, f"q={accepted.booking.reference}") == {accepted.pk}
    assert found(staff_client, Offer, "q=emily.carter") == {draft.pk, accepted.pk}
    Offer.objects.filter(pk=sent.pk).update(valid_until=timezone.now() - timedelta(hours=1))
    assert found(staff_client, Offer, "validity=due") == {sent.pk}


def test_vendor_search_and_filters(staff_client: Any) -> None:
    hotel = factories.VendorFactory(name="Sea Hotel", service_types=["accommodation"])
    guide = factories.VendorFactory(name="City Guides", service_types=["activity", "transfer"])
    closed = factories.VendorFactory(name="Closed Venue", service_types=["venue"], is_active=False)
    assert found(staff_client, Vendor, "service_type=transfer") == {guide.pk}
    assert found(staff_client, Vendor, "service_type=accommodation") == {hotel.pk}
    assert found(staff_client, Vendor, "is_active__exact=0") == {closed.pk}
    assert found(staff_client, Vendor, f"q={guide.email}") == {guide.pk}
    assert found(staff_client, Vendor, "q=hotel") == {hotel.pk}


def test_invitation_api_key_and_portal_account_filters(
    staff_client: Any, vendor: Any, broker: Any, vendor_user: Any
) -> None:
    ps.partner_invite(partner=vendor, actor=SYSTEM)
    ps.partner_invite(partner=vendor, actor=SYSTEM)
    ps.partner_invite(partner=broker, actor=SYSTEM)
    replaced = Invitation.objects.get(revoked_at__isnull=False)
    assert found(staff_client, Invitation, "state=replaced") == {replaced.pk}
    assert len(found(staff_client, Invitation, "state=open")) == 2
    assert found(staff_client, Invitation, "kind=broker") == {broker.invitations.get().pk}
    assert found(staff_client, Invitation, f"q={broker.email}") == {broker.invitations.get().pk}
    live, _ = ps.api_key_create(actor=SYSTEM, vendor=vendor, name="sync")
    dead, _ = ps.api_key_create(actor=SYSTEM, broker=broker, name="old")
    ps.api_key_revoke(key=dead, actor=SYSTEM)
    assert found(staff_client, ApiKey, "state=active") == {live.pk}
    assert found(staff_client, ApiKey, "state=revoked") == {dead.pk}
    assert found(staff_client, ApiKey, f"q={live.prefix}") == {live.pk}
    account = PortalAccount.objects.get(user=vendor_user)
    assert found(staff_client, PortalAccount, "kind=vendor") == {account.pk}
    assert found(staff_client, PortalAccount, "kind=broker") == set()
    assert found(staff_client, PortalAccount, f"q={vendor.name}") == {account.pk}


@pytest.mark.parametrize("query", ["q={reference}", "q=Avenida", "q=V-1", "vendor={vendor}"])
def test_booking_search_shows_the_same_totals_as_the_plain_list(
    staff_client: Any, query: str
) -> None:
    """A search or filter that reaches the items (vendor name, vendor reference) must not
    count each item once per matching item: five items, each EUR 300, are EUR 1,500 and
    "5/5 confirmed" however the booking was found."""
    hotel = factories.VendorFactory(name="Hotel Avenida", email="desk@avenida.example")
    booking = make_booking("confirmed", vendor=hotel, items=5)

    def row(params: str) -> tuple[str, str, str]:
        response = staff_client.get(changelist(Booking) + "?" + params)
        assert response.status_code == 200
        [shown] = [b for b in response.context["cl"].result_list if b.pk == booking.pk]
        admin = response.context["cl"].model_admin
        return admin.sell(shown), admin.margin(shown), admin.items_progress(shown)

    plain = row("")
    assert plain[0].replace("\u00a0", " ") == "EUR 1,500.00"
    assert plain[2] == "5/5 confirmed"
    assert row(query.format(reference=booking.reference, vendor=hotel.pk)) == plain

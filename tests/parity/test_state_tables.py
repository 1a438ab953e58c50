"""Each state machine is one table: the services refuse what it refuses, and the admin
buttons, the portal buttons and the API's ``actions`` show exactly the moves it allows
for that object and that caller."""

from __future__ import annotations

import functools
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from bookings import services as bs
from bookings.models import Booking, BookingItem
from bookings.states import BOOKING, ITEM
from core.domain import Actor, DomainError
from offers import services as os_
from offers.states import OFFER
from partners.services import api_key_create
from tests import factories

pytestmark = pytest.mark.django_db
SYSTEM = Actor(via="system", label="tables")
S = Booking.Status
V = BookingItem.VendorStatus


def api(**owner: Any) -> APIClient:
    _, raw = api_key_create(actor=SYSTEM, name="tables", **owner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def item_data(**overrides: Any) -> dict[str, Any]:
    start = timezone.now() + timedelta(days=30)
    return {
        "service_type": "accommodation",
        "description": "Double room",
        "start": start,
        "end": start + timedelta(days=2),
        "quantity": 2,
        "unit_price": Decimal("150.00"),
        "unit_cost": Decimal("100.00"),
        **overrides,
    }


def booking_in(status: str, *, broker: Any = None, vendor: Any = None) -> Booking:
    booking = bs.booking_create(
        actor=SYSTEM, customer_name="Ana Lead", broker=broker, items=[item_data()]
    )
    if status == S.DRAFT:
        return booking
    if status == S.CANCELLED:
        return bs.booking_cancel(booking=booking, actor=SYSTEM, reason="Test")
    bs.booking_submit(booking=booking, actor=SYSTEM)
    if vendor is not None:
        item = booking.items.get()
        bs.item_assign_vendor(item=item, vendor=vendor, actor=SYSTEM)
        if status in (S.CONFIRMED, S.COMPLETED):
            bs.item_accept(item=item, actor=SYSTEM)
    if status == S.PENDING_APPROVAL:
        return Booking.objects.get(pk=booking.pk)
    bs.booking_approve(booking=booking, actor=SYSTEM)
    if status in (S.CONFIRMED, S.COMPLETED):
        bs.item_confirm(item=booking.items.get(), actor=SYSTEM, vendor_reference="R-1")
    if status == S.COMPLETED:
        bs.booking_complete(booking=booking, actor=SYSTEM)
    return Booking.objects.get(pk=booking.pk)


def admin_buttons(client: Client, obj: Any) -> set[str]:
    meta = obj._meta
    page = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
    assert page.status_code == 200
    own = reverse(f"admin:{meta.app_label}_{meta.model_name}_transition", args=[obj.pk, "x"])
    prefix = re.escape(own[: -len("x/")])
    return set(re.findall(prefix + r"([a-z_]+)/", page.content.decode()))


def tried(machine: Any, verb: str, obj: Any, actor: Actor, call: Any) -> bool:
    """Whether the service let the move through (in a savepoint, rolled back after)."""
    from django.db import transaction

    try:
        with transaction.atomic():
            call()
            transaction.set_rollback(True)
    except DomainError:
        return False
    return True


STATUSES = [S.DRAFT, S.PENDING_APPROVAL, S.APPROVED, S.CONFIRMED, S.COMPLETED, S.CANCELLED]


@pytest.mark.parametrize("status", STATUSES)
def test_the_booking_table_drives_the_services_and_every_door(
    status: str, superuser: Any, broker: Any, vendor: Any
) -> None:
    booking = booking_in(status, broker=broker, vendor=vendor)
    staff = Actor(user=superuser, via="admin")
    mine = Actor(broker=broker, via="portal")

    # The services do what the table says, for staff and for the broker.
    calls = {
        "submit": lambda a: bs.booking_submit(booking=booking, actor=a),
        "approve": lambda a: bs.booking_approve(booking=booking, actor=a),
        "cancel": lambda a: bs.booking_cancel(booking=booking, actor=a, reason="Because"),
        "complete": lambda a: bs.booking_complete(booking=booking, actor=a),
    }
    for verb, call in calls.items():
        for actor in (staff, mine):
            allowed = BOOKING.can(verb, booking, actor)
            move = functools.partial(call, actor)
            assert tried(BOOKING, verb, booking, actor, move) == allowed, (
                verb,
                actor,
            )

    # The admin shows a button for each move staff may make now, and no other.
    admin = Client()
    admin.force_login(superuser)
    expected = {v for v in BOOKING.allowed(booking, staff) if v in calls}
    # Buttons other apps add (billing's "invoice") follow their own rules.
    assert admin_buttons(admin, booking) & set(BOOKING.moves) == expected

    # The portal shows the broker's moves.
    portal = Client()
    portal.force_login(factories.PortalAccountFactory(broker=broker).user)
    html = portal.get(reverse("portal:booking-detail", args=[booking.reference])).content.decode()
    shown = {verb for verb in ("submit", "cancel") if f"/{booking.reference}/{verb}/" in html}
    assert shown == {v for v in BOOKING.allowed(booking, mine) if v in ("submit", "cancel")}

    # The API lists them, for each kind of caller, in the detail and in the list.
    for client, actor in ((api(user=superuser), staff), (api(broker=broker), mine)):
        body = client.get(f"/api/v1/bookings/{booking.reference}/").json()
        assert body["actions"] == BOOKING.allowed(booking, actor, contents=False)
        [row] = client.get("/api/v1/bookings/").json()["results"]
        assert row["actions"] == body["actions"]


def test_a_staff_user_without_the_approve_permission_sees_no_approve_anywhere(
    broker: Any,
) -> None:
    booking = booking_in(S.PENDING_APPROVAL, broker=broker)
    agent = factories.StaffFactory()
    agent.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_booking", "change_booking", "view_bookingitem"]
        )
    )
    actor = Actor(user=agent, via="admin")
    assert not BOOKING.can("approve", booking, actor)
    admin = Client()
    admin.force_login(agent)
    assert "approve" not in admin_buttons(admin, booking)
    assert "cancel" in admin_buttons(admin, booking)
    body = api(user=agent).get(f"/api/v1/bookings/{booking.reference}/").json()
    assert "approve" not in body["actions"] and "cancel" in body["actions"]


def test_unpriced_items_hide_the_approve_button(superuser: Any, broker: Any) -> None:
    requested = {k: v for k, v in item_data().items() if not k.startswith("unit_")}
    mine = Actor(broker=broker, via="portal")
    booking = bs.booking_create(actor=mine, customer_name="Ana", items=[requested])
    bs.booking_submit(booking=booking, actor=mine)
    admin = Client()
    admin.force_login(superuser)
    assert "approve" not in admin_buttons(admin, booking)
    item = booking.items.get()
    bs.item_update(item=item, actor=SYSTEM, unit_price=Decimal("10.00"))
    assert "approve" in admin_buttons(admin, booking)


@pytest.mark.parametrize("answer", [V.PENDING, V.ACCEPTED, V.CONFIRMED, V.DECLINED])
def test_the_item_table_drives_the_vendor_portal_and_api(
    answer: str, superuser: Any, vendor: Any, other_vendor: Any
) -> None:
    booking = booking_in(S.PENDING_APPROVAL, vendor=vendor)
    item = booking.items.get()
    if answer in (V.ACCEPTED, V.CONFIRMED):
        bs.item_accept(item=item, actor=SYSTEM)
    if answer == V.CONFIRMED:
        bs.item_confirm(item=item, actor=SYSTEM, vendor_reference="R-2")
    if answer == V.DECLINED:
        bs.item_decline(item=item, actor=SYSTEM, reason="Full")
    item = BookingItem.objects.select_related("booking").get(pk=item.pk)
    theirs = Actor(vendor=vendor, via="portal")
    someone_else = Actor(vendor=other_vendor, via="portal")
    assert ITEM.allowed(item, someone_else) == []

    portal = Client()
    portal.force_login(factories.PortalAccountFactory(vendor=vendor).user)
    html = portal.get(reverse("portal:item-detail", args=[item.pk])).content.decode()
    shown = {verb for verb in ("accept", "decline", "confirm") if f"/{item.pk}/{verb}/" in html}
    assert shown == set(ITEM.allowed(item, theirs))

    body = api(vendor=vendor).get(f"/api/v1/booking-items/{item.pk}/").json()
    assert body["actions"] == ITEM.allowed(item, theirs, contents=False)
    [row] = api(vendor=vendor).get("/api/v1/booking-items/").json()["results"]
    assert row["actions"] == body["actions"]

    admin = Client()
    admin.force_login(superuser)
    staff = Actor(user=superuser, via="admin")
    # Every move but "change", which is the item's form, not a button.
    assert admin_buttons(admin, item) == set(ITEM.allowed(item, staff)) - {"change"}


@pytest.mark.parametrize("lapsed", [False, True])
def test_the_offer_table_drives_the_broker_portal_and_api(
    superuser: Any, broker: Any, lapsed: bool
) -> None:
    offer = os_.offer_create(
        actor=SYSTEM,
        broker=broker,
        valid_until=timezone.now() + timedelta(days=5),
        lines=[{k: v for k, v in item_data().items()}],
    )
    os_.offer_send(offer=offer, actor=SYSTEM)
    if lapsed:
        type(offer).objects.filter(pk=offer.pk).update(
            valid_until=timezone.now() - timedelta(days=1)
        )
    offer.refresh_from_db()
    mine = Actor(broker=broker, via="portal")
    portal = Client()
    portal.force_login(factories.PortalAccountFactory(broker=broker).user)
    html = portal.get(reverse("portal:offer-detail", args=[offer.reference])).content.decode()
    shown = {verb for verb in ("accept", "decline") if f"/{offer.reference}/{verb}/" in html}
    assert shown == set(OFFER.allowed(offer, mine))
    assert shown == (set() if lapsed else {"accept", "decline"})
    admin = Client()
    admin.force_login(superuser)
    assert admin_buttons(admin, offer) == set(
        OFFER.allowed(offer, Actor(user=superuser, via="admin"))
    ) - {"expire", "change"}
    body = api(broker=broker).get(f"/api/v1/offers/{offer.reference}/").json()
    assert body["actions"] == OFFER.allowed(offer, mine, contents=False)

"""Every portal page and action, opened by someone it does not belong to.

Another vendor, another broker: 404, the same answer as for something that does not
exist. Anonymous: the login page. Staff: the admin. In every case nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from bookings import services as bs
from core.domain import Actor
from partners import services as ps
from tests import factories
from tests.portal.conftest import World, client_for, line, portal_user, snapshot

Target = Callable[[World], tuple[Any, ...]]

# (url name, the owner's object as URL args, whose page it is)
OBJECT_PAGES: list[tuple[str, Target, str]] = [
    ("item-detail", lambda w: (w.item.pk,), "vendor"),
    ("item-accept", lambda w: (w.item.pk,), "vendor"),
    ("item-decline", lambda w: (w.item.pk,), "vendor"),
    ("item-confirm", lambda w: (w.item.pk,), "vendor"),
    ("offer-detail", lambda w: (w.offer.reference,), "broker"),
    ("offer-accept", lambda w: (w.offer.reference,), "broker"),
    ("offer-decline", lambda w: (w.offer.reference,), "broker"),
    ("booking-detail", lambda w: (w.booking.reference,), "broker"),
    ("booking-submit", lambda w: (w.draft.reference,), "broker"),
    ("booking-cancel", lambda w: (w.draft.reference,), "broker"),
]
# Pages of one partner kind without an object: the other kind gets a 404.
KIND_PAGES: list[tuple[str, str]] = [
    ("items", "vendor"),
    ("history", "vendor"),
    ("offers", "broker"),
    ("bookings", "broker"),
    ("booking-request", "broker"),
]
# (url name, object, POST data): each one legal for the owner (see test_owner_can...).
ACTIONS: list[tuple[str, Target, dict[str, str]]] = [
    ("item-accept", lambda w: (w.item.pk,), {}),
    ("item-decline", lambda w: (w.item.pk,), {"reason": "Fully booked"}),
    ("item-confirm", lambda w: (w.accepted_item.pk,), {"vendor_reference": "X-1"}),
    ("offer-accept", lambda w: (w.offer.reference,), {"lead_email": "lead@example.com"}),
    ("offer-decline", lambda w: (w.offer.reference,), {"reason": "No"}),
    ("booking-submit", lambda w: (w.draft.reference,), {}),
    ("booking-cancel", lambda w: (w.draft.reference,), {"reason": "Changed plans"}),
]
ALL_PAGES = [("dashboard", lambda w: (), ""), ("profile", lambda w: (), ""), *OBJECT_PAGES] + [
    (name, lambda w: (), kind) for name, kind in KIND_PAGES
]


@pytest.fixture
def matrix_world(world: World, superuser: Any) -> World:
    """The world plus an item the vendor has accepted (so confirming it is legal)."""
    staff = Actor(user=superuser, via="admin")
    item = bs.item_add(booking=world.booking, actor=staff, **line(vendor=world.vendor))
    world.accepted_item = bs.item_accept(item=item, actor=staff)
    return world


def outsiders(world: World) -> dict[str, Client]:
    return {
        "vendor": client_for(portal_user(vendor=world.other_vendor)),
        "broker": client_for(portal_user(broker=world.other_broker)),
    }


@pytest.mark.parametrize(("name", "target", "kind"), OBJECT_PAGES)
def test_another_partners_object_page_is_a_404(
    matrix_world: World, name: str, target: Target, kind: str
) -> None:
    path = reverse(f"portal:{name}", args=target(matrix_world))
    clients = outsiders(matrix_world)
    before = snapshot()
    for who, client in clients.items():
        response = client.get(path)
        assert response.status_code == 404, (who, path)
    assert snapshot() == before


@pytest.mark.parametrize(("name", "kind"), KIND_PAGES)
def test_pages_of_the_other_partner_kind_are_a_404(
    matrix_world: World, name: str, kind: str
) -> None:
    path = reverse(f"portal:{name}")
    other_kind = "broker" if kind == "vendor" else "vendor"
    assert outsiders(matrix_world)[other_kind].get(path).status_code == 404
    assert outsiders(matrix_world)[kind].get(path).status_code == 200


@pytest.mark.parametrize(("name", "target", "data"), ACTIONS)
def test_another_partners_action_is_a_404_and_changes_nothing(
    matrix_world: World, name: str, target: Target, data: dict[str, str]
) -> None:
    path = reverse(f"portal:{name}", args=target(matrix_world))
    clients = outsiders(matrix_world)
    before = snapshot()
    for who, client in clients.items():
        response = client.post(path, data)
        assert response.status_code == 404, (who, path)
    assert snapshot() == before


@pytest.mark.parametrize(("name", "target", "kind"), ALL_PAGES)
def test_anonymous_is_sent_to_login_for_every_page(
    matrix_world: World, client: Client, name: str, target: Target, kind: str
) -> None:
    path = reverse(f"portal:{name}", args=target(matrix_world))
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(path)}"


@pytest.mark.parametrize(("name", "target", "data"), ACTIONS)
def test_anonymous_actions_go_to_login_and_change_nothing(
    matrix_world: World, client: Client, name: str, target: Target, data: dict[str, str]
) -> None:
    path = reverse(f"portal:{name}", args=target(matrix_world))
    before = snapshot()
    response = client.post(path, data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert snapshot() == before


def test_anonymous_profile_and_request_posts_change_nothing(
    matrix_world: World, client: Client
) -> None:
    before = snapshot()
    for name in ("profile", "booking-request"):
        response = client.post(reverse(f"portal:{name}"), {"email": "x@example.com"})
        assert response.status_code == 302 and response["Location"].startswith("/accounts/")
    assert snapshot() == before


@pytest.mark.parametrize(("name", "target", "data"), ACTIONS)
def test_owner_can_perform_each_action(
    matrix_world: World,
    vendor_client: Client,
    broker_client: Client,
    name: str,
    target: Target,
    data: dict[str, str],
) -> None:
    """The control: the same request by the owner does change something."""
    client = vendor_client if name.startswith("item-") else broker_client
    before = snapshot()
    response = client.post(reverse(f"portal:{name}", args=target(matrix_world)), data)
    assert response.status_code == 302
    assert snapshot() != before


@pytest.mark.parametrize(("name", "target", "kind"), ALL_PAGES)
def test_owner_opens_every_page(
    matrix_world: World,
    vendor_client: Client,
    broker_client: Client,
    name: str,
    target: Target,
    kind: str,
) -> None:
    clients = [vendor_client] if kind == "vendor" else [broker_client]
    if not kind:
        clients = [vendor_client, broker_client]
    for client in clients:
        assert client.get(reverse(f"portal:{name}", args=target(matrix_world))).status_code == 200


def test_staff_are_sent_to_the_admin(matrix_world: World, client: Client, agent: Any) -> None:
    client.force_login(agent)
    for name, target, _ in ALL_PAGES:
        response = client.get(reverse(f"portal:{name}", args=target(matrix_world)))
        assert response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_people_of_an_inactive_partner_have_no_access(
    matrix_world: World, vendor_client: Client
) -> None:
    ps.partner_deactivate(partner=matrix_world.vendor, actor=Actor())
    response = vendor_client.get(reverse("portal:item-detail", args=[matrix_world.item.pk]))
    assert response.status_code == 403
    assert "No portal access" in response.content.decode()
    before = snapshot()
    vendor_client.post(reverse("portal:item-accept", args=[matrix_world.item.pk]))
    assert snapshot() == before


def test_a_user_without_a_partner_has_no_access(client: Client, db: None) -> None:
    client.force_login(factories.UserFactory())
    assert client.get(reverse("portal:dashboard")).status_code == 403


def test_staff_only_objects_are_a_404(
    matrix_world: World, vendor_client: Client, broker_client: Client, superuser: Any
) -> None:
    staff = Actor(user=superuser, via="admin")
    customer_booking = bs.booking_create(
        actor=staff, customer_name="Walk-in", items=[line(description="Unassigned")]
    )
    unassigned = customer_booking.items.get()
    assert vendor_client.get(reverse("portal:item-detail", args=[unassigned.pk])).status_code == 404
    detail = reverse("portal:booking-detail", args=[customer_booking.reference])
    assert broker_client.get(detail).status_code == 404
    draft_offer = reverse("portal:offer-detail", args=[matrix_world.draft_offer.reference])
    assert broker_client.get(draft_offer).status_code == 404
    accept_draft = reverse("portal:offer-accept", args=[matrix_world.draft_offer.reference])
    before = snapshot()
    assert broker_client.post(accept_draft).status_code == 404
    assert snapshot() == before


def test_unknown_objects_are_a_404(vendor_client: Client, broker_client: Client) -> None:
    assert vendor_client.get(reverse("portal:item-detail", args=[999999])).status_code == 404
    assert broker_client.get(reverse("portal:offer-detail", args=["OF-NOPE"])).status_code == 404
    assert broker_client.get(reverse("portal:booking-detail", args=["BK-NOPE"])).status_code == 404

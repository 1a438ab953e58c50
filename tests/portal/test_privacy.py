"""Field privacy, checked on the rendered HTML of every page of each partner kind.

A vendor never sees sell prices, commissions or other vendors; a broker never sees
costs or vendors' names and contacts.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from bookings import services as bs
from core.domain import Actor
from tests.portal.conftest import (
    COST,
    OFFER_COST,
    OFFER_SELL,
    OTHER_VENDOR_NAME,
    SELL,
    VENDOR_EMAIL,
    VENDOR_NAME,
    VENDOR_PHONE,
    World,
)


def money(amount: Any) -> list[str]:
    """Every way an amount could be printed: 987.65, 1,975.30, 1975.30."""
    return [f"{amount:,.2f}", f"{amount:.2f}"]


def vendor_pages(world: World) -> list[str]:
    item = world.item.pk
    return [
        reverse("portal:dashboard"),
        reverse("portal:items") + "?show=all",
        reverse("portal:item-detail", args=[item]),
        reverse("portal:item-decline", args=[item]),
        reverse("portal:item-confirm", args=[item]),
        reverse("portal:history"),
        reverse("portal:profile"),
    ]


def broker_pages(world: World) -> list[str]:
    return [
        reverse("portal:dashboard"),
        reverse("portal:offers") + "?show=all",
        reverse("portal:offer-detail", args=[world.offer.reference]),
        reverse("portal:offer-accept", args=[world.offer.reference]),
        reverse("portal:offer-decline", args=[world.offer.reference]),
        reverse("portal:bookings"),
        reverse("portal:booking-detail", args=[world.booking.reference]),
        reverse("portal:booking-submit", args=[world.draft.reference]),
        reverse("portal:booking-cancel", args=[world.draft.reference]),
        reverse("portal:booking-request"),
        reverse("portal:profile"),
    ]


@pytest.fixture
def answered(world: World, superuser: Any) -> World:
    """Answers on both items, so history pages and badges have something to show."""
    staff = Actor(user=superuser, via="admin")
    bs.item_accept(item=world.item, actor=staff)
    bs.item_decline(item=world.other_item, actor=staff, reason="Rival reason")
    return world


def test_vendor_pages_never_show_sell_prices_commissions_or_other_vendors(
    answered: World, vendor_client: Client
) -> None:
    world = answered
    forbidden = [
        *money(SELL),
        *money(2 * SELL),
        *money(OFFER_SELL),
        "ommission",
        OTHER_VENDOR_NAME,
        "Airport pickup, minivan",  # the other vendor's item on the same booking
        "Rival reason",
        world.other_booking.reference,
    ]
    for path in vendor_pages(world):
        response = vendor_client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        for text in forbidden:
            assert text not in html, (path, text)
    # The control: the vendor's own cost is there.
    detail = vendor_client.get(reverse("portal:item-detail", args=[world.item.pk]))
    assert money(COST)[0] in detail.content.decode()


def test_broker_pages_never_show_costs_or_vendors(answered: World, broker_client: Client) -> None:
    world = answered
    forbidden = [
        *money(COST),
        *money(2 * COST),
        *money(OFFER_COST),
        *money(Decimal("25.00")),  # the other item's unit cost
        VENDOR_NAME,
        VENDOR_EMAIL,
        VENDOR_PHONE,
        OTHER_VENDOR_NAME,
        "Rival reason",  # a vendor's decline is our business
        world.other_booking.reference,
    ]
    for path in broker_pages(world):
        response = broker_client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        for text in forbidden:
            assert text not in html, (path, text)
        assert not re.search(r"\bcosts?\b", html, re.IGNORECASE), path
    detail = broker_client.get(reverse("portal:booking-detail", args=[world.booking.reference]))
    assert money(2 * SELL)[0] in detail.content.decode()


def test_templates_have_no_inline_scripts_or_styles() -> None:
    """The portal runs under a strict Content-Security-Policy: a script is a static file
    of ours (``<script src="{% static ... %}">``, nothing between the tags), never
    inline; no inline style or handler."""
    root = Path(settings.BASE_DIR) / "templates"
    files = [root / "base.html", *root.glob("portal/**/*.html"), *root.glob("registration/*")]
    assert len(files) > 20
    static_script = re.compile(r"<script src=\"\{% static '[\w/.-]+\.js' %\}\" defer></script>")
    for path in files:
        text = static_script.sub("", path.read_text().lower())
        for needle in ("<script", "style=", "<style", "onclick", "javascript:"):
            assert needle not in text, (path.name, needle)


def test_portal_pages_carry_the_content_security_policy(
    world: World, vendor_client: Client
) -> None:
    response = vendor_client.get(reverse("portal:dashboard"))
    assert "script-src 'self'" in response["Content-Security-Policy"]

"""A partner who has just joined: every page says there is nothing yet, and what next."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.portal.conftest import client_for, portal_user


def page(client: Any, name: str, query: str = "") -> str:
    response = client.get(reverse(f"portal:{name}") + query)
    assert response.status_code == 200
    return str(response.content.decode())


@pytest.mark.django_db
def test_a_new_vendor_sees_clear_empty_states(vendor: Any) -> None:
    client = client_for(portal_user(vendor=vendor))
    home = page(client, "dashboard")
    assert "Nothing awaits your answer" in home
    assert "No accepted items are waiting for your confirmation reference" in home
    assert "No confirmed services coming up" in home
    assert 'No items here — <a href="?show=all">see all your items</a>' in page(client, "items")
    assert "No items here." in page(client, "items", "?show=all")
    assert "You have not answered any item yet" in page(client, "history")


@pytest.mark.django_db
def test_a_new_broker_sees_clear_empty_states_with_a_next_step(broker: Any) -> None:
    client = client_for(portal_user(broker=broker))
    request_link = f'<a href="{reverse("portal:booking-request")}">request a booking</a>'
    home = page(client, "dashboard")
    assert "No offers are waiting for you" in home
    assert f"You have no bookings yet. Accept an offer or {request_link}" in home
    assert "See all bookings" not in home
    assert 'No offers here — <a href="?show=all">see all offers</a>' in page(client, "offers")
    assert "No offers here." in page(client, "offers", "?show=all")
    assert f"No bookings here. Accept an offer or {request_link}" in page(client, "bookings")
    assert "No bookings here — " in page(client, "bookings", "?show=cancelled")

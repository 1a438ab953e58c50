"""A broker on a phone (375 px) requests a service in Lisbon: the form says which zone
it reads the times in, follows the zone chosen, and stores 10:00 typed for a day in May
as 10:00 WEST (09:00 UTC) whatever the site's clock; a time that the clocks skip is
refused beside its field. Screenshots under ``test-artifacts/browser/<test name>/``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bookings.models import Booking, BookingItem
from tests import factories
from tests.browser.conftest import Phone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "river-boat-sunset-2026"


def test_broker_requests_a_lisbon_service_in_lisbon_time(phone: Phone, settings: Any) -> None:
    from playwright.sync_api import expect

    settings.TIME_ZONE = "Asia/Tokyo"  # the site's clock: never the service's
    settings.DEFAULT_SERVICE_TIMEZONE = "UTC"
    settings.SERVICE_TIMEZONES = ["Europe/Lisbon", "Atlantic/Madeira"]
    broker = factories.BrokerFactory(name="Nordic Travel AS")
    factories.PortalAccountFactory(
        broker=broker, user__username="ingrid@nordic.example", user__password=PASSWORD
    )
    page = phone.page

    phone.goto("/accounts/login/")
    page.get_by_label("Email or username").fill("ingrid@nordic.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(phone.base_url + "/portal/")

    phone.goto("/portal/bookings/new/")
    hint = page.locator("#id_items-0-start_helptext")
    expect(hint).to_have_text("Times are local to the service: UTC")
    page.get_by_label("Lead customer name").fill("Ingrid Nilsen")
    page.get_by_label("Customer phone").fill("+47 912 34 567")
    page.get_by_label("What is needed").fill("Airport pickup, minivan")
    page.select_option("#id_items-0-service_type", "transfer")
    page.select_option("#id_items-0-timezone", "Europe/Lisbon")
    # The hint follows the zone chosen, beside the times it governs.
    expect(hint).to_have_text("Times are local to the service: Europe/Lisbon")
    page.fill("#id_items-0-start", "2027-05-20T10:00")
    page.fill("#id_items-0-end", "2027-05-20T11:30")
    page.locator("#id_items-0-start").scroll_into_view_if_needed()
    phone.shot("request-a-lisbon-service")

    page.get_by_role("button", name="Save as draft").click()
    expect(page.locator(".line__when")).to_have_text("Thu 20 May 2027, 10:00 – 11:30 WEST")
    phone.shot("draft-in-lisbon-time")
    item = BookingItem.objects.get(booking__broker=broker)
    assert item.booking.status == Booking.Status.DRAFT
    assert (item.timezone, item.start) == ("Europe/Lisbon", datetime(2027, 5, 20, 9, tzinfo=UTC))

    # Changing it: its times on its own clock, and a time the clocks skip refused.
    page.get_by_role("link", name="Change Airport pickup, minivan").click()
    expect(page.locator("#id_start")).to_have_value("2027-05-20T10:00")
    expect(page.locator("#id_start_helptext")).to_have_text(
        "Times are local to the service: Europe/Lisbon"
    )
    page.fill("#id_start", "2027-03-28T01:30")
    page.fill("#id_end", "2027-03-28T03:00")
    page.get_by_role("button", name="Save the change").click()
    error = page.locator("#id_start_error")
    expect(error).to_contain_text("01:30 on Sun 28 Mar 2027 does not exist in Europe/Lisbon")
    error.scroll_into_view_if_needed()
    phone.shot("a-time-the-clocks-skip")
    item.refresh_from_db()
    assert item.start == datetime(2027, 5, 20, 9, tzinfo=UTC)

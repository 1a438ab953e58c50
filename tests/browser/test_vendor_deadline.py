"""The vendor in Lisbon on a phone: its request for a 10:00 service in May reads
"10:00 WEST", with "answer by" on its own clock; once the deadline passes unanswered,
the page says it is overdue. Screenshots under test-artifacts/browser/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bookings import services
from core.domain import Actor
from notifications.formatting import format_local
from tests import factories
from tests.browser.conftest import Phone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "river-boat-sunset-2026"
SYSTEM = Actor(via="system", label="test")
START = datetime(2027, 5, 10, 9, 0, tzinfo=UTC)  # 10:00 WEST


def test_lisbon_vendor_sees_10_00_west_and_answer_by_then_overdue(phone: Phone) -> None:
    from playwright.sync_api import expect

    vendor = factories.VendorFactory(
        name="Lisboa Transfers", timezone="Europe/Lisbon", response_hours=24
    )
    factories.PortalAccountFactory(
        user__username="rita@lisboa.example", user__password=PASSWORD, vendor=vendor
    )
    booking = services.booking_create(
        actor=SYSTEM,
        customer_name="Ada Lovelace",
        items=[
            {
                "service_type": "transfer",
                "description": "Airport pickup, minivan",
                "start": START,
                "end": START + timedelta(hours=2),
                "quantity": 4,
                "unit_price": Decimal("80.00"),
                "unit_cost": Decimal("50.00"),
                "vendor": vendor,
            }
        ],
    )
    services.booking_submit(booking=booking, actor=SYSTEM)
    item = booking.items.get()
    assert item.respond_by is not None

    page = phone.page
    phone.goto("/accounts/login/")
    page.get_by_label("Email or username").fill("rita@lisboa.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    phone.goto(f"/portal/items/{item.pk}/")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("Mon 10 May 2027, 10:00 – 12:00 WEST")
    expect(facts).to_contain_text("Answer by")
    expect(facts).to_contain_text(format_local(item.respond_by, "Europe/Lisbon"))
    phone.shot("item-answer-by")

    # The deadline passes unanswered: the page says so.
    item.respond_by = item.assigned_at
    item.save(update_fields=["respond_by"])
    phone.goto(f"/portal/items/{item.pk}/")
    expect(page.locator(".deadline--overdue")).to_contain_text("overdue")
    phone.shot("item-overdue")
    phone.goto("/portal/items/")
    expect(page.locator(".card__deadline")).to_contain_text("Answer by")
    phone.shot("items-list")

"""A staff member's day in a real browser: add a booking, submit, approve, cancel.

Drives Chromium through Playwright against a live server, so the admin's own
JavaScript (inline rows, date widgets) and the transition buttons and pages are
exercised as staff use them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from bookings.models import Booking
from core.models import AuditEntry
from tests import factories

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"


@pytest.mark.django_db(transaction=True)
def test_staff_add_submit_approve_and_cancel_a_booking_in_chromium(live_server: Any) -> None:
    from playwright.sync_api import expect, sync_playwright

    user = factories.SuperuserFactory(username="desk", password=PASSWORD)
    start = timezone.localtime(timezone.now() + timedelta(days=14))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            page.goto(f"{live_server.url}/admin/login/?next=/admin/bookings/booking/add/")
            page.fill("#id_username", "desk")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")

            page.fill("#id_customer_name", "Sofia Rossi")
            page.fill("#id_customer_email", "sofia@example.com")
            page.select_option("#id_items-0-service_type", "venue")
            page.fill("#id_items-0-description", "Gala dinner hall")
            page.fill("#id_items-0-start_0", start.date().isoformat())
            page.fill("#id_items-0-start_1", "18:00:00")
            page.fill("#id_items-0-end_0", start.date().isoformat())
            page.fill("#id_items-0-end_1", "23:00:00")
            page.fill("#id_items-0-quantity", "1")
            page.fill("#id_items-0-unit_price", "4200")
            page.fill("#id_items-0-unit_cost", "3100")
            page.click("input[name=_save]")

            expect(page.locator(".messagelist")).to_contain_text("was added successfully")
            expect(page.locator(".status-badge").first).to_have_text("Draft")
            expect(page.locator("table.totals")).to_contain_text("EUR 1,100.00")

            page.click("button:has-text('Submit for approval')")
            expect(page.locator(".messagelist")).to_contain_text("Submitted for approval")
            expect(page.locator(".status-badge").first).to_have_text("Pending approval")

            page.click("button:has-text('Approve')")
            expect(page.locator(".messagelist")).to_contain_text("Approved")
            expect(page.locator(".status-badge").first).to_have_text("Approved")

            page.click("a:has-text('Cancel booking')")
            page.click("input[type=submit][value='Cancel booking']")
            expect(page.locator(".errorlist")).to_contain_text("This field is required")
            page.fill("#id_reason", "Venue double-booked")
            page.click("input[type=submit][value='Cancel booking']")
            expect(page.locator(".messagelist")).to_contain_text("Cancelled")
            expect(page.locator(".status-badge").first).to_have_text("Cancelled")
        finally:
            browser.close()

    booking = Booking.objects.get(customer_name="Sofia Rossi")
    assert booking.status == Booking.Status.CANCELLED
    assert booking.cancel_reason == "Venue double-booked"
    actions = list(
        AuditEntry.objects.filter(object_id=booking.pk, actor=user)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["created", "item_added", "submitted", "approved", "cancelled"]

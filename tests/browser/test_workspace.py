"""The staff workspace in a real browser at 1280 x 800: the first page's counts and
the lists they open, the agenda and a day sheet, a booking's page, and the main lists,
each fitting the screen (no sideways scrolling, no list wider than its frame).

Screenshots of every step are kept under ``test-artifacts/browser/<test name>/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from bookings.models import Booking, BookingItem
from notifications.models import Notification
from offers.models import Offer
from tests import factories
from tests.browser.conftest import ARTIFACTS, CHROMIUM, TIMEOUT_MS, unavailable

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREEN = {"width": 1280, "height": 800}
PASSWORD = "correct horse battery staple"
B = Booking.Status
V = BookingItem.VendorStatus


class Desk:
    """One browser page at 1280 x 800, with numbered screenshots of each step."""

    def __init__(self, page: Any, base_url: str, folder: Path) -> None:
        self.page = page
        self.base_url = base_url
        self.folder = folder
        self.steps = 0

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def fits(self) -> None:
        """Nothing wider than the screen, and no list wider than its frame."""
        width = self.page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= SCREEN["width"], f"{self.page.url} is {width}px wide"
        for frame in self.page.locator("#changelist .results").all():
            inner, outer = frame.evaluate("e => [e.scrollWidth, e.clientWidth]")
            assert inner <= outer, f"the list on {self.page.url} is {inner}px in {outer}px"

    def shot(self, name: str) -> Path:
        self.fits()
        self.steps += 1
        path = self.folder / f"{self.steps:02d}-{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path


@pytest.fixture
def desk(request: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:  # pragma: no cover - requirements-dev installs it
        unavailable(f"playwright is not installed ({exc})")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # see tests/browser/conftest.py
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    playwright = sync_playwright().start()
    try:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        except Error as exc:
            unavailable(f"{CHROMIUM} did not start ({exc.message.splitlines()[0]})")
        try:
            context = browser.new_context(viewport=SCREEN, device_scale_factor=1)
            context.set_default_timeout(TIMEOUT_MS)
            desk = Desk(context.new_page(), live_server.url, folder)
            factories.SuperuserFactory(username="desk", password=PASSWORD)
            desk.goto("/admin/login/")
            desk.page.fill("#id_username", "desk")
            desk.page.fill("#id_password", PASSWORD)
            desk.page.click("input[type=submit]")
            yield desk
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def a_busy_week(db: None) -> dict[str, Any]:
    """A week of a small DMC: bookings in every state, some needing attention."""
    now = timezone.now()
    lisbon = factories.VendorFactory(name="Hotel Avenida Palace")
    coaches = factories.VendorFactory(name="Algarve Coach Lines")
    trip = factories.BookingFactory(
        status=B.APPROVED, customer_name="Isabel Ferreira", notes="Anniversary trip"
    )
    first = now + timedelta(hours=30)
    services = [
        ("transfer", "Private transfer airport to hotel, Mercedes V-Class", 0, coaches, V.ACCEPTED),
        ("accommodation", "Double room, breakfast included, river view", 2, lisbon, V.CONFIRMED),
        ("activity", "Guided half-day tour of Sintra and Cascais", 26, None, V.UNASSIGNED),
        ("catering", "Three-course dinner with wine pairing", 30, coaches, V.PENDING),
        ("venue", "Gala dinner venue hire, terrace", 50, None, V.DECLINED),
    ]
    for kind, description, hours, vendor, status in services:
        factories.BookingItemFactory(
            booking=trip,
            service_type=kind,
            description=description,
            start=first + timedelta(hours=hours),
            end=first + timedelta(hours=hours + 3),
            vendor=vendor,
            vendor_status=status,
            vendor_reference="CONF-51114" if status == V.CONFIRMED else "",
            assigned_at=now - timedelta(days=2) if vendor else None,
            respond_by=now - timedelta(days=1) if status == V.PENDING else None,
            responded_at=now - timedelta(days=1) if status == V.ACCEPTED else None,
            # Accepted yesterday, its confirmation due three hours ago.
            confirm_by=now - timedelta(hours=3) if status == V.ACCEPTED else None,
            decline_reason="Fully booked" if status == V.DECLINED else "",
        )
    for n in range(3):
        factories.BookingItemFactory(
            booking__status=B.PENDING_APPROVAL,
            booking__customer_name=f"Group {n}",
            start=now + timedelta(days=4 + n),
        )
    factories.OfferFactory(status=Offer.Status.SENT, valid_until=now + timedelta(days=3))
    Notification.objects.create(
        kind="item_assigned",
        channel="whatsapp",
        recipient="+351910000001",
        dedupe_key="browser:workspace:1",
        status=Notification.Status.FAILED,
        last_error="Recipient phone number not in allowed list",
    )
    return {"trip": trip, "day": timezone.localtime(first).date()}


def test_staff_start_from_what_needs_attention(desk: Desk, a_busy_week: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    desk.goto("/admin/")
    cards = desk.page.locator(".attention-card")
    expect(cards).to_have_count(7)
    expect(desk.page.locator('[data-key="awaiting_approval"] .attention-count')).to_have_text("3")
    expect(desk.page.locator('[data-key="needs_vendor"] .attention-count')).to_have_text("5")
    expect(desk.page.locator('[data-key="answer_due"] .attention-count')).to_have_text("1")
    expect(desk.page.locator('[data-key="confirmation_due"] .attention-count')).to_have_text("1")
    expect(desk.page.locator('[data-key="starting_unconfirmed"] .attention-count')).to_have_text(
        "3"
    )
    expect(desk.page.locator('[data-key="notifications_stuck"] .attention-count')).to_have_text("1")
    desk.shot("first-page")

    desk.page.click('[data-key="needs_vendor"] a')
    expect(desk.page.locator("#result_list tbody tr")).to_have_count(5)
    expect(desk.page.locator("#changelist-filter")).to_contain_text("Items needing a vendor")
    desk.shot("items-needing-a-vendor")

    desk.goto("/admin/")
    desk.page.click('[data-key="confirmation_due"] a')
    expect(desk.page.locator("#result_list tbody tr")).to_have_count(1)
    expect(desk.page.locator("#result_list")).to_contain_text("Private transfer airport")
    desk.shot("confirmations-due")

    desk.goto("/admin/")
    desk.page.click('[data-key="starting_unconfirmed"] a')
    # Within 72 hours and not confirmed: the transfer, the tour and the dinner.
    expect(desk.page.locator("#result_list tbody tr")).to_have_count(3)
    expect(desk.page.locator("#result_list")).not_to_contain_text("Double room")
    desk.shot("services-within-72-hours")

    for path in (
        "/admin/bookings/booking/",
        "/admin/bookings/bookingitem/",
        "/admin/offers/offer/",
        "/admin/notifications/notification/",
    ):
        desk.goto(path)
        desk.fits()


def test_operations_read_the_agenda_and_a_day_sheet(
    desk: Desk, a_busy_week: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    desk.goto("/admin/")
    desk.page.click("text=Agenda >> nth=0")
    expect(desk.page.locator(".agenda-table tbody tr")).to_have_count(8)
    desk.shot("agenda")

    desk.page.select_option("#id_service_type", "catering")
    desk.page.click("input[type=submit][value=Show]")
    expect(desk.page.locator(".agenda-table tbody tr")).to_have_count(1)
    expect(desk.page.locator(".agenda-table")).to_contain_text("Three-course dinner")
    desk.shot("agenda-catering")

    day = a_busy_week["day"].isoformat()
    desk.goto(f"/admin/agenda/{day}/")
    expect(desk.page.locator("table.day-sheet")).to_contain_text("Isabel Ferreira")
    desk.shot("day-sheet")
    desk.page.emulate_media(media="print")
    expect(desk.page.locator("#header")).to_be_hidden()
    expect(desk.page.locator(".screen-only").first).to_be_hidden()
    expect(desk.page.locator("table.day-sheet")).to_be_visible()
    desk.shot("day-sheet-print")
    desk.page.emulate_media(media="screen")
    with desk.page.expect_download() as download:
        desk.page.click("text=Download CSV")
    assert download.value.suggested_filename == f"day-sheet-{day}.csv"


def test_a_booking_page_shows_its_items_at_1280(desk: Desk, a_busy_week: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    trip = a_busy_week["trip"]
    desk.goto(f"/admin/bookings/booking/{trip.pk}/change/")
    items = desk.page.locator("#items-group .inline-related:not(.empty-form)")
    expect(items).to_have_count(5)
    group = desk.page.locator("#items-group")
    inner, outer = group.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert inner <= outer
    expect(items.first).to_contain_text("Vendor status")
    desk.page.locator("#items-group").scroll_into_view_if_needed()
    desk.shot("booking-page")

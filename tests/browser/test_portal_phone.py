"""The portal on a phone, in a real browser: a vendor from the invitation staff send in
the admin to a confirmed item (the README's walkthrough), and a broker from an offer to
the booking it became.

Each step is checked on the page (and that the page needs no sideways scrolling at
375 px), screenshotted under ``test-artifacts/browser/``, and checked in the database:
statuses, the audit entries with the person who acted, the notifications recorded.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from bookings import services as booking_services
from bookings.models import Booking, BookingItem
from core.domain import Actor
from core.models import AuditEntry
from notifications.formatting import format_when
from notifications.models import Notification
from offers import services as offer_services
from offers.models import Offer
from partners.models import Invitation, PortalAccount
from tests import factories
from tests.browser.conftest import Phone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "river-boat-sunset-2026"
STAFF_PASSWORD = "correct horse battery staple"
SELL = Decimal("987.65")  # unit price: never on a vendor's page
COST = Decimal("123.45")  # unit cost: never on a broker's page
V = BookingItem.VendorStatus


def staff_actor() -> Actor:
    desk = factories.SuperuserFactory(username="desk", password=STAFF_PASSWORD)
    return Actor(user=desk, via="admin")


def later(days: int, hour: int) -> Any:
    day = timezone.localtime(timezone.now() + timedelta(days=days))
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


def audit_of(obj: Any, action: str) -> AuditEntry:
    content_type = ContentType.objects.get_for_model(obj)
    return AuditEntry.objects.get(content_type=content_type, object_id=obj.pk, action=action)


def notified(entry: AuditEntry, kind: str) -> list[str]:
    """Who the notifications of ``kind`` that ``entry``'s change caused are for."""
    rows = Notification.objects.filter(audit_entry=entry, kind=kind)
    return sorted(rows.values_list("recipient", flat=True))


def test_vendor_accepts_invitation_then_accepts_and_confirms_an_item(
    phone: Phone, mailoutbox: list[Any]
) -> None:
    from playwright.sync_api import expect

    staff = staff_actor()
    vendor = factories.VendorFactory(
        name="Quinta do Rio Lda", email="reservas@quinta-rio.example", notify_by=["email"]
    )
    broker = factories.BrokerFactory(name="Nordic Travel AS", email="desk@nordic.example")
    start, end = later(20, 15), later(22, 11)
    booking = booking_services.booking_create(
        actor=staff,
        broker=broker,
        customer_name="Ana Lead",
        notes="Two vegetarians in the group.",
        items=[
            {
                "service_type": "accommodation",
                "description": "Double room, river view",
                "start": start,
                "end": end,
                "quantity": 2,
                "unit_price": SELL,
                "unit_cost": COST,
                "vendor": vendor,
            }
        ],
    )
    booking_services.booking_submit(booking=booking, actor=staff)
    booking_services.booking_approve(booking=booking, actor=staff)
    item = booking.items.get()
    assert item.vendor_status == V.PENDING

    # Staff invite the vendor from its page in the admin, on a desktop-sized window.
    desk = phone.page.context.browser.new_page(viewport={"width": 1280, "height": 900})
    desk.goto(f"{phone.base_url}/admin/login/?next=/admin/partners/vendor/{vendor.pk}/change/")
    desk.get_by_label("Username").fill("desk")
    desk.get_by_label("Password").fill(STAFF_PASSWORD)
    desk.get_by_role("button", name="Log in").click()
    desk.get_by_role("link", name="Invite / re-invite").click()
    desk.get_by_role("button", name="Invite / re-invite").click()
    expect(desk.locator(".messagelist")).to_contain_text("Invitation sent")
    desk.screenshot(path=phone.folder / "00-admin-invitation-sent.png")
    desk.close()
    invitation = Invitation.objects.get(vendor=vendor)
    assert invitation.created_by == staff.user and invitation.accepted_at is None

    # The vendor opens the link in the email, on a phone.
    (email,) = [m for m in mailoutbox if "invited" in m.subject]
    assert email.to == ["Quinta do Rio Lda <reservas@quinta-rio.example>"]
    link = re.search(r"https?://\S+?(/portal/invite/[^/\s]+/)", email.body)
    assert link is not None
    page = phone.page

    phone.goto(link.group(1))
    expect(page.locator("h1")).to_have_text("Join Quinta do Rio Lda")
    expect(page.locator("main")).to_contain_text("reservas@quinta-rio.example")
    phone.shot("invitation")

    page.get_by_label("First name").fill("Rita")
    page.get_by_label("Last name").fill("Costa")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Password again").fill("short")
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator(".field--invalid")).to_contain_text("too short")
    phone.shot("invitation-password-refused")
    assert not PortalAccount.objects.filter(vendor=vendor).exists()

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page).to_have_url(phone.base_url + "/portal/")
    assert "Welcome to the Quinta do Rio Lda portal." in phone.flash()
    awaiting = page.locator("section", has=page.locator("#pending-h"))
    card = awaiting.locator(".card")
    expect(card).to_have_count(1)
    for shown in (booking.reference, "Double room, river view", format_when(start, end)):
        expect(card).to_contain_text(shown)
    expect(card).to_contain_text("Ana Lead")
    expect(card).to_contain_text(f"EUR {2 * COST:,.2f}")
    assert f"{SELL:,.2f}" not in page.content()
    phone.shot("dashboard")

    user = get_user_model().objects.get(email="reservas@quinta-rio.example")
    assert (user.first_name, user.last_name) == ("Rita", "Costa")
    assert PortalAccount.objects.get(user=user).vendor == vendor
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None

    card.get_by_role("link").click()
    expect(page).to_have_url(f"{phone.base_url}/portal/items/{item.pk}/")
    # The booking's notes are ours: the vendor's page shows the service, not them.
    expect(page.locator("main")).not_to_contain_text("Two vegetarians in the group.")
    expect(page.locator(".badge--lg")).to_have_text("Awaiting your answer")
    phone.shot("item")

    page.get_by_role("link", name="Accept…").click()
    expect(page.locator("h1")).to_have_text("Accept this item?")
    phone.shot("accept")
    page.get_by_role("button", name="Yes, I can provide it").click()
    assert "You accepted Double room, river view" in phone.flash()
    expect(page.locator(".badge--lg")).to_have_text("Accepted, to confirm")
    phone.shot("item-accepted")
    item.refresh_from_db()
    assert item.vendor_status == V.ACCEPTED
    accepted = audit_of(item, "accepted")
    assert (accepted.actor, accepted.from_status, accepted.to_status) == (
        user,
        "pending",
        "accepted",
    )
    assert notified(accepted, "item_accepted") == ["ops@example.com"]

    page.get_by_role("link", name="Confirm…").click()
    expect(page.locator("h1")).to_have_text("Confirm this item")
    page.get_by_role("button", name="Confirm the item").click()
    expect(page.locator(".field--invalid")).to_contain_text("This field is required")
    phone.shot("confirm-needs-reference")
    page.get_by_label("Your confirmation reference").fill("QR-2026-0042")
    phone.shot("confirm")
    page.get_by_role("button", name="Confirm the item").click()
    expect(page).to_have_url(f"{phone.base_url}/portal/items/{item.pk}/")
    assert "with your reference QR-2026-0042" in phone.flash()
    expect(page.locator(".badge--lg")).to_have_text("Confirmed")
    phone.shot("item-confirmed")

    item.refresh_from_db()
    assert (item.vendor_status, item.vendor_reference) == (V.CONFIRMED, "QR-2026-0042")
    confirmed = audit_of(item, "confirmed")
    assert (confirmed.actor, confirmed.to_status) == (user, "confirmed")
    assert confirmed.data["vendor_reference"] == "QR-2026-0042"
    assert notified(confirmed, "item_vendor_confirmed") == ["ops@example.com"]
    assert notified(confirmed, "item_confirmed") == ["desk@nordic.example"]
    # Its only item confirmed, the approved booking confirms itself and the broker hears.
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert notified(audit_of(booking, "confirmed"), "booking_confirmed") == ["desk@nordic.example"]

    phone.goto("/portal/history/")
    for shown in ("Accepted", "Confirmed", "QR-2026-0042", booking.reference):
        expect(page.locator("main")).to_contain_text(shown)
    phone.shot("history")
    phone.goto("/portal/items/?show=all")
    expect(page.locator("main")).to_contain_text(booking.reference)
    phone.shot("items")
    phone.goto("/portal/profile/")
    expect(page.get_by_label("Contact email")).to_have_value("reservas@quinta-rio.example")
    phone.shot("profile")


def test_broker_accepts_an_offer_and_sees_the_booking_it_became(phone: Phone) -> None:
    from playwright.sync_api import expect

    staff = staff_actor()
    broker = factories.BrokerFactory(name="Nordic Travel AS", commission_rate=Decimal("10"))
    factories.PortalAccountFactory(
        broker=broker,
        user__username="ingrid@nordic.example",
        user__email="ingrid@nordic.example",
        user__password=PASSWORD,
    )
    vendor = factories.VendorFactory(
        name="Quinta do Rio Lda", email="reservas@quinta-rio.example", phone="+351911222333"
    )
    start, end = later(30, 18), later(30, 21)
    offer = offer_services.offer_create(
        actor=staff,
        broker=broker,
        customer_name="Ingrid Nilsen",
        valid_until=timezone.now() + timedelta(days=7),
        lines=[
            {
                "service_type": "activity",
                "description": "Sunset cruise for two",
                "start": start,
                "end": end,
                "quantity": 2,
                "unit_price": SELL,
                "unit_cost": COST,
                "proposed_vendor": vendor,
            }
        ],
    )
    offer_services.offer_send(offer=offer, actor=staff)
    total, commission = f"EUR {2 * SELL:,.2f}", f"EUR {2 * SELL / 10:,.2f}"
    page = phone.page

    def shows_nothing_of_ours() -> None:
        html = page.content()
        for secret in (f"{COST:,.2f}", f"{2 * COST:,.2f}", vendor.name, vendor.email, vendor.phone):
            assert secret not in html, secret

    phone.goto("/portal/")
    expect(page.locator("h1")).to_have_text("Log in")
    phone.shot("login")
    page.get_by_label("Email or username").fill("Ingrid@Nordic.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(phone.base_url + "/portal/")
    awaiting = page.locator("section", has=page.locator("#offers-h"))
    expect(awaiting.locator(".card")).to_have_count(1)
    expect(awaiting).to_contain_text(offer.reference)
    expect(awaiting).to_contain_text(total)
    expect(awaiting).to_contain_text(commission)
    phone.shot("dashboard")

    awaiting.locator(".card").get_by_role("link").click()
    expect(page).to_have_url(f"{phone.base_url}/portal/offers/{offer.reference}/")
    expect(page.locator("main")).to_contain_text("Sunset cruise for two")
    expect(page.locator("main")).to_contain_text(format_when(start, end))
    shows_nothing_of_ours()
    phone.shot("offer")

    page.get_by_role("link", name="Accept…").click()
    expect(page.locator("h1")).to_have_text("Accept this offer?")
    # Who travels: prefilled with the offer's customer; a way to reach them is needed.
    expect(page.get_by_role("heading", name="Who travels?")).to_be_visible()
    expect(page.get_by_label("Lead traveller's name")).to_have_value("Ingrid Nilsen")
    phone.shot("offer-accept")
    page.get_by_role("button", name="Yes, accept the offer").click()
    expect(page.locator("main")).to_contain_text("email or phone")
    offer.refresh_from_db()
    assert offer.status == Offer.Status.SENT  # refused: nothing was booked
    phone.shot("offer-accept-needs-contact")
    page.get_by_label("Lead traveller's phone").fill("+47 912 34 567")
    phone.shot("offer-accept-lead-traveller")
    page.get_by_role("button", name="Yes, accept the offer").click()

    offer.refresh_from_db()
    assert offer.status == Offer.Status.ACCEPTED and offer.booking is not None
    booking = offer.booking
    # The lead traveller as given, never the broker's company name.
    assert (booking.customer_name, booking.customer_phone) == ("Ingrid Nilsen", "+4791234567")
    expect(page).to_have_url(f"{phone.base_url}/portal/bookings/{booking.reference}/")
    assert f"It is now booking {booking.reference}" in phone.flash()
    expect(page.locator(".badge--lg")).to_have_text("Pending approval")
    services = page.locator("section", has=page.get_by_role("heading", name="Services"))
    for shown in ("Sunset cruise for two", format_when(start, end), total, commission):
        expect(services).to_contain_text(shown)
    shows_nothing_of_ours()
    phone.shot("booking")

    assert (booking.broker, booking.status, booking.source) == (
        broker,
        Booking.Status.PENDING_APPROVAL,
        Booking.Source.OFFER,
    )
    item = booking.items.get()
    assert (item.vendor, item.vendor_status, item.unit_price) == (vendor, V.PENDING, SELL)
    accepted = audit_of(offer, "accepted")
    assert accepted.actor.username == "ingrid@nordic.example"
    assert (accepted.from_status, accepted.to_status) == ("sent", "accepted")
    assert notified(accepted, "offer_accepted") == ["ops@example.com"]
    assert notified(audit_of(item, "assigned"), "item_assigned") == ["reservas@quinta-rio.example"]

    phone.goto("/portal/bookings/")
    expect(page.locator("main")).to_contain_text(booking.reference)
    phone.shot("bookings")
    phone.goto("/portal/offers/?show=accepted")
    expect(page.locator("main")).to_contain_text(offer.reference)
    phone.shot("offers")
    phone.goto("/portal/bookings/new/")
    expect(page.get_by_label("Lead customer name")).to_be_visible()
    phone.shot("request")
    phone.goto("/portal/profile/")
    expect(page.get_by_label("Contact email")).to_have_value(broker.email)
    phone.shot("profile")


def test_the_other_portal_pages_fit_a_phone(phone: Phone) -> None:
    """The pages the two journeys do not pass through need no sideways scrolling either."""
    from playwright.sync_api import expect

    staff = staff_actor()
    vendor = factories.VendorFactory(name="Transportes do Norte e Centro de Portugal Lda")
    broker = factories.BrokerFactory(name="Scandinavian Incentive & Event Travel Group AS")
    for partner in ({"vendor": vendor}, {"broker": broker}):
        name = "vendor" if "vendor" in partner else "broker"
        factories.PortalAccountFactory(
            user__username=f"{name}@phone.example", user__password=PASSWORD, **partner
        )
    start = later(10, 9)
    draft = booking_services.booking_create(
        actor=Actor(broker=broker, via="portal"),
        customer_name="Maximilian Alexander Johansson-Lindqvist",
        notes="A very long note without spaces: " + "x" * 120,
        items=[
            {
                "service_type": "transfer",
                "description": "Minibus from Porto airport to the Douro valley quintas",
                "start": start,
                "end": start + timedelta(hours=3),
                "quantity": 14,
                "vendor": None,
            }
        ],
    )
    booking = booking_services.booking_create(
        actor=staff,
        broker=broker,
        customer_name="Ana Lead",
        items=[
            {
                "service_type": "transfer",
                "description": "Airport pickup",
                "start": start,
                "end": start + timedelta(hours=1),
                "quantity": 1,
                "unit_price": SELL,
                "unit_cost": COST,
                "vendor": vendor,
            }
        ],
    )
    # A vendor chosen on a draft is asked once the booking is submitted.
    booking_services.booking_submit(booking=booking, actor=staff)
    item = booking.items.get()
    offer = offer_services.offer_create(
        actor=staff,
        broker=broker,
        valid_until=timezone.now() + timedelta(days=7),
        lines=[
            {
                "service_type": "venue",
                "description": "Gala dinner hall",
                "start": start,
                "end": start + timedelta(hours=5),
                "quantity": 1,
                "unit_price": SELL,
                "unit_cost": COST,
            }
        ],
    )
    offer_services.offer_send(offer=offer, actor=staff)
    page = phone.page

    for path, heading in (
        ("/portal/invite/not-a-real-token/", "This invitation link is not valid."),
        ("/accounts/password/reset/", None),
        ("/accounts/login/", "Log in"),
    ):
        phone.goto(path)
        if heading:
            expect(page.locator("h1")).to_contain_text(heading)
        phone.shot(path.strip("/").replace("/", "-"))

    def log_in(username: str) -> None:
        phone.goto("/accounts/login/")
        page.get_by_label("Email or username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(phone.base_url + "/portal/")

    log_in("vendor@phone.example")
    for path in (
        f"/portal/items/{item.pk}/decline/",
        "/portal/history/",
        "/accounts/password/change/",
    ):
        phone.goto(path)
        phone.shot("vendor-" + path.strip("/").replace("/", "-"))
    page.get_by_role("button", name="Log out").click()

    log_in("broker@phone.example")
    for path in (
        f"/portal/bookings/{draft.reference}/",
        f"/portal/bookings/{draft.reference}/submit/",
        f"/portal/bookings/{draft.reference}/cancel/",
        f"/portal/offers/{offer.reference}/decline/",
    ):
        phone.goto(path)
        expect(page.locator("main")).not_to_contain_text("Not Found")
        phone.shot("broker-" + path.strip("/").replace("/", "-"))
    phone.goto("/portal/bookings/new/")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.locator(".field--invalid").first).to_be_visible()
    phone.shot("broker-request-errors")

"""A vendor's portal: its items, answers (accept, decline, confirm), history and profile."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from bookings import services as bs
from bookings.models import Booking, BookingItem
from core.domain import Actor
from core.models import AuditEntry
from notifications.formatting import format_when
from tests.portal.conftest import COST, World, snapshot

V = BookingItem.VendorStatus


def detail(item: BookingItem) -> str:
    return reverse("portal:item-detail", args=[item.pk])


def action(name: str, item: BookingItem) -> str:
    return reverse(f"portal:item-{name}", args=[item.pk])


def test_dashboard_puts_items_awaiting_an_answer_first(
    world: World, vendor_client: Client, superuser: Any
) -> None:
    staff = Actor(user=superuser, via="admin")
    accepted = bs.item_add(
        booking=world.booking,
        actor=staff,
        service_type="venue",
        description="Meeting room",
        start=world.item.start,
        end=world.item.end,
        quantity=1,
        unit_price=10,
        unit_cost=5,
        vendor=world.vendor,
    )
    bs.item_accept(item=accepted, actor=staff)

    html = vendor_client.get(reverse("portal:dashboard")).content.decode()

    awaiting = html.index("Awaiting your answer")
    to_confirm = html.index("Accepted, to confirm")
    assert awaiting < html.index("Double room, garden view") < to_confirm
    assert to_confirm < html.index("Meeting room")
    assert world.booking.reference in html


def test_dashboard_has_clear_empty_states(vendor_client: Client, world: World) -> None:
    BookingItem.objects.filter(pk=world.item.pk).update(cancelled_at=world.item.start)
    html = vendor_client.get(reverse("portal:dashboard")).content.decode()
    assert "Nothing awaits your answer" in html
    assert "No confirmed services coming up" in html


def test_item_list_orders_by_urgency_and_filters(world: World, vendor_client: Client) -> None:
    response = vendor_client.get(reverse("portal:items") + "?show=all")
    assert response.status_code == 200
    assert [i.pk for i in response.context["items"]] == [world.item.pk]
    declined = vendor_client.get(reverse("portal:items") + "?show=declined")
    assert declined.context["items"] == []
    # An unknown filter falls back to the open items rather than failing.
    assert vendor_client.get(reverse("portal:items") + "?show=bogus&page=x").status_code == 200


def test_item_page_shows_what_the_vendor_needs(world: World, vendor_client: Client) -> None:
    html = vendor_client.get(detail(world.item)).content.decode()
    item = world.item
    for expected in (
        world.booking.reference,
        "Accommodation",
        "Double room, garden view",
        format_when(item.start, item.end),  # dates, times and the timezone written out
        "Ana Lead",
        f"EUR {COST:,.2f}",
        f"EUR {2 * COST:,.2f}",
        "Awaiting your answer",
    ):
        assert expected in html, expected
    # The booking's notes are ours (tests/parity/test_notes_audience.py).
    assert "Two vegetarians in the group." not in html
    assert "UTC" in format_when(item.start, item.end)


def test_vendor_accepts_an_item(world: World, vendor_client: Client) -> None:
    response = vendor_client.post(action("accept", world.item), follow=True)
    assert response.redirect_chain[-1][0] == detail(world.item)
    world.item.refresh_from_db()
    assert world.item.vendor_status == V.ACCEPTED
    entry = AuditEntry.objects.filter(action="accepted", object_id=world.item.pk).get()
    assert entry.data["via"] == "portal" and entry.data["vendor_id"] == world.vendor.pk
    assert "You accepted" in response.content.decode()


def test_accepting_twice_is_a_form_error_not_a_500(world: World, vendor_client: Client) -> None:
    vendor_client.post(action("accept", world.item))
    before = snapshot()
    response = vendor_client.post(action("accept", world.item))
    assert response.status_code == 409
    assert "Cannot accept the item: the item is accepted." in response.content.decode()
    assert snapshot() == before


def test_accept_asks_for_confirmation_first(world: World, vendor_client: Client) -> None:
    item_page = vendor_client.get(detail(world.item)).content.decode()
    assert f'href="{action("accept", world.item)}"' in item_page
    before = snapshot()
    page = vendor_client.get(action("accept", world.item))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Accept this item?" in html and "It cannot be undone here" in html
    assert "Yes, I can provide it" in html and f"EUR {2 * COST:,.2f}" in html
    assert snapshot() == before


def test_accept_page_of_an_accepted_item_offers_nothing_to_accept(
    world: World, vendor_client: Client
) -> None:
    vendor_client.post(action("accept", world.item))
    html = vendor_client.get(action("accept", world.item)).content.decode()
    assert "there is nothing to accept" in html and "Yes, I can provide it" not in html


def test_decline_asks_for_confirmation_and_a_reason(world: World, vendor_client: Client) -> None:
    page = vendor_client.get(action("decline", world.item))
    assert page.status_code == 200
    assert "Declining is final" in page.content.decode()

    before = snapshot()
    missing = vendor_client.post(action("decline", world.item), {"reason": "  "})
    assert missing.status_code == 200
    assert "This field is required." in missing.content.decode()
    assert snapshot() == before

    done = vendor_client.post(action("decline", world.item), {"reason": "Fully booked"})
    assert done.status_code == 302
    world.item.refresh_from_db()
    assert world.item.vendor_status == V.DECLINED
    assert world.item.decline_reason == "Fully booked"


def test_declining_an_accepted_item_is_refused_on_the_page(
    world: World, vendor_client: Client
) -> None:
    vendor_client.post(action("accept", world.item))
    before = snapshot()
    response = vendor_client.post(action("decline", world.item), {"reason": "Changed my mind"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Cannot decline the item: the item is accepted." in html
    assert "can no longer be declined" in html
    assert snapshot() == before


def test_vendor_confirms_an_accepted_item_with_its_reference(
    world: World, vendor_client: Client
) -> None:
    vendor_client.post(action("accept", world.item))
    page = vendor_client.get(action("confirm", world.item))
    assert "This cannot be undone here" in page.content.decode()

    blank = vendor_client.post(action("confirm", world.item), {"vendor_reference": ""})
    assert "This field is required." in blank.content.decode()

    done = vendor_client.post(
        action("confirm", world.item), {"vendor_reference": "QS-2027-0042"}, follow=True
    )
    world.item.refresh_from_db()
    assert world.item.vendor_status == V.CONFIRMED
    assert world.item.vendor_reference == "QS-2027-0042"
    assert "QS-2027-0042" in done.content.decode()


def test_confirming_a_pending_item_is_refused(world: World, vendor_client: Client) -> None:
    before = snapshot()
    response = vendor_client.post(action("confirm", world.item), {"vendor_reference": "X-1"})
    assert "Cannot confirm the item: the item is pending vendor." in response.content.decode()
    assert snapshot() == before


def test_answering_an_item_of_a_cancelled_booking_is_refused(
    world: World, vendor_client: Client, superuser: Any
) -> None:
    bs.booking_cancel(
        booking=world.booking, actor=Actor(user=superuser, via="admin"), reason="Trip off"
    )
    page = vendor_client.get(detail(world.item)).content.decode()
    assert "This item was cancelled" in page
    assert action("accept", world.item) not in page
    before = snapshot()
    response = vendor_client.post(action("accept", world.item))
    assert response.status_code == 409
    assert "booking" in response.content.decode() and "is cancelled" in response.content.decode()
    assert snapshot() == before


def test_history_lists_own_answers_even_after_reassignment(
    world: World, vendor_client: Client, other_vendor_client: Client, superuser: Any
) -> None:
    vendor_client.post(action("decline", world.item), {"reason": "No rooms left"})
    bs.item_assign_vendor(
        item=world.item, vendor=world.other_vendor, actor=Actor(user=superuser, via="admin")
    )
    other_vendor_client.post(action("accept", world.item))

    mine = vendor_client.get(reverse("portal:history")).content.decode()
    assert "Declined" in mine and "No rooms left" in mine
    assert world.booking.reference in mine
    # The item is no longer theirs: listed, but not linked, and its new answer not shown.
    assert detail(world.item) not in mine
    assert "Accepted" not in mine

    theirs = other_vendor_client.get(reverse("portal:history")).content.decode()
    assert "Accepted" in theirs
    assert "No rooms left" not in theirs


def test_history_empty_state(world: World, vendor_client: Client) -> None:
    html = vendor_client.get(reverse("portal:history")).content.decode()
    assert "You have not answered any item yet" in html


def test_answers_staff_recorded_show_in_history(
    world: World, vendor_client: Client, superuser: Any
) -> None:
    bs.item_accept(item=world.item, actor=Actor(user=superuser, via="admin"))
    html = vendor_client.get(reverse("portal:history")).content.decode()
    assert "us, on your behalf" in html


def test_vendor_updates_contact_details_and_channels(world: World, vendor_client: Client) -> None:
    url = reverse("portal:profile")
    page = vendor_client.get(url).content.decode()
    assert 'value="reservas@quinta-secreta.example"' in page

    response = vendor_client.post(
        url,
        {"email": "new@quinta.example", "phone": "+351 912 345 678", "notify_by": ["whatsapp"]},
    )
    assert response.status_code == 302
    world.vendor.refresh_from_db()
    assert world.vendor.email == "new@quinta.example"
    assert world.vendor.phone == "+351912345678"
    assert world.vendor.notify_by == ["whatsapp"]
    assert world.vendor.name == "Quinta Secreta Lda"
    entry = AuditEntry.objects.filter(action="updated", object_id=world.vendor.pk).last()
    assert entry.data["via"] == "portal"


def test_profile_errors_sit_beside_their_fields(world: World, vendor_client: Client) -> None:
    before = snapshot()
    response = vendor_client.post(
        reverse("portal:profile"), {"email": "not-an-email", "phone": "912", "notify_by": []}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_email_error"' in html and 'id="id_phone_error"' in html
    assert "Enter a valid phone number" in html
    assert "Choose at least one channel." in html
    assert snapshot() == before


def test_whatsapp_needs_a_phone(world: World, vendor_client: Client) -> None:
    response = vendor_client.post(
        reverse("portal:profile"),
        {"email": "a@example.com", "phone": "", "notify_by": ["whatsapp"]},
    )
    assert "Add a phone number to be told on WhatsApp." in response.content.decode()
    world.vendor.refresh_from_db()
    assert world.vendor.email == "reservas@quinta-secreta.example"


def test_booking_confirms_itself_when_the_vendor_confirms_the_last_item(
    world: World, vendor_client: Client, approver: Any, superuser: Any
) -> None:
    staff = Actor(user=superuser, via="admin")
    bs.item_cancel(item=world.other_item, actor=staff)
    bs.booking_approve(booking=world.booking, actor=Actor(user=approver, via="admin"))
    vendor_client.post(action("accept", world.item))
    vendor_client.post(action("confirm", world.item), {"vendor_reference": "R-1"})
    world.booking.refresh_from_db()
    assert world.booking.status == Booking.Status.CONFIRMED

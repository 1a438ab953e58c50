"""Booking item transitions from the admin, on the vendor's behalf and staff's own."""

from __future__ import annotations

from typing import Any

import pytest

from bookings.models import Booking, BookingItem
from notifications.models import Notification
from tests import factories
from tests.admin.helpers import (
    admin_entries,
    audit_actions,
    change_url,
    changelist,
    make_booking,
    messages_of,
    run_action,
    transition_url,
)

pytestmark = pytest.mark.django_db
V = BookingItem.VendorStatus


def _item(booking: Booking) -> BookingItem:
    return booking.items.get()


def _fresh(item: BookingItem) -> BookingItem:
    return BookingItem.objects.get(pk=item.pk)


def test_assign_page_lists_active_vendors_supplying_the_service_first(staff_client: Any) -> None:
    item = _item(make_booking("draft"))  # accommodation
    factories.VendorFactory(name="Aardvark Coaches", service_types=["transfer"])
    hotel = factories.VendorFactory(name="Zebra Hotel", service_types=["accommodation"])
    factories.VendorFactory(name="Closed Hotel", service_types=["accommodation"], is_active=False)
    page = staff_client.get(transition_url(item, "assign_vendor"))
    choices = page.context["form"].fields["vendor"].choices
    assert choices[1][0] == "Supply accommodation"
    assert [pk for pk, _ in choices[1][1]] == [hotel.pk]
    assert [label for _, label in choices[2][1]] == ["Aardvark Coaches (Transfer)"]
    assert "Closed Hotel" not in page.content.decode()


def test_assign_vendor_asks_the_vendor_and_records_it(
    staff_client: Any, vendor: Any, superuser: Any
) -> None:
    item = _item(make_booking("pending_approval"))
    response = staff_client.post(
        transition_url(item, "assign_vendor"), {"vendor": vendor.pk, "_transition_apply": "1"}
    )
    assert response.status_code == 302
    item = _fresh(item)
    assert (item.vendor, item.vendor_status) == (vendor, V.PENDING)
    [entry] = admin_entries(item, "assigned")
    assert entry.actor == superuser
    assert Notification.objects.filter(kind="item_assigned", recipient=vendor.email).exists()


def test_assigning_an_inactive_vendor_is_refused_by_the_form(staff_client: Any) -> None:
    item = _item(make_booking("draft"))
    closed = factories.VendorFactory(is_active=False)
    response = staff_client.post(
        transition_url(item, "assign_vendor"), {"vendor": closed.pk, "_transition_apply": "1"}
    )
    assert response.status_code == 200
    assert "vendor" in response.context["form"].errors
    assert _fresh(item).vendor_status == V.UNASSIGNED


def test_reassign_action_moves_items_and_tells_the_old_vendor(
    staff_client: Any, vendor: Any, other_vendor: Any
) -> None:
    items = [_item(make_booking("pending_approval", vendor=vendor)) for _ in range(2)]
    page = run_action(staff_client, BookingItem, "assign_vendor", items)
    assert page.templates[0].name == "admin/transition_form.html"
    run_action(
        staff_client,
        BookingItem,
        "assign_vendor",
        items,
        vendor=other_vendor.pk,
        _transition_apply="1",
    )
    for item in items:
        assert _fresh(item).vendor == other_vendor
        assert len(admin_entries(item, "reassigned")) == 1
    assert Notification.objects.filter(kind="item_withdrawn", recipient=vendor.email).count() == 2


def test_mark_accepted_then_confirmed_confirms_the_booking(staff_client: Any, vendor: Any) -> None:
    booking = make_booking("approved", vendor=vendor)
    item = _item(booking)
    staff_client.post(transition_url(item, "accept"))
    assert _fresh(item).vendor_status == V.ACCEPTED
    assert len(admin_entries(item, "accepted")) == 1
    response = staff_client.post(
        transition_url(item, "confirm"), {"vendor_reference": "HX-778", "_transition_apply": "1"}
    )
    assert response.status_code == 302
    item = _fresh(item)
    assert (item.vendor_status, item.vendor_reference) == (V.CONFIRMED, "HX-778")
    assert len(admin_entries(item, "confirmed")) == 1
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_confirm_needs_the_vendor_reference(staff_client: Any, vendor: Any) -> None:
    item = _item(make_booking("approved", vendor=vendor))
    staff_client.post(transition_url(item, "accept"))
    response = staff_client.post(transition_url(item, "confirm"), {"_transition_apply": "1"})
    assert response.status_code == 200
    assert "vendor_reference" in response.context["form"].errors
    assert _fresh(item).vendor_status == V.ACCEPTED


def test_mark_declined_keeps_the_reason_and_frees_the_item(staff_client: Any, vendor: Any) -> None:
    item = _item(make_booking("pending_approval", vendor=vendor))
    staff_client.post(
        transition_url(item, "decline"), {"reason": "Fully booked", "_transition_apply": "1"}
    )
    item = _fresh(item)
    assert (item.vendor_status, item.decline_reason) == (V.DECLINED, "Fully booked")
    assert admin_entries(item, "declined")[0].data["reason"] == "Fully booked"


def test_accepting_an_unassigned_item_is_reported_and_changes_nothing(staff_client: Any) -> None:
    item = _item(make_booking("draft"))
    before = audit_actions(item)
    response = run_action(staff_client, BookingItem, "accept", [item])
    assert _fresh(item).vendor_status == V.UNASSIGNED
    assert audit_actions(item) == before
    [message] = messages_of(response)
    assert message.endswith("Cannot accept the item: the item is unassigned.")
    assert message.startswith(item.booking.reference)


def test_cancel_item_withdraws_it_from_the_vendor(staff_client: Any, vendor: Any) -> None:
    item = _item(make_booking("approved", vendor=vendor))
    response = staff_client.post(
        transition_url(item, "cancel"), {"reason": "Guest not coming", "_transition_apply": "1"}
    )
    assert response.status_code == 302
    assert _fresh(item).cancelled_at is not None
    assert admin_entries(item, "cancelled")[0].data["reason"] == "Guest not coming"
    assert Notification.objects.filter(kind="item_withdrawn", recipient=vendor.email).exists()


def test_remove_action_deletes_only_items_no_vendor_was_told_about(
    staff_client: Any, vendor: Any
) -> None:
    untold = _item(make_booking("draft"))
    told = _item(make_booking("pending_approval", vendor=vendor))
    response = run_action(staff_client, BookingItem, "remove", [untold, told])
    assert not BookingItem.objects.filter(pk=untold.pk).exists()
    assert BookingItem.objects.filter(pk=told.pk).exists()
    assert "item_removed" in audit_actions(untold.booking)
    assert (
        f"{told.booking.reference} · {told}: A vendor was told about this item: cancel it instead."
        in messages_of(response)
    )


def test_delete_page_removes_through_the_service_or_explains(
    staff_client: Any, vendor: Any
) -> None:
    untold = _item(make_booking("draft"))
    delete = change_url(untold).replace("/change/", "/delete/")
    assert staff_client.post(delete, {"post": "yes"}).status_code == 302
    assert not BookingItem.objects.filter(pk=untold.pk).exists()
    assert "item_removed" in audit_actions(untold.booking)

    told = _item(make_booking("approved", vendor=vendor))
    delete = change_url(told).replace("/change/", "/delete/")
    response = staff_client.post(delete, {"post": "yes"}, follow=True)
    assert BookingItem.objects.filter(pk=told.pk).exists()
    assert any("remove an item (cancel it instead)" in m for m in messages_of(response))


def test_items_have_no_bulk_delete(staff_client: Any) -> None:
    listing = staff_client.get(changelist(BookingItem))
    actions = [name for name, _ in listing.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions
    assert {"transition_assign_vendor", "transition_accept", "transition_remove"} <= set(actions)


def test_booking_page_links_each_item_transition_back_to_the_booking(
    staff_client: Any, vendor: Any
) -> None:
    booking = make_booking("pending_approval", vendor=vendor)
    item = _item(booking)
    html = staff_client.get(change_url(booking)).content.decode()
    back = f"?next=%2Fadmin%2Fbookings%2Fbooking%2F{booking.pk}%2Fchange%2F"
    for name in ("assign_vendor", "accept", "decline", "cancel"):
        assert transition_url(item, name) + back in html
    assert transition_url(item, "confirm") not in html  # only once accepted
    response = staff_client.post(transition_url(item, "accept") + back)
    assert response["Location"] == change_url(booking)
    assert _fresh(item).vendor_status == V.ACCEPTED


def test_partner_manager_cannot_act_on_items(login: Any, partner_manager: Any, vendor: Any) -> None:
    item = _item(make_booking("pending_approval", vendor=vendor))
    client = login(partner_manager)
    assert client.post(transition_url(item, "accept")).status_code == 403
    response = run_action(client, BookingItem, "accept", [item])
    assert response.status_code == 200
    assert response.context["action_form"] is None  # view-only: no actions at all
    assert messages_of(response) == []
    assert _fresh(item).vendor_status == V.PENDING


def test_agent_acts_on_items(login: Any, agent: Any, vendor: Any) -> None:
    item = _item(make_booking("pending_approval", vendor=vendor))
    login(agent).post(transition_url(item, "accept"))
    assert _fresh(item).vendor_status == V.ACCEPTED
    assert admin_entries(item, "accepted")[0].actor == agent

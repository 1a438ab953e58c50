"""Add and change forms (and their inlines) write only through the services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingItem
from core.models import AuditEntry
from notifications.models import Notification
from offers.models import Offer, OfferLine
from tests import factories
from tests.admin.helpers import (
    admin_entries,
    audit_actions,
    change_url,
    form_post_data,
    make_booking,
    make_offer,
)

pytestmark = pytest.mark.django_db
ITEMS = "items"  # the booking page's item inline prefix
LINES = "lines"


def _when(days: int) -> dict[str, str]:
    start = timezone.localtime(timezone.now() + timedelta(days=days)).replace(
        hour=14, minute=0, second=0, microsecond=0
    )
    return {"date": start.date().isoformat(), "time": "14:00:00"}


def _item_row(prefix: str, n: int, **values: Any) -> dict[str, Any]:
    start, end = _when(30), _when(32)
    row = {
        "service_type": "accommodation",
        "description": "Suite, two nights",
        "start_0": start["date"],
        "start_1": start["time"],
        "end_0": end["date"],
        "end_1": end["time"],
        "quantity": "2",
        "unit_price": "210.00",
        "unit_cost": "150.00",
        **values,
    }
    return {f"{prefix}-{n}-{k}": v for k, v in row.items()}


def _add_booking_data(staff_client: Any, **values: Any) -> dict[str, Any]:
    page = staff_client.get(reverse("admin:bookings_booking_add"))
    data = form_post_data(page)
    data.update(
        {
            "customer_name": "Lucas Moreau",
            "customer_email": "lucas@example.com",
            "currency": "EUR",
            "notes": "Anniversary",
        }
    )
    data.update(values)
    return data


def test_add_booking_with_items_goes_through_the_services(
    staff_client: Any, superuser: Any, broker: Any
) -> None:
    data = _add_booking_data(staff_client, broker=str(broker.pk))
    data.update(_item_row(ITEMS, 0))
    data.update(_item_row(ITEMS, 1, description="Airport pickup", service_type="transfer"))
    data[f"{ITEMS}-TOTAL_FORMS"] = "2"
    response = staff_client.post(reverse("admin:bookings_booking_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    booking = Booking.objects.get(customer_name="Lucas Moreau")
    assert booking.reference.startswith("BK-")
    assert (booking.status, booking.source, booking.created_by) == ("draft", "admin", superuser)
    assert booking.commission_rate == broker.commission_rate
    assert sorted(booking.items.values_list("description", flat=True)) == [
        "Airport pickup",
        "Suite, two nights",
    ]
    assert audit_actions(booking) == ["created", "item_added", "item_added"]
    assert all(
        e.data["via"] == "admin" and e.actor == superuser
        for e in admin_entries(booking, "item_added")
    )
    assert response["Location"] == change_url(booking)


def test_item_with_end_before_start_is_a_form_error_and_nothing_is_created(
    staff_client: Any,
) -> None:
    data = _add_booking_data(staff_client)
    data.update(_item_row(ITEMS, 0, end_0=_when(10)["date"]))
    data[f"{ITEMS}-TOTAL_FORMS"] = "1"
    response = staff_client.post(reverse("admin:bookings_booking_add"), data)
    assert response.status_code == 200
    assert response.context["errors"]
    assert not Booking.objects.exists()
    assert not AuditEntry.objects.exists()


def test_service_refusal_on_add_shows_the_reason_on_the_field_and_saves_nothing(
    staff_client: Any,
) -> None:
    closed = factories.BrokerFactory(is_active=False)
    data = _add_booking_data(staff_client, broker=str(closed.pk))
    data.update(_item_row(ITEMS, 0))
    data[f"{ITEMS}-TOTAL_FORMS"] = "1"
    response = staff_client.post(reverse("admin:bookings_booking_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "broker": [f"Broker {closed.name} is inactive."]
    }
    # The form comes back with what was typed.
    assert response.context["adminform"].form["customer_name"].value() == "Lucas Moreau"
    assert not Booking.objects.exists()
    assert not AuditEntry.objects.exists()


def test_change_booking_records_only_the_changed_fields(staff_client: Any) -> None:
    booking = make_booking("pending_approval")
    data = form_post_data(staff_client.get(change_url(booking)))
    data["notes"] = "Late arrival"
    response = staff_client.post(change_url(booking), data)
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.notes == "Late arrival"
    [entry] = admin_entries(booking, "updated")
    assert entry.data["changed"] == {"notes": "Late arrival"}
    assert not admin_entries(booking.items.get(), "updated")


def test_broker_and_currency_are_read_only_once_submitted(staff_client: Any) -> None:
    booking = make_booking("pending_approval")
    form = staff_client.get(change_url(booking)).context["adminform"].form
    assert "broker" not in form.fields and "currency" not in form.fields
    assert "notes" in form.fields


def test_inline_item_edit_asks_the_vendor_again(staff_client: Any, vendor: Any) -> None:
    booking = make_booking("pending_approval", vendor=vendor)
    item = booking.items.get()
    data = form_post_data(staff_client.get(change_url(booking)))
    data[f"{ITEMS}-0-quantity"] = "3"
    response = staff_client.post(change_url(booking), data)
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.quantity == 3
    [entry] = admin_entries(item, "updated")
    assert entry.data["changed"] == {"quantity": "3"}
    assert Notification.objects.filter(kind="item_assigned", audit_entry=entry).exists()


def test_inline_item_delete_removes_through_the_service(staff_client: Any) -> None:
    booking = make_booking("draft", items=2)
    first = booking.items.order_by("start", "id").first()
    data = form_post_data(staff_client.get(change_url(booking)))
    assert data[f"{ITEMS}-0-id"] == str(first.pk)
    data[f"{ITEMS}-0-DELETE"] = "on"
    response = staff_client.post(change_url(booking), data)
    assert response.status_code == 302
    assert not BookingItem.objects.filter(pk=first.pk).exists()
    assert [e.data["item"] for e in admin_entries(booking, "item_removed")] == [first.pk]


def test_refused_inline_change_rolls_back_the_whole_save(staff_client: Any, vendor: Any) -> None:
    """Notes and a change to a confirmed item in one save: the item is refused, so the
    notes are not saved either, and the page says why."""
    booking = make_booking("approved", vendor=vendor, items=2)
    first = booking.items.order_by("start", "id").first()
    from bookings import services as bs
    from tests.admin.helpers import SYSTEM

    bs.item_accept(item=first, actor=SYSTEM)
    bs.item_confirm(item=first, actor=SYSTEM, vendor_reference="C-1")
    entries_before = AuditEntry.objects.count()
    data = form_post_data(staff_client.get(change_url(booking)))
    data["notes"] = "Should not stay"
    data[f"{ITEMS}-0-quantity"] = "9"
    response = staff_client.post(change_url(booking), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert errors == [
        "Item 1 (Room 0): Cannot change the item: the item is confirmed.",
    ]
    booking.refresh_from_db()
    first.refresh_from_db()
    assert booking.notes == "" and first.quantity == 2
    assert AuditEntry.objects.count() == entries_before


def test_closed_booking_page_is_read_only(staff_client: Any, vendor: Any) -> None:
    booking = make_booking("completed", vendor=vendor)
    response = staff_client.get(change_url(booking))
    assert set(response.context["adminform"].form.fields) == set()
    items = response.context["inline_admin_formsets"][0]
    assert not items.has_add_permission and not items.has_change_permission


def test_item_add_page_adds_to_the_chosen_booking(staff_client: Any) -> None:
    booking = make_booking("draft", items=0)
    page = staff_client.get(reverse("admin:bookings_bookingitem_add"))
    data = form_post_data(page)
    data["booking"] = str(booking.pk)
    data.update({k.removeprefix("x-0-"): v for k, v in _item_row("x", 0).items()})
    response = staff_client.post(reverse("admin:bookings_bookingitem_add"), data)
    assert response.status_code == 302
    item = booking.items.get()
    assert item.description == "Suite, two nights"
    assert admin_entries(booking, "item_added")[0].data["item"] == item.pk


def test_item_change_page_updates_through_the_service(staff_client: Any) -> None:
    item = make_booking("draft").items.get()
    data = form_post_data(staff_client.get(change_url(item)))
    data["description"] = "Junior suite"
    assert staff_client.post(change_url(item), data).status_code == 302
    item.refresh_from_db()
    assert item.description == "Junior suite"
    assert admin_entries(item, "updated")[0].data["changed"] == {"description": "Junior suite"}


def test_confirmed_item_page_is_read_only(staff_client: Any, vendor: Any) -> None:
    item = make_booking("confirmed", vendor=vendor).items.get()
    form = staff_client.get(change_url(item)).context["adminform"].form
    assert "quantity" not in form.fields


# --- offers ---------------------------------------------------------------------------


def test_add_offer_with_lines_goes_through_the_services(
    staff_client: Any, broker: Any, vendor: Any
) -> None:
    page = staff_client.get(reverse("admin:offers_offer_add"))
    data = form_post_data(page)
    valid = _when(14)
    data.update(
        {
            "broker": str(broker.pk),
            "currency": "EUR",
            "valid_until_0": valid["date"],
            "valid_until_1": valid["time"],
        }
    )
    data.update(_item_row(LINES, 0, proposed_vendor=str(vendor.pk)))
    data[f"{LINES}-TOTAL_FORMS"] = "1"
    response = staff_client.post(reverse("admin:offers_offer_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    offer = Offer.objects.get()
    assert (offer.status, offer.broker) == ("draft", broker)
    assert offer.lines.get().proposed_vendor == vendor
    assert audit_actions(offer) == ["created", "line_added"]


def test_offer_without_broker_or_customer_is_refused_on_the_field(staff_client: Any) -> None:
    page = staff_client.get(reverse("admin:offers_offer_add"))
    data = form_post_data(page)
    valid = _when(14)
    data.update({"currency": "EUR", "valid_until_0": valid["date"], "valid_until_1": valid["time"]})
    response = staff_client.post(reverse("admin:offers_offer_add"), data)
    assert response.status_code == 200
    assert response.context["errors"]
    assert not Offer.objects.exists()


def test_offer_line_edit_and_delete_on_a_draft(staff_client: Any) -> None:
    offer = make_offer("draft", lines=2)
    first, second = offer.lines.order_by("start", "id")
    data = form_post_data(staff_client.get(change_url(offer)))
    data[f"{LINES}-0-unit_price"] = "95.00"
    data[f"{LINES}-1-DELETE"] = "on"
    response = staff_client.post(change_url(offer), data)
    assert response.status_code == 302
    first.refresh_from_db()
    assert str(first.unit_price) == "95.00"
    assert not OfferLine.objects.filter(pk=second.pk).exists()
    assert audit_actions(offer)[-2:] == ["line_updated", "line_removed"]


def test_sent_offer_page_is_read_only(staff_client: Any) -> None:
    offer = make_offer("sent")
    response = staff_client.get(change_url(offer))
    assert set(response.context["adminform"].form.fields) == set()
    lines = response.context["inline_admin_formsets"][0]
    assert not lines.has_change_permission


def test_offer_and_booking_have_no_delete(staff_client: Any) -> None:
    offer = make_offer("draft")
    response = staff_client.post(change_url(offer).replace("/change/", "/delete/"), {"post": "yes"})
    assert response.status_code == 403
    assert Offer.objects.filter(pk=offer.pk).exists()

"""Helpers for the back-office admin tests.

Objects in a given state are made through the services, as staff would make them,
so the admin is tested against the rows the real flow produces.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.forms import CheckboxInput, MultiWidget
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings import services as bs
from bookings.models import Booking
from core.domain import Actor
from core.models import AuditEntry
from offers import services as os_
from offers.models import Offer

SYSTEM = Actor(via="system", label="test setup")


def item_data(**overrides: Any) -> dict[str, Any]:
    start = timezone.now() + timedelta(days=20)
    data = {
        "service_type": "accommodation",
        "description": "Double room, sea view",
        "start": start,
        "end": start + timedelta(days=2),
        "quantity": 2,
        "unit_price": Decimal("150.00"),
        "unit_cost": Decimal("100.00"),
    }
    return {**data, **overrides}


def make_booking(
    status: str = "draft",
    *,
    items: int = 1,
    broker: Any = None,
    vendor: Any = None,
    customer_name: str = "Anna Lindqvist",
) -> Booking:
    """A booking brought to ``status`` the way staff and vendors would."""
    booking = bs.booking_create(
        actor=SYSTEM,
        customer_name=customer_name,
        customer_email=customer_name.lower().replace(" ", ".") + "@example.com",
        broker=broker,
        items=[item_data(description=f"Room {n}") for n in range(items)],
    )
    if status == "draft":
        return booking
    if status == "cancelled":
        return bs.booking_cancel(booking=booking, actor=SYSTEM, reason="Test")
    if vendor is not None:
        for item in booking.items.all():
            bs.item_assign_vendor(item=item, vendor=vendor, actor=SYSTEM)
    bs.booking_submit(booking=booking, actor=SYSTEM)
    if status == "pending_approval":
        return _fresh(booking)
    bs.booking_approve(booking=booking, actor=SYSTEM)
    if status == "approved":
        return _fresh(booking)
    assert vendor is not None, "a confirmed booking needs a vendor"
    for item in booking.items.all():
        bs.item_accept(item=item, actor=SYSTEM)
        bs.item_confirm(item=item, actor=SYSTEM, vendor_reference="V-1")
    if status == "confirmed":
        return _fresh(booking)
    bs.booking_complete(booking=booking, actor=SYSTEM)
    return _fresh(booking)


def _fresh(booking: Booking) -> Booking:
    return Booking.objects.get(pk=booking.pk)


def make_offer(status: str = "draft", *, broker: Any = None, lines: int = 1) -> Offer:
    start = timezone.now() + timedelta(days=30)
    offer = os_.offer_create(
        actor=SYSTEM,
        broker=broker,
        customer_name="" if broker else "Emily Carter",
        customer_email="" if broker else "emily.carter@example.com",
        valid_until=timezone.now() + timedelta(days=10),
        lines=[
            {
                "service_type": "transfer",
                "description": f"Airport transfer {n}",
                "start": start,
                "end": start + timedelta(hours=1),
                "quantity": 1,
                "unit_price": Decimal("80.00"),
                "unit_cost": Decimal("50.00"),
            }
            for n in range(lines)
        ],
    )
    if status == "draft":
        return offer
    os_.offer_send(offer=offer, actor=SYSTEM)
    if status == "accepted":
        os_.offer_accept(offer=offer, actor=SYSTEM)
    elif status == "declined":
        os_.offer_decline(offer=offer, actor=SYSTEM)
    elif status == "withdrawn":
        os_.offer_withdraw(offer=offer, actor=SYSTEM)
    return Offer.objects.get(pk=offer.pk)


def audit_actions(obj: Any) -> list[str]:
    """The audit actions recorded for ``obj``, oldest first."""
    return list(
        AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
        )
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )


def admin_entries(obj: Any, action: str) -> list[AuditEntry]:
    """Audit entries for ``obj`` written by a change made through the admin."""
    return [
        entry
        for entry in AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk, action=action
        )
        if entry.data.get("via") == "admin"
    ]


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def changelist(model: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change_url(obj: Any) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def transition_url(obj: Any, name: str) -> str:
    return reverse(
        f"admin:{obj._meta.app_label}_{obj._meta.model_name}_transition", args=[obj.pk, name]
    )


def run_action(client: Client, model: Any, action: str, objects: list[Any], **data: Any) -> Any:
    """POST a changelist action, as the action bar does, and follow the redirect."""
    payload = {"action": f"transition_{action}", "_selected_action": [o.pk for o in objects]}
    payload.update(data)
    return client.post(changelist(model), payload, follow=True)


def _field_data(form: Any, name: str) -> dict[str, Any]:
    field = form.fields[name]
    key = form.add_prefix(name)
    value = form[name].value()
    widget = field.widget
    if isinstance(widget, MultiWidget):
        parts = widget.decompress(value)
        return {f"{key}_{i}": "" if part is None else str(part) for i, part in enumerate(parts)}
    if isinstance(widget, CheckboxInput):
        return {key: "on"} if value else {}
    if isinstance(value, list | tuple):
        return {key: [str(v) for v in value]}
    return {key: "" if value is None else str(value)}


def form_post_data(response: Any) -> dict[str, Any]:
    """The POST an admin add/change page would send unchanged, forms and inlines alike."""
    data: dict[str, Any] = {}
    form = response.context["adminform"].form
    for name in form.fields:
        data.update(_field_data(form, name))
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for inline_form in formset.forms:
            for name in inline_form.fields:
                data.update(_field_data(inline_form, name))
    return data

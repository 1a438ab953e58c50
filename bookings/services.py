"""Every change to a booking or its items goes through one of these functions.

Each is atomic, re-reads its rows with ``select_for_update()`` (booking first, then
item, always in that order so two calls cannot deadlock), checks the transition,
saves only what changed, writes an audit entry and records who must be told.

Booking:  draft -> pending_approval -> approved -> confirmed -> completed,
          and any of the first four -> cancelled.
Item:     unassigned -> pending -> accepted -> confirmed; pending -> declined;
          declined (or pending / accepted) -> pending with another vendor.

Who may make which move from which state is the table in ``bookings.states``, which
every service here uses as its guard (and the doors read to show what can succeed).

The rules every door's input meets here (and nowhere else):

* An item's dates, quantity, prices and description: see ``bookings.rules``
  (no service may start in the past, the end not before the start, 1 to 10000 of
  it, prices from 0 to 1,000,000 in cents, at most ``MAX_ITEMS_PER_BOOKING`` items).
* Names and contact details are single lines (no CR, LF, NUL or other control
  character); notes are at most 5000 characters, reasons 2000, a vendor's reference
  100: longer text is refused, never cut (``partners.rules``).
* Prices are staff's: a broker's request carries no ``unit_price`` or ``unit_cost``
  (refused with a field error, never silently dropped); its items are unpriced until
  staff price them.
* A booking is approved only when every live item is priced: a unit price above
  zero, or zero with a ``zero_price_reason``.
* Vendors are asked only once the booking is submitted: choosing a vendor for an
  item of a draft records it silently, and ``booking_submit`` asks every chosen
  vendor. An item change tells its vendor again only when something the vendor
  delivers changed (``ITEM_SERVICE_FIELDS``), once per change.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from bookings import deadlines, extensions
from bookings import notify as tell
from bookings.models import Booking, BookingItem, new_reference
from bookings.rules import check_line_count, check_service_line
from bookings.states import BOOKING, ITEM
from core.audit import audit
from core.changes import apply_changes, audit_changes, save_changes
from core.domain import Actor, DomainError, InvalidTransition, NotPermitted, ValidationFailed
from partners.models import Broker, Vendor
from partners.rules import (
    REFERENCE_LENGTH,
    check_contact_text,
    check_reason,
    check_text,
)
from partners.timezones import check_timezone

S = Booking.Status
# How the services name a booking's customer_name in their refusals.
LEAD_NAME = "The lead customer's name"
V = BookingItem.VendorStatus

BOOKING_FIELDS = {
    "customer_name",
    "customer_email",
    "customer_phone",
    "notes",
    "broker",
    "currency",
}
DRAFT_ONLY_FIELDS = {"broker", "currency"}
# An item's editable fields, in the order forms and the API show them.
ITEM_FIELDS = (
    "service_type",
    "description",
    "start",
    "end",
    "timezone",
    "quantity",
    "unit_price",
    "unit_cost",
    "zero_price_reason",
)
# What a broker may never set: pricing is staff's.
PRICE_FIELDS = ("unit_price", "unit_cost", "zero_price_reason")
# Changing any of these on an item a vendor was told about asks the vendor again.
ITEM_SERVICE_FIELDS = {"service_type", "description", "start", "end", "quantity", "unit_cost"}
EDITABLE_STATUSES = (S.DRAFT, S.PENDING_APPROVAL, S.APPROVED)
OPEN_STATUSES = (*EDITABLE_STATUSES, S.CONFIRMED)


# --- access and locking helpers --------------------------------------------------


def _lock_booking(booking: Booking | int) -> Booking:
    pk = booking if isinstance(booking, int) else booking.pk
    return Booking.objects.select_for_update(of=("self",)).select_related("broker").get(pk=pk)


def _lock_item(item: BookingItem) -> tuple[Booking, BookingItem]:
    booking = _lock_booking(item.booking_id)
    locked = (
        BookingItem.objects.select_for_update(of=("self",)).select_related("vendor").get(pk=item.pk)
    )
    locked.booking = booking
    return booking, locked


def _unique_reference() -> str:
    for _ in range(20):
        reference = new_reference("BK")
        if not Booking.objects.filter(reference=reference).exists():
            return reference
    raise RuntimeError("Could not find a free booking reference.")  # pragma: no cover


def _check_keys(fields: Mapping[str, Any], allowed: Collection[str]) -> None:
    unknown = set(fields).difference(allowed)
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.")


def _source_for(actor: Actor) -> str:
    if actor.via == "portal":
        return Booking.Source.PORTAL
    if actor.via == "api":
        return Booking.Source.API
    return Booking.Source.ADMIN if actor.user is not None else Booking.Source.SYSTEM


# --- bookings ---------------------------------------------------------------------


@transaction.atomic
def booking_create(
    *,
    actor: Actor,
    customer_name: str,
    customer_email: str = "",
    customer_phone: str = "",
    broker: Broker | None = None,
    currency: str = "EUR",
    notes: str = "",
    items: Iterable[Mapping[str, Any]] = (),
    source: str | None = None,
    reference: str | None = None,
) -> Booking:
    """Create a draft booking, with its items if given. Nobody is told yet.

    A broker creates bookings only for itself. ``reference`` keeps an existing
    reference (imports, demo data); by default a new one is drawn. At most
    ``MAX_ITEMS_PER_BOOKING`` items.
    """
    items = list(items)
    check_line_count(len(items))
    check_contact_text(
        {
            "customer_name": customer_name,
            "customer_email": customer_email,
            "customer_phone": customer_phone,
            "notes": notes,
        },
        name_label=LEAD_NAME,
        name_required=True,
    )
    if actor.vendor is not None:
        raise NotPermitted("Vendors cannot create bookings.")
    if actor.broker is not None:
        broker = actor.broker
    else:
        actor.require_perm("bookings.add_booking", "create bookings")
    if broker is not None and not broker.is_active:
        raise ValidationFailed(f"Broker {broker.name} is inactive.", field="broker")
    booking = Booking(
        reference=reference or _unique_reference(),
        broker=broker,
        commission_rate=broker.commission_rate if broker else 0,
        customer_name=customer_name,
        customer_email=customer_email,
        customer_phone=customer_phone,
        currency=currency,
        notes=notes,
        source=source or _source_for(actor),
        created_by=actor.audit_user,
    )
    booking.full_clean()
    booking.save()
    audit(booking, "created", actor, to_status=booking.status, source=booking.source)
    for row, data in enumerate(items):
        try:
            _item_create(booking=booking, actor=actor, data=data)
        except DomainError as exc:
            # Say which item, and let a door put it beside that row.
            exc.message = f"Item {row + 1}: {exc.message}"
            exc.args = (exc.message,)
            exc.row = row  # type: ignore[attr-defined]
            raise
    return booking


@transaction.atomic
def booking_update(*, booking: Booking, actor: Actor, **fields: Any) -> Booking:
    """Change contact details or notes of an open booking; broker and currency only in draft."""
    _check_keys(fields, BOOKING_FIELDS)
    booking = _lock_booking(booking)
    BOOKING.check("change", booking, actor)
    if actor.broker is not None and "broker" in fields and fields["broker"] != actor.broker:
        raise NotPermitted("You cannot move a booking to another broker.")
    check_contact_text(fields, name_label=LEAD_NAME, name_required=True)
    if booking.status != S.DRAFT and any(
        getattr(booking, name) != fields[name] for name in DRAFT_ONLY_FIELDS.intersection(fields)
    ):
        raise InvalidTransition(
            "Broker and currency can be changed only while the booking is a draft."
        )
    changed = apply_changes(booking, fields)
    if not changed:
        return booking
    also = []
    if "broker" in changed:
        booking.commission_rate = booking.broker.commission_rate if booking.broker else 0
        also.append("commission_rate")
    save_changes(booking, changed, also=also)
    audit(booking, "updated", actor, changed=audit_changes(changed))
    return booking


@transaction.atomic
def booking_submit(*, booking: Booking, actor: Actor) -> Booking:
    """draft -> pending_approval. Approvers are told, and each vendor chosen for an item
    while it was a draft is asked now."""
    booking = _lock_booking(booking)
    BOOKING.check("submit", booking, actor)
    booking.status = S.PENDING_APPROVAL
    booking.submitted_at = timezone.now()
    booking.save(update_fields=["status", "submitted_at", "updated_at"])
    entry = audit(booking, "submitted", actor, from_status=S.DRAFT, to_status=booking.status)
    tell.notify_approvers("booking_submitted", booking, entry)
    # Vendors chosen while it was a draft are asked now, once each.
    chosen = booking.items.live().filter(vendor__isnull=False, vendor_status=V.UNASSIGNED)
    for item in chosen.select_related("vendor").order_by("start", "id"):
        item.booking = booking
        _ask_vendor(booking=booking, item=item, vendor=item.vendor, actor=actor)
    return booking


@transaction.atomic
def booking_approve(*, booking: Booking, actor: Actor) -> Booking:
    """pending_approval -> approved (and on to confirmed if every item already is).

    Every live item must be priced (above zero, or zero with a ``zero_price_reason``):
    the broker or customer is told the total. The broker or customer and every vendor
    told about an item are told.
    """
    booking = _lock_booking(booking)
    BOOKING.check("approve", booking, actor)
    booking.status = S.APPROVED
    booking.approved_at = timezone.now()
    booking.approved_by = actor.audit_user
    booking.save(update_fields=["status", "approved_at", "approved_by", "updated_at"])
    entry = audit(booking, "approved", actor, from_status=S.PENDING_APPROVAL, to_status=S.APPROVED)
    extensions.booking_changed(booking=booking, actor=actor, change="approved")
    tell.notify_customer("booking_approved", booking, entry)
    tell.notify_vendors("booking_approved_vendor", booking, entry)
    _confirm_if_ready(booking, actor)
    return booking


@transaction.atomic
def booking_cancel(*, booking: Booking, actor: Actor, reason: str) -> Booking:
    """draft | pending_approval | approved | confirmed -> cancelled, with a reason.

    Brokers may cancel their own bookings until they are approved. The broker or
    customer (unless the booking was still a draft) and every vendor told about an
    item are told.
    """
    booking = _lock_booking(booking)
    BOOKING.check("cancel", booking, actor)
    reason = check_reason(reason)
    if not reason:
        raise ValidationFailed("Give a reason for the cancellation.", field="reason")
    previous = booking.status
    booking.status = S.CANCELLED
    booking.cancelled_at = timezone.now()
    booking.cancel_reason = reason
    booking.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
    # No vendor of a cancelled booking owes an answer.
    booking.items.exclude(respond_by=None, confirm_by=None).update(
        respond_by=None, confirm_by=None, updated_at=booking.cancelled_at
    )
    entry = audit(
        booking, "cancelled", actor, from_status=previous, to_status=S.CANCELLED, reason=reason
    )
    extensions.booking_changed(booking=booking, actor=actor, change="cancelled")
    if previous != S.DRAFT:
        tell.notify_customer("booking_cancelled", booking, entry)
    tell.notify_vendors("booking_cancelled_vendor", booking, entry)
    return booking


@transaction.atomic
def booking_complete(*, booking: Booking, actor: Actor) -> Booking:
    """confirmed -> completed, once the services have been delivered. Nobody is told."""
    booking = _lock_booking(booking)
    BOOKING.check("complete", booking, actor)
    booking.status = S.COMPLETED
    booking.completed_at = timezone.now()
    booking.save(update_fields=["status", "completed_at", "updated_at"])
    audit(booking, "completed", actor, from_status=S.CONFIRMED, to_status=S.COMPLETED)
    return booking


def _confirm_if_ready(booking: Booking, actor: Actor) -> None:
    """approved -> confirmed by itself when every live item is vendor-confirmed."""
    if booking.status != S.APPROVED:
        return
    statuses = set(booking.items.live().values_list("vendor_status", flat=True))
    if statuses != {V.CONFIRMED}:
        return
    booking.status = S.CONFIRMED
    booking.confirmed_at = timezone.now()
    booking.save(update_fields=["status", "confirmed_at", "updated_at"])
    entry = audit(
        booking, "confirmed", actor, from_status=S.APPROVED, to_status=S.CONFIRMED, automatic=True
    )
    tell.notify_customer("booking_confirmed", booking, entry)


# --- items ------------------------------------------------------------------------


def _refuse_broker_prices(actor: Actor, fields: Collection[str]) -> None:
    """Brokers request services; what they cost and sell for is staff's to fill in."""
    if actor.broker is None:
        return
    for name in PRICE_FIELDS:
        if name in fields:
            raise ValidationFailed(
                "Prices are ours to fill in: leave them out, we price your request.",
                field=name,
            )


def _item_create(*, booking: Booking, actor: Actor, data: Mapping[str, Any]) -> BookingItem:
    data = dict(data)
    vendor = data.pop("vendor", None)
    _check_keys(data, ITEM_FIELDS)
    _refuse_broker_prices(actor, data)
    if actor.broker is not None and vendor is not None:
        raise NotPermitted("Brokers cannot choose vendors.")
    data.setdefault("unit_price", 0)
    data.setdefault("unit_cost", 0)
    # Where the service happens: as given, else where its vendor works, else the site's.
    if data.get("timezone"):
        data["timezone"] = check_timezone(data["timezone"])
    else:
        data.pop("timezone", None)
        if vendor is not None:
            data["timezone"] = vendor.timezone
    check_service_line(data, changed=data.keys(), actor=actor)
    check_line_count(BookingItem.objects.filter(booking=booking).count() + 1)
    item = BookingItem(booking=booking, **data)
    item.full_clean(exclude=["booking"])
    item.save()
    audit(booking, "item_added", actor, item=item.pk, description=item.description)
    if vendor is not None:
        _assign(booking=booking, item=item, vendor=vendor, actor=actor)
    return item


@transaction.atomic
def item_add(*, booking: Booking, actor: Actor, **fields: Any) -> BookingItem:
    """Add an item to an open booking (not yet confirmed). A ``vendor`` assigns it at once."""
    booking = _lock_booking(booking)
    BOOKING.check("add_item", booking, actor)
    item = _item_create(booking=booking, actor=actor, data=fields)
    extensions.booking_changed(booking=booking, actor=actor, change="items")
    return item


@transaction.atomic
def item_update(*, item: BookingItem, actor: Actor, **fields: Any) -> BookingItem:
    """Change an item before it is confirmed.

    If the vendor was already asked and what it must deliver changes
    (``ITEM_SERVICE_FIELDS``), the item goes back to pending and the vendor is asked
    again: once for this change. A change of price only, or of nothing at all, tells
    nobody; a vendor chosen on a draft hears nothing until the booking is submitted.
    """
    _check_keys(fields, ITEM_FIELDS)
    if "timezone" in fields and not fields["timezone"]:
        fields.pop("timezone")  # left blank: the zone stays as it is
    booking, item = _lock_item(item)
    ITEM.check("change", item, actor)
    _refuse_broker_prices(actor, fields)
    if actor.broker is not None and booking.status != S.DRAFT:
        raise InvalidTransition("Items can be changed only while the booking is a draft.")
    changed = apply_changes(item, fields)
    if not changed:
        return item
    if "timezone" in changed:
        changed["timezone"] = item.timezone = check_timezone(changed["timezone"])
    values = {name: getattr(item, name) for name in ITEM_FIELDS}
    check_service_line(values, changed=changed.keys(), actor=actor)
    also = []
    ask_again = item.vendor_status in (V.PENDING, V.ACCEPTED) and bool(
        set(changed) & ITEM_SERVICE_FIELDS
    )
    previous = item.vendor_status
    if ask_again:
        item.vendor_status = V.PENDING
        item.responded_at = None
        also += ["vendor_status", "responded_at"]
        if item.vendor is not None:
            also += deadlines.clock_on_ask(item, vendor=item.vendor, now=timezone.now())
    save_changes(item, changed, also=also, exclude=["booking"])
    entry = audit(
        item,
        "updated",
        actor,
        from_status=previous,
        to_status=item.vendor_status,
        changed=audit_changes(changed),
    )
    if ask_again and item.vendor is not None:
        tell.notify_item_vendor("item_assigned", item, item.vendor, entry)
    extensions.booking_changed(booking=booking, actor=actor, change="items")
    return item


@transaction.atomic
def item_remove(*, item: BookingItem, actor: Actor) -> Booking:
    """Delete an item no vendor was told about, while the booking is not yet approved."""
    booking, item = _lock_item(item)
    ITEM.check("remove", item, actor)
    removed = item.pk
    item.delete()
    # After the delete: the booking's state in the event no longer lists the item.
    audit(booking, "item_removed", actor, item=removed, description=item.description)
    return booking


@transaction.atomic
def item_cancel(*, item: BookingItem, actor: Actor, reason: str = "") -> BookingItem:
    """Live -> cancelled. The vendor told about it hears it is withdrawn."""
    booking, item = _lock_item(item)
    ITEM.check("cancel", item, actor)
    reason = check_reason(reason)
    item.cancelled_at = timezone.now()
    item.save(update_fields=["cancelled_at", "updated_at", *deadlines.clock_stop(item)])
    entry = audit(
        item,
        "cancelled",
        actor,
        from_status=item.vendor_status,
        to_status="cancelled",
        reason=reason,
    )
    if item.vendor is not None and item.vendor_status in (V.PENDING, V.ACCEPTED, V.CONFIRMED):
        tell.notify_item_vendor("item_withdrawn", item, item.vendor, entry)
    extensions.booking_changed(booking=booking, actor=actor, change="items")
    _confirm_if_ready(booking, actor)
    return item


def _choose(*, item: BookingItem, vendor: Vendor, actor: Actor) -> BookingItem:
    """On a draft: record the vendor, tell nobody (``booking_submit`` asks it)."""
    if item.vendor_id == vendor.pk:
        return item
    item.vendor = vendor
    item.vendor_status = V.UNASSIGNED
    item.vendor_reference = ""
    item.decline_reason = ""
    item.save(
        update_fields=[
            "vendor",
            "vendor_status",
            "vendor_reference",
            "decline_reason",
            "updated_at",
        ]
    )
    audit(item, "vendor_chosen", actor, vendor=vendor.name)
    return item


def _ask_vendor(
    *, booking: Booking, item: BookingItem, vendor: Vendor, actor: Actor
) -> BookingItem:
    """A chosen vendor of a just-submitted booking: unassigned -> pending, asked."""
    item.vendor_status = V.PENDING
    item.assigned_at = timezone.now()
    item.responded_at = None
    clock = deadlines.clock_on_ask(item, vendor=vendor, now=item.assigned_at)
    item.save(update_fields=["vendor_status", "assigned_at", "responded_at", "updated_at", *clock])
    entry = audit(
        item, "assigned", actor, from_status=V.UNASSIGNED, to_status=V.PENDING, vendor=vendor.name
    )
    tell.notify_item_vendor("item_assigned", item, vendor, entry)
    return item


def _assign(*, booking: Booking, item: BookingItem, vendor: Vendor, actor: Actor) -> BookingItem:
    if not vendor.is_active:
        raise ValidationFailed(f"Vendor {vendor.name} is inactive.", field="vendor")
    if booking.status == S.DRAFT:
        return _choose(item=item, vendor=vendor, actor=actor)
    previous_vendor = item.vendor if item.vendor_status in (V.PENDING, V.ACCEPTED) else None
    if previous_vendor is not None and previous_vendor.pk == vendor.pk:
        raise InvalidTransition(f"The item is already with {vendor.name}.")
    previous = item.vendor_status
    item.vendor = vendor
    item.vendor_status = V.PENDING
    item.vendor_reference = ""
    item.decline_reason = ""
    item.assigned_at = timezone.now()
    item.responded_at = None
    clock = deadlines.clock_on_ask(item, vendor=vendor, now=item.assigned_at)
    item.save(
        update_fields=[
            "vendor",
            "vendor_status",
            "vendor_reference",
            "decline_reason",
            "assigned_at",
            "responded_at",
            "updated_at",
            *clock,
        ]
    )
    entry = audit(
        item,
        "reassigned" if previous_vendor else "assigned",
        actor,
        from_status=previous,
        to_status=V.PENDING,
        vendor=vendor.name,
        previous_vendor=previous_vendor.name if previous_vendor else "",
        # The replaced vendor's id: its event says the item was withdrawn from it.
        previous_vendor_id=previous_vendor.pk if previous_vendor else None,
    )
    if previous_vendor is not None:
        tell.notify_item_vendor("item_withdrawn", item, previous_vendor, entry)
    tell.notify_item_vendor("item_assigned", item, vendor, entry)
    return item


@transaction.atomic
def item_assign_vendor(*, item: BookingItem, vendor: Vendor, actor: Actor) -> BookingItem:
    """unassigned | declined -> pending with ``vendor``; or reassign a pending or accepted item.

    The new vendor is asked on the channels it chose; a replaced vendor is told the
    item is withdrawn. On a draft the vendor is only recorded (still unassigned):
    ``booking_submit`` asks it.
    """
    booking, item = _lock_item(item)
    ITEM.check("assign_vendor", item, actor)
    return _assign(booking=booking, item=item, vendor=vendor, actor=actor)


@transaction.atomic
def item_accept(*, item: BookingItem, actor: Actor) -> BookingItem:
    """pending -> accepted by the vendor (or staff on its behalf). Staff are told."""
    _, item = _lock_item(item)
    ITEM.check("accept", item, actor)
    item.vendor_status = V.ACCEPTED
    item.responded_at = timezone.now()
    clock = deadlines.clock_on_accept(item, now=item.responded_at)
    item.save(update_fields=["vendor_status", "responded_at", "updated_at", *clock])
    entry = audit(
        item,
        "accepted",
        actor,
        from_status=V.PENDING,
        to_status=V.ACCEPTED,
        vendor_id=item.vendor_id,
    )
    tell.notify_item_staff("item_accepted", item, entry)
    return item


@transaction.atomic
def item_decline(*, item: BookingItem, actor: Actor, reason: str) -> BookingItem:
    """pending -> declined with a reason, ready for another vendor. Staff are told."""
    _, item = _lock_item(item)
    ITEM.check("decline", item, actor)
    reason = check_reason(reason)
    if not reason:
        raise ValidationFailed("Give a reason for declining.", field="reason")
    item.vendor_status = V.DECLINED
    item.decline_reason = reason
    item.responded_at = timezone.now()
    item.save(
        update_fields=[
            "vendor_status",
            "decline_reason",
            "responded_at",
            "updated_at",
            *deadlines.clock_stop(item),
        ]
    )
    entry = audit(
        item,
        "declined",
        actor,
        from_status=V.PENDING,
        to_status=V.DECLINED,
        reason=reason,
        vendor_id=item.vendor_id,
    )
    tell.notify_item_staff("item_declined", item, entry)
    return item


@transaction.atomic
def item_confirm(*, item: BookingItem, actor: Actor, vendor_reference: str) -> BookingItem:
    """accepted -> confirmed with the vendor's own reference.

    Staff and the broker or customer are told; the booking confirms itself if this
    was the last unconfirmed item of an approved booking.
    """
    booking, item = _lock_item(item)
    ITEM.check("confirm", item, actor)
    vendor_reference = check_text(
        vendor_reference,
        field="vendor_reference",
        label="The reference",
        max_length=REFERENCE_LENGTH,
    ).strip()
    if not vendor_reference:
        raise ValidationFailed("Give your confirmation reference.", field="vendor_reference")
    item.vendor_status = V.CONFIRMED
    item.vendor_reference = vendor_reference
    item.responded_at = timezone.now()
    item.save(
        update_fields=[
            "vendor_status",
            "vendor_reference",
            "responded_at",
            "updated_at",
            *deadlines.clock_stop(item),
        ]
    )
    entry = audit(
        item,
        "confirmed",
        actor,
        from_status=V.ACCEPTED,
        to_status=V.CONFIRMED,
        vendor_reference=vendor_reference,
        vendor_id=item.vendor_id,
    )
    tell.notify_item_staff("item_vendor_confirmed", item, entry)
    tell.notify_item_customer("item_confirmed", item, entry)
    _confirm_if_ready(booking, actor)
    return item

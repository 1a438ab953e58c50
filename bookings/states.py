"""The booking and the booking item's vendor status, each written once as a table.

``bookings.services`` uses ``BOOKING.check`` / ``ITEM.check`` as its guard; the admin
shows a button, the portal a link, and the API lists an action only where
``can_<verb>`` says the move can succeed.

Booking (draft -> pending_approval -> approved -> confirmed -> completed, or cancelled):

======== ===================== ================= ===================================
verb     from                  to                who (staff permission)
======== ===================== ================= ===================================
submit   draft                 pending_approval  staff (change_booking), its broker
approve  pending_approval      approved          staff (approve_booking)
cancel   draft .. confirmed    cancelled         staff (change_booking); its broker
                                                 only until approved
complete confirmed             completed         staff (change_booking)
change   draft .. confirmed    (same)            staff (change_booking), its broker
add_item draft .. approved     (same)            staff (add_bookingitem); its broker
                                                 only in draft
======== ===================== ================= ===================================

Item vendor status (unassigned -> pending -> accepted -> confirmed; pending ->
declined -> pending with another vendor), while the item is live and its booking
open (draft to approved; confirmed for ``cancel``):

============= ============================== ========= ==============================
verb          from                           to        who (staff permission)
============= ============================== ========= ==============================
assign_vendor unassigned, declined, pending, pending   staff (change_bookingitem)
              accepted
accept        pending                        accepted  its vendor, staff on its behalf
decline       pending                        declined  its vendor, staff on its behalf
confirm       accepted                       confirmed its vendor, staff on its behalf
change        unassigned .. declined         (same)    staff (change_bookingitem); the
                                                       booking's broker in draft only
cancel        any live                       (live ->  staff (change_bookingitem)
                                             cancelled)
remove        unassigned, declined           (deleted) staff (delete_bookingitem), the
                                                       booking's broker; not approved
============= ============================== ========= ==============================

The system (sweeps, seeds, an accepted offer) may make every move.
"""

from __future__ import annotations

from typing import Any

from bookings.models import Booking, BookingItem
from core.domain import Actor, InvalidTransition
from partners.state_machine import BROKER, STAFF, SYSTEM, VENDOR, Machine, Move

S = Booking.Status
V = BookingItem.VendorStatus

OPEN = (S.DRAFT, S.PENDING_APPROVAL, S.APPROVED, S.CONFIRMED)
EDITABLE = (S.DRAFT, S.PENDING_APPROVAL, S.APPROVED)
ALL_ITEM = tuple(V.values)


def _describe_booking(booking: Booking, action: str) -> str:
    status = booking.get_status_display().lower()
    return f"Cannot {action}: booking {booking.reference} is {status}."


def _owns_booking(booking: Booking, actor: Actor) -> bool:
    return actor.broker is not None and booking.broker_id == actor.broker.pk


def _has_live_items(booking: Booking, action: str) -> str | None:
    if not booking.items.live().exists():
        return "Add at least one item before submitting the booking."
    return None


def _every_item_priced(booking: Booking, action: str) -> InvalidTransition | None:
    unpriced = [item for item in _live_items(booking) if not item.is_priced]
    if not unpriced:
        return None
    names = ", ".join(item.description for item in unpriced[:5])
    more = f" and {len(unpriced) - 5} more" if len(unpriced) > 5 else ""
    verb = "has" if len(unpriced) == 1 else "have"
    return InvalidTransition(
        f"Price every item before approving: {names}{more} {verb} no price. An item "
        "given for free needs a price of zero and a reason.",
        code="unpriced_items",
    )


def _live_items(booking: Booking) -> list[BookingItem]:
    cache = getattr(booking, "_prefetched_objects_cache", {})
    if "items" in cache:
        return sorted((i for i in cache["items"] if i.is_live), key=lambda i: (i.start, i.pk))
    return list(booking.items.live().order_by("start", "id"))


BOOKING = Machine(
    "booking",
    (
        Move(
            "submit",
            (S.DRAFT,),
            S.PENDING_APPROVAL,
            by={STAFF: None, BROKER: None, SYSTEM: None},
            perm="bookings.change_booking",
            action="submit for approval",
            access="submit this booking",
            conditions=(_has_live_items,),
        ),
        Move(
            "approve",
            (S.PENDING_APPROVAL,),
            S.APPROVED,
            by={STAFF: None, SYSTEM: None},
            perm="bookings.approve_booking",
            action="approve",
            access="approve bookings",
            conditions=(_every_item_priced,),
        ),
        Move(
            "cancel",
            OPEN,
            S.CANCELLED,
            by={STAFF: None, BROKER: (S.DRAFT, S.PENDING_APPROVAL), SYSTEM: None},
            perm="bookings.change_booking",
            action="cancel",
            access="cancel this booking",
            narrower={BROKER: "This booking is approved; ask us to cancel it."},
        ),
        Move(
            "complete",
            (S.CONFIRMED,),
            S.COMPLETED,
            by={STAFF: None, SYSTEM: None},
            perm="bookings.change_booking",
            action="complete",
            access="complete bookings",
        ),
        Move(
            "change",
            OPEN,
            None,
            by={STAFF: None, BROKER: None, SYSTEM: None},
            perm="bookings.change_booking",
            action="change the booking",
            access="change this booking",
        ),
        Move(
            "add_item",
            EDITABLE,
            None,
            by={STAFF: None, BROKER: (S.DRAFT,), SYSTEM: None},
            perm="bookings.add_bookingitem",
            action="add an item",
            access="add items to this booking",
        ),
    ),
    state=lambda booking: booking.status,
    describe=_describe_booking,
    owner=_owns_booking,
    not_yours={BROKER: "this booking is not yours."},
)


def _describe_item(item: BookingItem, action: str) -> str:
    return f"Cannot {action}: the item is {item.get_vendor_status_display().lower()}."


def _owns_item(item: BookingItem, actor: Actor) -> bool:
    if actor.vendor is not None:
        return item.vendor_id == actor.vendor.pk
    return actor.broker is not None and item.booking.broker_id == actor.broker.pk


def _booking_in(*statuses: str) -> Any:
    def guard(item: BookingItem, action: str) -> str | None:
        if item.booking.status not in statuses:
            return _describe_booking(item.booking, action)
        return None

    return guard


def _live(item: BookingItem, action: str) -> str | None:
    return None if item.is_live else f"Cannot {action}: the item is cancelled."


def _still_live(item: BookingItem, action: str) -> str | None:
    return None if item.is_live else "The item is already cancelled."


VENDOR_ANSWER = {VENDOR: None, STAFF: None, SYSTEM: None}

ITEM = Machine(
    "item",
    (
        Move(
            "assign_vendor",
            (V.UNASSIGNED, V.DECLINED, V.PENDING, V.ACCEPTED),
            V.PENDING,
            by={STAFF: None, SYSTEM: None},
            perm="bookings.change_bookingitem",
            action="assign a vendor",
            access="assign vendors",
            guards=(_booking_in(*EDITABLE), _live),
        ),
        Move(
            "accept",
            (V.PENDING,),
            V.ACCEPTED,
            by=VENDOR_ANSWER,
            perm="bookings.change_bookingitem",
            action="accept the item",
            access="accept this item",
            guards=(_booking_in(*EDITABLE), _live),
        ),
        Move(
            "decline",
            (V.PENDING,),
            V.DECLINED,
            by=VENDOR_ANSWER,
            perm="bookings.change_bookingitem",
            action="decline the item",
            access="decline this item",
            guards=(_booking_in(*EDITABLE), _live),
        ),
        Move(
            "confirm",
            (V.ACCEPTED,),
            V.CONFIRMED,
            by=VENDOR_ANSWER,
            perm="bookings.change_bookingitem",
            action="confirm the item",
            access="confirm this item",
            guards=(_booking_in(*EDITABLE), _live),
        ),
        Move(
            "change",
            (V.UNASSIGNED, V.PENDING, V.ACCEPTED, V.DECLINED),
            None,
            by={STAFF: None, BROKER: None, SYSTEM: None},
            perm="bookings.change_bookingitem",
            action="change the item",
            access="change this item",
            guards=(_booking_in(*EDITABLE), _live),
        ),
        Move(
            "cancel",
            ALL_ITEM,
            None,
            by={STAFF: None, SYSTEM: None},
            perm="bookings.change_bookingitem",
            action="cancel an item",
            access="cancel this item",
            refuse={BROKER: "Ask us to cancel a service."},
            guards=(_booking_in(*OPEN), _still_live),
        ),
        Move(
            "remove",
            (V.UNASSIGNED, V.DECLINED),
            None,
            by={STAFF: None, BROKER: None, SYSTEM: None},
            perm="bookings.delete_bookingitem",
            action="remove an item (cancel it instead)",
            access="remove this item",
            wrong_state="A vendor was told about this item: cancel it instead.",
            guards=(_booking_in(S.DRAFT, S.PENDING_APPROVAL),),
        ),
    ),
    state=lambda item: item.vendor_status,
    describe=_describe_item,
    owner=_owns_item,
    not_yours={BROKER: "this booking is not yours.", VENDOR: "this item is not assigned to you."},
)


def can_submit(booking: Booking, actor: Actor) -> bool:
    return BOOKING.can("submit", booking, actor)


def can_approve(booking: Booking, actor: Actor) -> bool:
    return BOOKING.can("approve", booking, actor)


def can_cancel(booking: Booking, actor: Actor) -> bool:
    return BOOKING.can("cancel", booking, actor)


def can_complete(booking: Booking, actor: Actor) -> bool:
    return BOOKING.can("complete", booking, actor)


def can_accept(item: BookingItem, actor: Actor) -> bool:
    return ITEM.can("accept", item, actor)


def can_decline(item: BookingItem, actor: Actor) -> bool:
    return ITEM.can("decline", item, actor)


def can_confirm(item: BookingItem, actor: Actor) -> bool:
    return ITEM.can("confirm", item, actor)


def can_assign_vendor(item: BookingItem, actor: Actor) -> bool:
    return ITEM.can("assign_vendor", item, actor)

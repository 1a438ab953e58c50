"""Reads of bookings and items, including every read made on a partner's behalf.

Portal and API code fetch partners' objects only through the ``*_for_broker`` and
``*_for_vendor`` functions here: an object that is not theirs is a 404, the same
answer as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404

from bookings.models import ZERO, Booking, BookingItem
from notifications.models import AuditEntry
from partners.domain import Actor
from partners.models import Broker, Vendor

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Totals:
    sell: Decimal
    cost: Decimal
    commission: Decimal

    @property
    def margin(self) -> Decimal:
        return self.sell - self.cost


def commission_for(sell: Decimal, rate: Decimal) -> Decimal:
    return (sell * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def booking_totals(*, booking: Booking) -> Totals:
    """Totals of the live items: from ``with_totals()`` annotations when present,
    else from prefetched items, else one aggregate query."""
    sell = getattr(booking, "total_sell", None)
    cost = getattr(booking, "total_cost", None)
    if sell is None or cost is None:
        cache = getattr(booking, "_prefetched_objects_cache", {})
        if "items" in cache:
            live = [i for i in cache["items"] if i.is_live]
            sell = sum((i.total_price for i in live), start=ZERO)
            cost = sum((i.total_cost for i in live), start=ZERO)
        else:
            annotated = Booking.objects.with_totals().get(pk=booking.pk)
            sell, cost = annotated.total_sell, annotated.total_cost
    return Totals(sell=sell, cost=cost, commission=commission_for(sell, booking.commission_rate))


def bookings_for_broker(*, broker: Broker) -> QuerySet[Booking]:
    return Booking.objects.filter(broker=broker)


def booking_get_for_broker(*, broker: Broker, reference: str) -> Booking:
    return get_object_or_404(bookings_for_broker(broker=broker), reference=reference)


def items_for_vendor(*, vendor: Vendor) -> QuerySet[BookingItem]:
    """Items currently with ``vendor`` (asked, accepted, confirmed, or declined by it).

    Not an item the vendor was only chosen for on a draft: it is not asked yet."""
    return (
        BookingItem.objects.filter(vendor=vendor)
        .exclude(vendor_status=BookingItem.VendorStatus.UNASSIGNED)
        .select_related("booking")
    )


def item_get_for_vendor(*, vendor: Vendor, pk: int | str) -> BookingItem:
    return get_object_or_404(items_for_vendor(vendor=vendor), pk=pk)


def items_for_broker(*, broker: Broker) -> QuerySet[BookingItem]:
    return BookingItem.objects.filter(booking__broker=broker).select_related("booking")


V = BookingItem.VendorStatus
ANSWER_ACTIONS = ("accepted", "declined", "confirmed")


def items_for_vendor_by_urgency(*, vendor: Vendor) -> QuerySet[BookingItem]:
    """The vendor's items, those awaiting its answer first, then to confirm, then the rest;
    cancelled items (or items of cancelled bookings) last. Soonest first within each."""
    withdrawn = Q(cancelled_at__isnull=False) | Q(booking__status=Booking.Status.CANCELLED)
    return (
        items_for_vendor(vendor=vendor)
        .annotate(
            urgency=Case(
                When(withdrawn, then=Value(9)),
                When(vendor_status=V.PENDING, then=Value(0)),
                When(vendor_status=V.ACCEPTED, then=Value(1)),
                When(vendor_status=V.CONFIRMED, then=Value(2)),
                default=Value(3),
                output_field=IntegerField(),
            )
        )
        .order_by("urgency", "start", "id")
    )


def vendor_answers(*, vendor: Vendor, item: BookingItem | None = None) -> QuerySet[AuditEntry]:
    """The vendor's answers (accept, decline, confirm), newest first, whoever recorded them
    (the vendor or staff on its behalf), including items since given to another vendor."""
    entries = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(BookingItem),
        action__in=ANSWER_ACTIONS,
        data__vendor_id=vendor.pk,
    )
    if item is not None:
        entries = entries.filter(object_id=item.pk)
    return entries.order_by("-created_at", "-id")


def items_answered_by_vendor(
    *, vendor: Vendor, entries: list[AuditEntry]
) -> dict[int, BookingItem]:
    """The items behind ``entries`` of ``vendor_answers``, by pk, with their bookings."""
    ids = {e.object_id for e in entries if e.data.get("vendor_id") == vendor.pk}
    return {i.pk: i for i in BookingItem.objects.filter(pk__in=ids).select_related("booking")}


# --- reads for the API: one entry point per caller, whoever it is -------------------
#
# The API asks "what may this actor see?" rather than branching on the caller in
# every view: a vendor sees the items assigned to it and no booking, a broker its own
# bookings and their items, staff everything. Anything outside that is a 404.


def bookings_visible(*, actor: Actor) -> QuerySet[Booking]:
    if actor.vendor is not None:
        return Booking.objects.none()
    if actor.broker is not None:
        return bookings_for_broker(broker=actor.broker)
    return Booking.objects.all()


def booking_get_visible(*, actor: Actor, reference: str) -> Booking:
    """One booking with its items prefetched (totals and nested items, no extra query)."""
    return get_object_or_404(
        bookings_visible(actor=actor).prefetch_related(
            Prefetch("items", queryset=BookingItem.objects.order_by("start", "id"))
        ),
        reference=reference,
    )


def booking_items(*, booking: Booking) -> QuerySet[BookingItem]:
    """The items of a booking already fetched through one of the selectors above."""
    return BookingItem.objects.filter(booking=booking).order_by("start", "id")


def items_visible(*, actor: Actor) -> QuerySet[BookingItem]:
    if actor.vendor is not None:
        return items_for_vendor(vendor=actor.vendor)
    if actor.broker is not None:
        return items_for_broker(broker=actor.broker)
    return BookingItem.objects.select_related("booking")


def item_get_visible(*, actor: Actor, pk: int | str) -> BookingItem:
    return get_object_or_404(items_visible(actor=actor), pk=pk)


def booking_items_rows(*, booking_ids: list[int], fields: tuple[str, ...]) -> dict[int, list[dict]]:
    """The items of ``booking_ids`` as plain rows (only ``fields``), grouped by booking,
    in one query: the list endpoint's fast path."""
    grouped: dict[int, list[dict]] = {pk: [] for pk in booking_ids}
    if not booking_ids:
        return grouped
    rows = (
        BookingItem.objects.filter(booking_id__in=booking_ids)
        .order_by("start", "id")
        .values("booking_id", *fields)
    )
    for row in rows:
        grouped[row["booking_id"]].append(row)
    return grouped

"""Portal pages for booking items (vendors) and bookings (brokers).

Every read goes through a ``*_for_vendor`` / ``*_for_broker`` selector, and what a
template receives is a view object holding only what that partner may see
(``VendorItem``, ``BrokerBooking``): a vendor's template has no sell price to show by
mistake, a broker's no cost or vendor. Every change calls the booking services with
the portal actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Page
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from bookings import extensions, selectors, services
from bookings.forms import (
    ITEMS_PREFIX,
    ActionForm,
    BookingRequestForm,
    CancelForm,
    ConfirmForm,
    DeclineForm,
    RequestItemForm,
    RequestItemFormSet,
    request_forms_with_another_item,
)
from bookings.models import Booking, BookingItem
from bookings.states import BOOKING, ITEM
from core.domain import Actor
from core.large_tables import InArray, LargeTablePaginator, bounded_count
from notifications.formatting import format_datetime, format_moment, format_money, format_when
from partners.models import Vendor
from partners.views import Portal, apply_service, portal_view, posted

S = Booking.Status
V = BookingItem.VendorStatus
PAGE_SIZE = 25
DASHBOARD_ITEMS = 10
# Aggregates (``with_totals``) group the query, and Django then drops Meta.ordering:
# say the order again, or pages and "latest" come back in whatever order the database likes.
NEWEST_FIRST = ("-created_at", "-id")


def _page(request: HttpRequest, items: Any) -> Page:
    # Counts stop at 10,000 rows and deep pages skip index entries, not rows: a partner
    # with years of history pages as fast as a new one.
    return LargeTablePaginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _portal(request: HttpRequest) -> Portal:
    return request.portal  # type: ignore[attr-defined,no-any-return]


# --- what a vendor sees ----------------------------------------------------------------

VENDOR_STATUS_LABELS = {
    V.PENDING: "Awaiting your answer",
    V.ACCEPTED: "Accepted, to confirm",
    V.CONFIRMED: "Confirmed",
    V.DECLINED: "Declined",
}
VENDOR_FILTERS = {
    "open": ("Open", lambda qs: qs.filter(vendor_status__in=[V.PENDING, V.ACCEPTED])),
    "confirmed": ("Confirmed", lambda qs: qs.filter(vendor_status=V.CONFIRMED)),
    "declined": ("Declined", lambda qs: qs.filter(vendor_status=V.DECLINED)),
    "all": ("All", lambda qs: qs),
}
ANSWERABLE_BOOKING = (S.DRAFT, S.PENDING_APPROVAL, S.APPROVED)


@dataclass(frozen=True)
class VendorItem:
    """What a vendor may see of an item: the service, the customer's needs, its own cost."""

    pk: int
    booking_reference: str
    booking_status: str
    booking_open: bool
    service: str
    description: str
    when: str
    start: datetime
    quantity: int
    lead_name: str
    unit_cost: str
    total_cost: str
    status: str
    status_label: str
    vendor_reference: str
    decline_reason: str
    withdrawn: bool
    actions: frozenset[str]
    # "Answer by" / "Confirm by", on the vendor's own clock; empty when nothing is due.
    deadline_label: str = ""
    deadline: str = ""
    overdue: bool = False

    @classmethod
    def of(cls, item: BookingItem, actor: Actor) -> VendorItem:
        """``actor`` is the vendor looking: its buttons are the table's moves for it."""
        booking = item.booking
        withdrawn = not item.is_live or booking.status == S.CANCELLED
        due = None if withdrawn else item.deadline
        label = "Answer by" if item.vendor_status == V.PENDING else "Confirm by"
        # The vendor looking reads its deadlines on its own clock.
        looking = actor.vendor
        vendor_zone = looking.timezone if looking is not None else item.timezone
        return cls(
            pk=item.pk,
            booking_reference=booking.reference,
            booking_status=booking.get_status_display(),
            # The services accept answers only while the booking is not yet confirmed.
            booking_open=booking.status in ANSWERABLE_BOOKING,
            service=item.get_service_type_display(),
            description=item.description,
            when=format_when(item.start, item.end, item.timezone),
            start=item.start,
            quantity=item.quantity,
            lead_name=booking.customer_name,
            unit_cost=format_money(item.unit_cost, booking.currency),
            total_cost=format_money(item.total_cost, booking.currency),
            status="withdrawn" if withdrawn else item.vendor_status,
            status_label="Cancelled" if withdrawn else VENDOR_STATUS_LABELS[item.vendor_status],
            vendor_reference=item.vendor_reference,
            decline_reason=item.decline_reason,
            withdrawn=withdrawn,
            actions=frozenset(ITEM.allowed(item, actor)),
            deadline_label=label if due else "",
            deadline=format_moment(due, vendor_zone) if due else "",
            overdue=bool(due) and item.is_overdue(),
        )

    @property
    def answerable(self) -> bool:
        return bool(self.actions & {"accept", "decline", "confirm"})

    @property
    def can_accept(self) -> bool:
        return "accept" in self.actions

    @property
    def can_decline(self) -> bool:
        return "decline" in self.actions

    @property
    def can_confirm(self) -> bool:
        return "confirm" in self.actions


@dataclass(frozen=True)
class VendorAnswer:
    at: str
    action: str
    reason: str
    vendor_reference: str
    by: str
    item: VendorItem | None
    item_is_yours: bool


ANSWER_LABELS = {"accepted": "Accepted", "declined": "Declined", "confirmed": "Confirmed"}


def _answers(vendor: Vendor, entries: list[Any], actor: Actor) -> list[VendorAnswer]:
    items = selectors.items_answered_by_vendor(vendor=vendor, entries=entries)
    answers = []
    for entry in entries:
        item = items.get(entry.object_id)
        answers.append(
            VendorAnswer(
                at=format_datetime(entry.created_at),
                action=ANSWER_LABELS.get(entry.action, entry.action),
                reason=entry.data.get("reason", ""),
                vendor_reference=entry.data.get("vendor_reference", ""),
                # Staff sometimes record an answer given by phone: say so, not who.
                by="us, on your behalf" if entry.data.get("via") == "admin" else "you",
                item=VendorItem.of(item, actor) if item is not None else None,
                item_is_yours=item is not None and item.vendor_id == vendor.pk,
            )
        )
    return answers


def vendor_dashboard(request: HttpRequest) -> HttpResponse:
    """A vendor's start page: what awaits their answer, what to confirm, what is coming."""
    vendor = _portal(request).vendor
    actor = _portal(request).actor
    assert vendor is not None  # noqa: S101 - portal_view let only vendors through
    live = (
        selectors.items_for_vendor(vendor=vendor)
        .filter(cancelled_at__isnull=True)
        .exclude(booking__status=S.CANCELLED)
    )
    # The soonest of each list and how many there are: a vendor with thousands of open
    # items pages through them on the items page, the start page stays small.
    pending_items = live.filter(vendor_status=V.PENDING).order_by("start", "id")
    accepted_items = live.filter(vendor_status=V.ACCEPTED).order_by("start", "id")
    pending = [VendorItem.of(i, actor) for i in pending_items[:DASHBOARD_ITEMS]]
    to_confirm = [VendorItem.of(i, actor) for i in accepted_items[:DASHBOARD_ITEMS]]
    # What is still to come, read from the (vendor, status, end) index first: walking
    # years of confirmed items by start to find the few not yet over reads them all.
    still_to_come = BookingItem.objects.filter(
        vendor=vendor, vendor_status=V.CONFIRMED, end__gte=timezone.now()
    ).values("pk")
    upcoming = [
        VendorItem.of(i, actor)
        for i in live.filter(InArray("pk", still_to_come)).order_by("start", "id")[:10]
    ]
    return render(
        request,
        "portal/vendor/dashboard.html",
        {
            "pending": pending,
            "pending_count": _shown_count(pending, pending_items),
            "to_confirm": to_confirm,
            "to_confirm_count": _shown_count(to_confirm, accepted_items),
            "upcoming": upcoming,
            "nav": "dashboard",
        },
    )


def _shown_count(shown: list[Any], queryset: Any) -> int:
    """How many rows ``queryset`` has, without a query when all of them are shown."""
    if len(shown) < DASHBOARD_ITEMS:
        return len(shown)
    return bounded_count(queryset)[0]


@portal_view("vendor")
def vendor_items(request: HttpRequest) -> HttpResponse:
    vendor = _portal(request).vendor
    actor = _portal(request).actor
    current = request.GET.get("show", "open")
    if current not in VENDOR_FILTERS:
        current = "open"
    label, apply = VENDOR_FILTERS[current]
    page = _page(request, apply(selectors.items_for_vendor_by_urgency(vendor=vendor)))
    return render(
        request,
        "portal/vendor/items.html",
        {
            "page": page,
            "items": [VendorItem.of(i, actor) for i in page],
            "filters": [(key, name) for key, (name, _) in VENDOR_FILTERS.items()],
            "current": current,
            "current_label": label,
            "nav": "items",
        },
    )


@portal_view("vendor")
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    portal = _portal(request)
    vendor = portal.vendor
    assert vendor is not None  # noqa: S101
    item = selectors.item_get_for_vendor(vendor=vendor, pk=pk)
    entries = list(selectors.vendor_answers(vendor=vendor, item=item)[:20])
    answers = _answers(vendor, entries, portal.actor)
    return render(
        request,
        "portal/vendor/item_detail.html",
        {"item": VendorItem.of(item, portal.actor), "answers": answers, "nav": "items"},
    )


@portal_view("vendor")
def item_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then accept: the vendor cannot take it back in the portal afterwards."""
    portal = _portal(request)
    item = selectors.item_get_for_vendor(vendor=portal.vendor, pk=pk)
    form = ActionForm(posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        if apply_service(form, lambda: services.item_accept(item=item, actor=portal.actor)):
            messages.success(
                request,
                f"You accepted {item.description} for {item.booking.reference}. "
                "Confirm it with your reference once it is booked on your side.",
            )
            return redirect("portal:item-detail", pk=item.pk)
        item.refresh_from_db()
        status = 409
    return render(
        request,
        "portal/vendor/item_accept.html",
        {"item": VendorItem.of(item, portal.actor), "form": form, "nav": "items"},
        status=status,
    )


@portal_view("vendor")
def item_decline(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for the reason and confirmation on a page of its own: declining is final."""
    portal = _portal(request)
    item = selectors.item_get_for_vendor(vendor=portal.vendor, pk=pk)
    form = DeclineForm(posted(request))
    if request.method == "POST" and form.is_valid():
        done = apply_service(
            form,
            lambda: services.item_decline(
                item=item, actor=portal.actor, reason=form.cleaned_data["reason"]
            ),
        )
        if done:
            messages.success(request, f"You declined {item.description}. Thank you for telling us.")
            return redirect("portal:item-detail", pk=item.pk)
        item.refresh_from_db()
    return render(
        request,
        "portal/vendor/item_decline.html",
        {"item": VendorItem.of(item, portal.actor), "form": form, "nav": "items"},
    )


@portal_view("vendor")
def item_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Take the vendor's own reference and confirm on a page of its own: it is final."""
    portal = _portal(request)
    item = selectors.item_get_for_vendor(vendor=portal.vendor, pk=pk)
    form = ConfirmForm(posted(request))
    if request.method == "POST" and form.is_valid():
        done = apply_service(
            form,
            lambda: services.item_confirm(
                item=item,
                actor=portal.actor,
                vendor_reference=form.cleaned_data["vendor_reference"],
            ),
        )
        if done:
            messages.success(
                request,
                f"Confirmed {item.description} with your reference {done.vendor_reference}.",
            )
            return redirect("portal:item-detail", pk=item.pk)
        item.refresh_from_db()
    return render(
        request,
        "portal/vendor/item_confirm.html",
        {"item": VendorItem.of(item, portal.actor), "form": form, "nav": "items"},
    )


@portal_view("vendor")
def vendor_history(request: HttpRequest) -> HttpResponse:
    """Every answer the vendor gave (or we recorded for it), newest first."""
    vendor = _portal(request).vendor
    assert vendor is not None  # noqa: S101
    page = _page(request, selectors.vendor_answers(vendor=vendor))
    return render(
        request,
        "portal/vendor/history.html",
        {
            "page": page,
            "answers": _answers(vendor, list(page), _portal(request).actor),
            "nav": "history",
        },
    )


# --- what a broker sees ----------------------------------------------------------------

BOOKING_FILTERS = {
    "all": ("All", ()),
    "open": ("In progress", (S.DRAFT, S.PENDING_APPROVAL, S.APPROVED)),
    "confirmed": ("Confirmed", (S.CONFIRMED, S.COMPLETED)),
    "cancelled": ("Cancelled", (S.CANCELLED,)),
}


@dataclass(frozen=True)
class BrokerItem:
    """What a broker may see of an item: the service and its price, never cost or vendor."""

    pk: int
    service: str
    description: str
    when: str
    quantity: int
    unit_price: str
    total_price: str
    commission: str
    priced: bool
    status: str
    status_label: str
    can_change: bool

    @classmethod
    def of(cls, item: BookingItem, booking: Booking, actor: Actor) -> BrokerItem:
        currency = booking.currency
        if not item.is_live:
            status, label = "cancelled", "Cancelled"
        elif item.vendor_status == V.CONFIRMED:
            status, label = "confirmed", "Confirmed"
        else:
            # Which supplier we ask, and whether one said no, is our business.
            status, label = "open", "Being arranged"
        return cls(
            pk=item.pk,
            service=item.get_service_type_display(),
            description=item.description,
            when=format_when(item.start, item.end, item.timezone),
            quantity=item.quantity,
            unit_price=format_money(item.unit_price, currency),
            total_price=format_money(item.total_price, currency),
            commission=format_money(
                selectors.commission_for(item.total_price, booking.commission_rate), currency
            ),
            # Requested items carry no price until we quote them.
            priced=item.unit_price > 0 or booking.status not in (S.DRAFT, S.PENDING_APPROVAL),
            status=status,
            status_label=label,
            # The table lets a broker change its items; the service only in a draft.
            can_change=booking.status == S.DRAFT and ITEM.can("change", item, actor),
        )


@dataclass(frozen=True)
class BrokerBooking:
    reference: str
    status: str
    status_label: str
    customer_name: str
    customer_email: str
    customer_phone: str
    notes: str
    created: str
    total: str
    commission: str
    commission_rate: Decimal
    cancel_reason: str
    priced: bool
    items: list[BrokerItem]
    actions: frozenset[str]

    @classmethod
    def of(cls, booking: Booking, actor: Actor, *, with_items: bool = False) -> BrokerBooking:
        """``actor`` is the broker looking: its buttons are the table's moves for it
        (a list page skips the checks that read the items, which it does not show)."""
        totals = selectors.booking_totals(booking=booking)
        items = list(booking.items.all()) if with_items else []
        return cls(
            reference=booking.reference,
            status=booking.status,
            status_label=booking.get_status_display(),
            customer_name=booking.customer_name,
            customer_email=booking.customer_email,
            customer_phone=booking.customer_phone,
            notes=booking.notes,
            created=format_datetime(booking.created_at),
            total=format_money(totals.sell, booking.currency),
            commission=format_money(totals.commission, booking.currency),
            commission_rate=booking.commission_rate,
            cancel_reason=booking.cancel_reason,
            # A request nobody has priced yet has no total: "EUR 0.00" would read as free.
            priced=totals.sell > 0 or booking.status not in (S.DRAFT, S.PENDING_APPROVAL),
            items=[BrokerItem.of(i, booking, actor) for i in items],
            actions=frozenset(BOOKING.allowed(booking, actor, contents=with_items)),
        )

    @property
    def can_submit(self) -> bool:
        return "submit" in self.actions

    @property
    def can_cancel(self) -> bool:
        return "cancel" in self.actions


def broker_bookings_recent(request: HttpRequest, *, limit: int = 5) -> list[BrokerBooking]:
    """The broker's latest bookings for the dashboard (totals in the same query)."""
    broker = _portal(request).broker
    assert broker is not None  # noqa: S101
    latest = selectors.bookings_for_broker(broker=broker).with_totals().order_by(*NEWEST_FIRST)
    latest = latest[:limit]
    return [BrokerBooking.of(b, _portal(request).actor) for b in latest]


@portal_view("broker")
def booking_list(request: HttpRequest) -> HttpResponse:
    broker = _portal(request).broker
    current = request.GET.get("show", "all")
    if current not in BOOKING_FILTERS:
        current = "all"
    bookings = selectors.bookings_for_broker(broker=broker).with_totals().order_by(*NEWEST_FIRST)
    statuses = BOOKING_FILTERS[current][1]
    if statuses:
        bookings = bookings.filter(status__in=statuses)
    page = _page(request, bookings)
    return render(
        request,
        "portal/broker/bookings.html",
        {
            "page": page,
            "bookings": [BrokerBooking.of(b, _portal(request).actor) for b in page],
            "filters": [(key, name) for key, (name, _) in BOOKING_FILTERS.items()],
            "current": current,
            "nav": "bookings",
        },
    )


def _broker_booking(request: HttpRequest, reference: str) -> Booking:
    """The broker's booking with its items, or a 404."""
    broker = _portal(request).broker
    assert broker is not None  # noqa: S101
    bookings = selectors.bookings_for_broker(broker=broker).prefetch_related("items")
    return get_object_or_404(bookings, reference=reference)


def _booking_view(request: HttpRequest, booking: Booking) -> BrokerBooking:
    return BrokerBooking.of(booking, _portal(request).actor, with_items=True)


@portal_view("broker")
def booking_detail(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _broker_booking(request, reference)
    sections = [
        {"template": section.portal_template, "data": section.data(booking, "broker")}
        for section in extensions.sections()
        if section.portal_template
    ]
    return render(
        request,
        "portal/broker/booking_detail.html",
        {"booking": _booking_view(request, booking), "sections": sections, "nav": "bookings"},
    )


@portal_view("broker")
def booking_request(request: HttpRequest) -> HttpResponse:
    """Ask us for a booking: saved as a draft, then submitted from its page."""
    portal = _portal(request)
    if request.method == "POST" and "add_item" in request.POST:
        form, formset = request_forms_with_another_item(request.POST)
    elif request.method == "POST":
        form = BookingRequestForm(request.POST)
        formset = RequestItemFormSet(request.POST, prefix=ITEMS_PREFIX)
        if form.is_valid() and formset.is_valid():
            rows = [f for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
            items = [_requested_item(f) for f in rows]
            booking = apply_service(
                form,
                lambda: services.booking_create(
                    actor=portal.actor, items=items, **form.cleaned_data
                ),
                rows=rows,
            )
            if booking is not None:
                messages.success(
                    request,
                    f"Request {booking.reference} is saved as a draft. "
                    "Check it, then submit it for approval.",
                )
                return redirect("portal:booking-detail", reference=booking.reference)
    else:
        form = BookingRequestForm()
        formset = RequestItemFormSet(prefix=ITEMS_PREFIX)
    return render(
        request,
        "portal/broker/booking_request.html",
        {"form": form, "formset": formset, "nav": "request"},
    )


@portal_view("broker")
def booking_item_change(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    """Change a service of a draft request, its times read where it happens."""
    portal = _portal(request)
    booking = _broker_booking(request, reference)
    item = get_object_or_404(booking.items.all(), pk=pk)
    form = RequestItemForm(posted(request), instance=item)
    if request.method == "POST" and form.is_valid():
        changed = apply_service(
            form,
            lambda: services.item_update(item=item, actor=portal.actor, **_requested_item(form)),
        )
        if changed is not None:
            messages.success(request, f"{changed.description} is changed.")
            return redirect("portal:booking-detail", reference=booking.reference)
    return render(
        request,
        "portal/broker/booking_item_change.html",
        {
            "booking": _booking_view(request, booking),
            "item": BrokerItem.of(item, booking, portal.actor),
            "form": form,
            "nav": "bookings",
        },
    )


def _requested_item(form: Any) -> dict[str, Any]:
    """A row's service as typed. A price posted with it (the form shows none) goes to the
    service too, which refuses it: a broker's request is never quietly re-priced."""
    item = {k: v for k, v in form.cleaned_data.items() if k != "DELETE"}
    for name in services.PRICE_FIELDS:
        raw = form.data.get(form.add_prefix(name))
        if raw not in (None, ""):
            item[name] = raw
    return item


@portal_view("broker")
def booking_submit(request: HttpRequest, reference: str) -> HttpResponse:
    """Confirm, then send the draft to us for approval: it can no longer be changed."""
    portal = _portal(request)
    booking = _broker_booking(request, reference)
    form = ActionForm(posted(request))
    if request.method == "POST" and form.is_valid():
        done = apply_service(
            form, lambda: services.booking_submit(booking=booking, actor=portal.actor)
        )
        if done:
            messages.success(
                request, f"{booking.reference} is submitted. We will tell you when it is approved."
            )
            return redirect("portal:booking-detail", reference=booking.reference)
    return render(
        request,
        "portal/broker/booking_submit.html",
        {"booking": _booking_view(request, booking), "form": form, "nav": "bookings"},
    )


@portal_view("broker")
def booking_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    """Withdraw a request that is not approved yet, with a reason."""
    portal = _portal(request)
    booking = _broker_booking(request, reference)
    form = CancelForm(posted(request))
    if request.method == "POST" and form.is_valid():
        done = apply_service(
            form,
            lambda: services.booking_cancel(
                booking=booking, actor=portal.actor, reason=form.cleaned_data["reason"]
            ),
        )
        if done:
            messages.success(request, f"{booking.reference} is cancelled.")
            return redirect("portal:booking-detail", reference=booking.reference)
    return render(
        request,
        "portal/broker/booking_cancel.html",
        {"booking": _booking_view(request, booking), "form": form, "nav": "bookings"},
    )

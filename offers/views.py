"""Portal pages for a broker's offers, and the portal's start page.

Offers are read only through ``offers_for_broker`` (never drafts, never another
broker's) and shown through ``BrokerOffer``, which holds the lines' prices but not
their costs or proposed vendors.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.db.models import (
    Case,
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from bookings import views as booking_views
from bookings.models import MONEY, ZERO
from bookings.selectors import commission_for
from core.domain import Actor
from core.large_tables import LargeTablePaginator
from notifications.formatting import format_datetime, format_money, format_when
from offers import selectors, services
from offers.forms import OfferAcceptForm, OfferDeclineForm
from offers.models import Offer, OfferLine
from offers.states import OFFER
from partners.models import Broker
from partners.views import Portal, apply_service, portal_view, posted

S = Offer.Status
PAGE_SIZE = 25
OFFER_FILTERS = {
    "open": ("Awaiting your answer", (S.SENT,)),
    "accepted": ("Accepted", (S.ACCEPTED,)),
    "closed": ("Declined or expired", (S.DECLINED, S.EXPIRED, S.WITHDRAWN)),
    "all": ("All", ()),
}


def _portal(request: HttpRequest) -> Portal:
    return request.portal  # type: ignore[attr-defined,no-any-return]


@dataclass(frozen=True)
class BrokerOfferLine:
    service: str
    description: str
    when: str
    quantity: int
    unit_price: str
    total_price: str

    @classmethod
    def of(cls, line: OfferLine, currency: str) -> BrokerOfferLine:
        return cls(
            service=line.get_service_type_display(),
            description=line.description,
            when=format_when(line.start, line.end, line.timezone),
            quantity=line.quantity,
            unit_price=format_money(line.unit_price, currency),
            total_price=format_money(line.total_price, currency),
        )


@dataclass(frozen=True)
class BrokerOffer:
    """What a broker may see of an offer: lines and prices, never costs or vendors."""

    reference: str
    status: str
    status_label: str
    customer_name: str
    notes: str
    valid_until: str
    sent: str
    answerable: bool
    lapsed: bool
    total: str
    commission: str
    commission_rate: Decimal
    decline_reason: str
    booking_reference: str
    lines: list[BrokerOfferLine]
    actions: frozenset[str]

    @classmethod
    def of(cls, offer: Offer, broker: Broker, *, total: Decimal | None = None) -> BrokerOffer:
        lines = list(offer.lines.all()) if total is None else []
        if total is None:
            total = sum((line.total_price for line in lines), start=ZERO)
        lapsed = offer.status == S.SENT and offer.valid_until <= timezone.now()
        actions = frozenset(OFFER.allowed(offer, Actor(broker=broker, via="portal")))
        return cls(
            reference=offer.reference,
            status="expired" if lapsed else offer.status,
            status_label="Expired" if lapsed else offer.get_status_display(),
            customer_name=offer.customer_name,
            notes=offer.notes,
            valid_until=format_datetime(offer.valid_until),
            sent=format_datetime(offer.sent_at) if offer.sent_at else "",
            answerable=bool(actions & {"accept", "decline"}),
            lapsed=lapsed,
            total=format_money(total, offer.currency),
            commission=format_money(commission_for(total, broker.commission_rate), offer.currency),
            commission_rate=broker.commission_rate,
            decline_reason=offer.decline_reason,
            booking_reference=offer.booking.reference if offer.booking_id else "",
            lines=[BrokerOfferLine.of(line, offer.currency) for line in lines],
            actions=actions,
        )

    @property
    def can_accept(self) -> bool:
        return "accept" in self.actions

    @property
    def can_decline(self) -> bool:
        return "decline" in self.actions


def _with_totals(offers: QuerySet[Offer]) -> QuerySet[Offer]:
    # A correlated subquery, summed for the rows shown only (a join with GROUP BY would
    # sum every offer of the broker before the page is taken).
    money = DecimalField(**MONEY)
    lines = (
        OfferLine.objects.filter(offer=OuterRef("pk"))
        .order_by()
        .values("offer")
        .annotate(total=Sum(F("quantity") * F("unit_price"), output_field=money))
        .values("total")
    )
    return offers.annotate(
        total_price=Coalesce(Subquery(lines, output_field=money), Value(ZERO), output_field=money)
    ).select_related("booking")


@portal_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    """The portal's start page: a vendor's items, or a broker's offers and bookings."""
    portal = _portal(request)
    if portal.broker is None:
        return booking_views.vendor_dashboard(request)
    broker = portal.broker
    open_offers = _with_totals(
        selectors.offers_for_broker(broker=broker).filter(
            status=S.SENT, valid_until__gt=timezone.now()
        )
    ).order_by("valid_until")
    return render(
        request,
        "portal/broker/dashboard.html",
        {
            "offers": [BrokerOffer.of(o, broker, total=o.total_price) for o in open_offers],
            "bookings": booking_views.broker_bookings_recent(request),
            "nav": "dashboard",
        },
    )


@portal_view("broker")
def offer_list(request: HttpRequest) -> HttpResponse:
    broker = _portal(request).broker
    assert broker is not None  # noqa: S101 - portal_view let only brokers through
    current = request.GET.get("show", "open")
    if current not in OFFER_FILTERS:
        current = "open"
    offers = selectors.offers_for_broker(broker=broker)
    statuses = OFFER_FILTERS[current][1]
    if statuses:
        offers = offers.filter(status__in=statuses)
    # Offers still open come first, the soonest to lapse at the top.
    offers = _with_totals(offers).annotate(
        open_first=Case(When(status=S.SENT, then=Value(0)), default=1, output_field=IntegerField())
    )
    page = LargeTablePaginator(
        offers.order_by("open_first", "-created_at", "-id"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/broker/offers.html",
        {
            "page": page,
            "offers": [BrokerOffer.of(o, broker, total=o.total_price) for o in page],
            "filters": [(key, name) for key, (name, _) in OFFER_FILTERS.items()],
            "current": current,
            "nav": "offers",
        },
    )


def _broker_offer(request: HttpRequest, reference: str) -> tuple[Offer, BrokerOffer]:
    broker = _portal(request).broker
    assert broker is not None  # noqa: S101
    offers = selectors.offers_for_broker(broker=broker).select_related("booking")
    offer = get_object_or_404(offers.prefetch_related("lines"), reference=reference)
    return offer, BrokerOffer.of(offer, broker)


@portal_view("broker")
def offer_detail(request: HttpRequest, reference: str) -> HttpResponse:
    _, view = _broker_offer(request, reference)
    return render(request, "portal/broker/offer_detail.html", {"offer": view, "nav": "offers"})


@portal_view("broker")
def offer_accept(request: HttpRequest, reference: str) -> HttpResponse:
    """Confirm, then accept: the offer becomes a booking awaiting our approval."""
    portal = _portal(request)
    offer, view = _broker_offer(request, reference)
    form = OfferAcceptForm(posted(request), offer=offer)
    if request.method == "POST" and form.is_valid():
        accepted = apply_service(
            form,
            lambda: services.offer_accept(offer=offer, actor=portal.actor, **form.cleaned_data),
        )
        if accepted is not None:
            booking = accepted.booking
            messages.success(
                request,
                f"You accepted offer {offer.reference}. It is now booking {booking.reference}, "
                "awaiting our approval.",
            )
            return redirect("portal:booking-detail", reference=booking.reference)
    return render(
        request,
        "portal/broker/offer_accept.html",
        {"offer": view, "form": form, "nav": "offers"},
    )


@portal_view("broker")
def offer_decline(request: HttpRequest, reference: str) -> HttpResponse:
    """Decline with an optional reason, on a page of its own: it is final."""
    portal = _portal(request)
    offer, view = _broker_offer(request, reference)
    form = OfferDeclineForm(posted(request))
    if request.method == "POST" and form.is_valid():
        declined = apply_service(
            form,
            lambda: services.offer_decline(
                offer=offer, actor=portal.actor, reason=form.cleaned_data["reason"]
            ),
        )
        if declined is not None:
            messages.success(request, f"You declined offer {offer.reference}.")
            return redirect("portal:offer-detail", reference=offer.reference)
    return render(
        request,
        "portal/broker/offer_decline.html",
        {"offer": view, "form": form, "nav": "offers"},
    )

"""Reads of money, including every read made on a partner's behalf.

A broker sees its own bookings' payments and invoices and its own commission; another
broker's is a 404, the same answer as one that does not exist. Vendors see none.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from billing.models import CommissionEntry, Invoice, Payment
from core.domain import Actor
from partners.models import Broker

ZERO = Decimal("0.00")


def payments_visible(*, actor: Actor) -> QuerySet[Payment]:
    qs = Payment.objects.select_related("booking")
    if actor.vendor is not None:
        return qs.none()
    if actor.broker is not None:
        return qs.filter(booking__broker=actor.broker)
    return qs


def invoices_visible(*, actor: Actor) -> QuerySet[Invoice]:
    qs = Invoice.objects.select_related("booking", "refers_to").prefetch_related("lines")
    if actor.vendor is not None:
        return qs.none()
    if actor.broker is not None:
        return qs.filter(booking__broker=actor.broker)
    return qs


def invoice_get_visible(*, actor: Actor, number: str) -> Invoice:
    return get_object_or_404(invoices_visible(actor=actor), number=number)


def invoices_for_broker(*, broker: Broker) -> QuerySet[Invoice]:
    return Invoice.objects.filter(booking__broker=broker).select_related("booking", "refers_to")


def invoice_get_for_broker(*, broker: Broker, number: str) -> Invoice:
    return get_object_or_404(invoices_for_broker(broker=broker), number=number)


def parse_month(value: str | None) -> date | None:
    """``2027-05`` -> 1 May 2027; None if it is not a month."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        return None


def month_bounds(month: date) -> tuple[datetime, datetime]:
    last = calendar.monthrange(month.year, month.month)[1]
    start = timezone.make_aware(datetime.combine(month, time.min))
    end = timezone.make_aware(datetime.combine(month.replace(day=last), time.max))
    return start, end


@dataclass
class Statement:
    """One broker's commission in one currency over one month."""

    broker: Broker
    month: date
    currency: str
    opening_balance: Decimal
    entries: list[CommissionEntry] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((entry.amount for entry in self.entries), start=ZERO)

    @property
    def closing_balance(self) -> Decimal:
        return self.opening_balance + self.total

    def as_dict(self) -> dict[str, object]:
        return {
            "broker": self.broker.pk,
            "broker_name": self.broker.name,
            "month": self.month.strftime("%Y-%m"),
            "currency": self.currency,
            "opening_balance": str(self.opening_balance),
            "entries": [
                {
                    "date": timezone.localtime(entry.booked_at).date().isoformat(),
                    "booking": entry.booking.reference,
                    "document": entry.invoice.number,
                    "description": entry.description,
                    "base": str(entry.base),
                    "rate": str(entry.rate),
                    "amount": str(entry.amount),
                }
                for entry in self.entries
            ],
            "total": str(self.total),
            "closing_balance": str(self.closing_balance),
        }


def commission_statements(*, broker: Broker, month: date) -> list[Statement]:
    """The month's statements of ``broker``, one per currency it has entries in (ever)."""
    start, end = month_bounds(month)
    entries = CommissionEntry.objects.filter(broker=broker)
    opening = {
        row["currency"]: (row["total"] or ZERO).quantize(ZERO)
        for row in entries.filter(booked_at__lt=start)
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by()
    }
    in_month = list(
        entries.filter(booked_at__gte=start, booked_at__lte=end)
        .select_related("booking", "invoice")
        .order_by("booked_at", "id")
    )
    currencies = sorted(set(opening) | {entry.currency for entry in in_month})
    return [
        Statement(
            broker=broker,
            month=month,
            currency=currency,
            opening_balance=opening.get(currency) or ZERO,
            entries=[entry for entry in in_month if entry.currency == currency],
        )
        for currency in currencies
    ]


def brokers_visible(*, actor: Actor) -> QuerySet[Broker]:
    if actor.vendor is not None:
        return Broker.objects.none()
    if actor.broker is not None:
        return Broker.objects.filter(pk=actor.broker.pk)
    return Broker.objects.all()

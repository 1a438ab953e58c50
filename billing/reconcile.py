"""Check every booking's books; list each difference, never fix it.

For each booking that has an invoice, a payment or a schedule:

- invoices minus credit notes equal the live sell total (what is sold now);
- the payments' total is what the booking shows as paid, and the instalments marked
  paid are exactly those the payments cover in due order;
- payments are in the booking's currency, and not more than what was invoiced;
- a broker's commission entries add up to the commission on its invoiced lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, Sum

from billing.models import CommissionEntry, Instalment, InvoiceLine, Payment
from billing.services import live_total
from bookings.models import Booking

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Difference:
    booking: str
    check: str
    expected: Decimal | str
    actual: Decimal | str

    def __str__(self) -> str:
        return f"{self.booking}: {self.check}: expected {self.expected}, found {self.actual}"


@dataclass
class Report:
    checked: int = 0
    differences: list[Difference] = field(default_factory=list)


def _sum(queryset, column: str = "amount") -> Decimal:  # type: ignore[no-untyped-def]
    # SQLite sums decimals without their scale: 114 for 114.00.
    return (queryset.aggregate(total=Sum(column))["total"] or ZERO).quantize(ZERO)


def reconcile_booking(booking: Booking) -> list[Difference]:
    found = []
    ref = booking.reference
    live = live_total(booking)
    invoiced = _sum(booking.invoices.all(), "total")
    if booking.invoices.exists() and invoiced != live:
        found.append(
            Difference(
                ref, "invoices minus credit notes against the live sell total", live, invoiced
            )
        )
    payments = booking.payments.all()
    paid = _sum(payments)
    left = paid
    for instalment in booking.instalments.order_by("due_date", "id"):
        covered = left >= instalment.amount
        left -= min(max(left, ZERO), instalment.amount)
        if covered != (instalment.paid_at is not None):
            found.append(
                Difference(
                    ref,
                    f"instalment {instalment.pk} ({instalment.get_kind_display()}) "
                    "paid state against payments",
                    "paid" if covered else "unpaid",
                    "paid" if instalment.paid_at else "unpaid",
                )
            )
    other = payments.exclude(currency=booking.currency).count()
    if other:
        found.append(Difference(ref, "payments in another currency", 0, other))
    if booking.invoices.exists() and paid > invoiced:
        found.append(
            Difference(ref, "payments not more than invoiced (refund due)", invoiced, paid)
        )
    if booking.broker_id is not None:
        owed = _sum(InvoiceLine.objects.filter(invoice__booking=booking), "commission")
        booked = _sum(CommissionEntry.objects.filter(booking=booking))
        if owed != booked:
            found.append(Difference(ref, "commission entries against invoiced lines", owed, booked))
    return found


def reconcile(*, bookings=None) -> Report:  # type: ignore[no-untyped-def]
    """Check ``bookings`` (default: every booking with money on it)."""
    if bookings is None:
        with_money = (
            Q(pk__in=Payment.objects.values("booking_id"))
            | Q(pk__in=Instalment.objects.values("booking_id"))
            | Q(invoices__isnull=False)
        )
        bookings = Booking.objects.filter(with_money).distinct().order_by("pk")
    report = Report()
    for booking in bookings.iterator(chunk_size=500):
        report.checked += 1
        report.differences += reconcile_booking(booking)
    return report

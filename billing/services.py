"""Every change to a booking's money goes through one of these functions.

Each locks the booking row first (the order the booking services use, so a billing
call and a booking change never deadlock), checks the rule, writes, audits and records
who must be told. ``on_booking_changed`` is the booking services' listener (see
``bookings.extensions``): it runs inside their transaction.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing.models import (
    CommissionEntry,
    Instalment,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Payment,
)
from billing.terms import balance_for, schedule_for, terms_for
from bookings.models import Booking, BookingItem
from core.audit import audit
from core.domain import (
    Actor,
    DomainError,
    InvalidTransition,
    NotPermitted,
    ValidationFailed,
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
S = Booking.Status
SCHEDULED_STATUSES = (S.APPROVED, S.CONFIRMED, S.COMPLETED)
INVOICEABLE_STATUSES = (S.APPROVED, S.CONFIRMED, S.COMPLETED)
INVOICE_SERIES = ""
CREDIT_NOTE_SERIES = "CN"


class NothingToInvoice(DomainError):
    code = "nothing_to_invoice"


class DocumentIssued(DomainError):
    code = "document_issued"


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _lock_booking(booking: Booking | int) -> Booking:
    pk = booking if isinstance(booking, int) else booking.pk
    return Booking.objects.select_for_update(of=("self",)).select_related("broker").get(pk=pk)


def _require_staff(actor: Actor, perm: str, action: str) -> None:
    if actor.is_partner:
        raise NotPermitted(f"Only staff can {action}.")
    actor.require_perm(perm, action)


def _live_items(booking: Booking) -> list[BookingItem]:
    return list(booking.items.live().order_by("start", "id"))


def live_total(booking: Booking) -> Decimal:
    if booking.status == S.CANCELLED:
        return ZERO
    return sum((item.total_price for item in _live_items(booking)), start=ZERO)


def paid_total(booking: Booking) -> Decimal:
    return money(booking.payments.aggregate(total=Sum("amount"))["total"] or ZERO)


# --- the schedule -------------------------------------------------------------------


def _first_service(booking: Booking, items: list[BookingItem]) -> date:
    starts = [timezone.localdate(item.start) for item in items]
    return min(starts) if starts else timezone.localdate()


def _schedule_rebuild(booking: Booking) -> list[Instalment]:
    """Make the unpaid instalments say what is still owed; paid ones stay as they were.

    Nothing paid yet: the whole schedule again from the approval date. Something
    paid: one balance for the rest. A cancelled booking owes nothing more. Unpaid
    instalments that already say the right thing are kept (their reminders too).
    Paid instalments stay, except when what is sold falls below what they add up
    to: then the latest are cut down to it (what was paid beyond is owed back, and
    shows as a negative balance until refunded).
    """
    today = timezone.localdate()
    items = _live_items(booking)
    total = live_total(booking)
    instalments = list(booking.instalments.order_by("due_date", "id"))
    paid = [i for i in instalments if i.paid_at is not None]
    unpaid = [i for i in instalments if i.paid_at is None]
    kept: list[Instalment] = []
    settled = ZERO
    for instalment in paid:
        room = total - settled
        if room <= ZERO:
            instalment.delete()
            continue
        if instalment.amount > room:
            instalment.amount = room
            instalment.save(update_fields=["amount"])
        settled += instalment.amount
        kept.append(instalment)
    paid = kept
    terms = terms_for(booking.broker)
    if booking.status not in SCHEDULED_STATUSES:
        wanted = []
    elif not paid:
        approved_on = timezone.localdate(booking.approved_at) if booking.approved_at else today
        wanted = schedule_for(
            total=total,
            terms=terms,
            approved_on=approved_on,
            first_service=_first_service(booking, items),
        )
    else:
        wanted = balance_for(
            remaining=total - settled,
            terms=terms,
            today=today,
            first_service=_first_service(booking, items),
        )
    have = [(i.kind, i.amount, i.due_date) for i in unpaid]
    if have != [(d.kind, d.amount, d.due_date) for d in wanted]:
        Instalment.objects.filter(pk__in=[i.pk for i in unpaid]).delete()
        for due in wanted:
            Instalment.objects.create(
                booking=booking,
                kind=due.kind,
                amount=due.amount,
                currency=booking.currency,
                due_date=due.due_date,
            )
    _settle(booking)
    return list(booking.instalments.order_by("due_date", "id"))


def _settle(booking: Booking) -> None:
    """Payments settle instalments in due order: mark what they cover paid, and only that."""
    now = timezone.now()
    left = paid_total(booking)
    for instalment in booking.instalments.order_by("due_date", "id"):
        covered = left >= instalment.amount
        left -= min(left, instalment.amount) if left > ZERO else ZERO
        if covered and instalment.paid_at is None:
            instalment.paid_at = now
            instalment.save(update_fields=["paid_at"])
        elif not covered and instalment.paid_at is not None:
            instalment.paid_at = None
            instalment.save(update_fields=["paid_at"])


@dataclass(frozen=True)
class ScheduleRow:
    instalment: Instalment
    state: str
    paid: Decimal
    outstanding: Decimal


@dataclass(frozen=True)
class Money:
    """A booking's money at a glance; ``balance`` below zero is owed back to the customer."""

    currency: str
    total: Decimal
    paid: Decimal
    due: Decimal
    overdue: Decimal
    balance: Decimal
    invoiced: Decimal
    schedule: list[ScheduleRow]

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "total": str(self.total),
            "paid": str(self.paid),
            "due": str(self.due),
            "overdue": str(self.overdue),
            "balance": str(self.balance),
            "invoiced": str(self.invoiced),
            "schedule": [
                {
                    "id": row.instalment.pk,
                    "kind": row.instalment.kind,
                    "amount": str(row.instalment.amount),
                    "due_date": row.instalment.due_date.isoformat(),
                    "state": row.state,
                    "paid": str(row.paid),
                    "outstanding": str(row.outstanding),
                }
                for row in self.schedule
            ],
        }


def booking_money(*, booking: Booking, today: date | None = None) -> Money:
    """Total, paid, due (still owed by the schedule), overdue (owed past a due date)."""
    today = today or timezone.localdate()
    total = live_total(booking)
    paid = paid_total(booking)
    left = paid
    rows = []
    due = overdue = ZERO
    for instalment in booking.instalments.order_by("due_date", "id"):
        covered = min(max(left, ZERO), instalment.amount)
        left -= covered
        outstanding = instalment.amount - covered
        state = instalment.state_on(today)
        rows.append(ScheduleRow(instalment, state, covered, outstanding))
        due += outstanding
        if instalment.due_date < today:
            overdue += outstanding
    invoiced = money(booking.invoices.aggregate(total=Sum("total"))["total"] or ZERO)
    return Money(
        currency=booking.currency,
        total=total,
        paid=paid,
        due=due,
        overdue=overdue,
        balance=total - paid,
        invoiced=invoiced,
        schedule=rows,
    )


# --- payments -----------------------------------------------------------------------


def _parse_amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("Give the amount as a number.", field="amount") from exc
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise ValidationFailed("Give the amount with at most two decimals.", field="amount")
    if abs(amount) >= Decimal("1e10"):
        raise ValidationFailed("The amount is too large.", field="amount")
    return amount


def _payment_create(
    *,
    booking: Booking,
    actor: Actor,
    amount: Decimal,
    currency: str,
    method: str,
    reference: str = "",
    received_at: datetime | None = None,
    reason: str = "",
    instalment: Instalment | None = None,
    provider: str = "",
    provider_payment_id: str = "",
) -> Payment:
    amount = _parse_amount(amount)
    if amount == ZERO:
        raise ValidationFailed("The amount cannot be zero.", field="amount")
    if currency != booking.currency:
        raise ValidationFailed(
            f"This booking is in {booking.currency}; record the payment in {booking.currency}.",
            field="currency",
        )
    if method not in Payment.Method.values:
        raise ValidationFailed(f"Unknown payment method {method!r}.", field="method")
    reason = (reason or "").strip()
    if amount < ZERO:
        if not reason:
            raise ValidationFailed("Give a reason for the refund.", field="reason")
        if -amount > paid_total(booking):
            raise ValidationFailed("A refund cannot be more than what was paid.", field="amount")
    received_at = received_at or timezone.now()
    if received_at > timezone.now() + timedelta(minutes=5):
        raise ValidationFailed("The payment cannot be received in the future.", field="received_at")
    payment = Payment.objects.create(
        booking=booking,
        amount=amount,
        currency=currency,
        method=method,
        reference=(reference or "").strip()[:100],
        reason=reason,
        received_at=received_at,
        instalment=instalment,
        provider=provider,
        provider_payment_id=provider_payment_id,
        recorded_by=actor.audit_user,
        recorded_via=actor.via,
    )
    audit(
        booking,
        "refund_recorded" if amount < ZERO else "payment_recorded",
        actor,
        payment=payment.pk,
        amount=str(amount),
        currency=currency,
        method=method,
        reference=payment.reference,
        reason=reason,
    )
    _settle(booking)
    return payment


@transaction.atomic
def payment_record(
    *,
    booking: Booking,
    actor: Actor,
    amount: Any,
    currency: str,
    method: str,
    reference: str = "",
    received_at: datetime | None = None,
    reason: str = "",
) -> Payment:
    """Record money received (or, negative, paid back with a reason); staff only.

    The payment must be in the booking's currency; a refund cannot exceed what was paid.
    Instalments it covers become paid.
    """
    booking = _lock_booking(booking)
    _require_staff(actor, "billing.add_payment", "record payments")
    return _payment_create(
        booking=booking,
        actor=actor,
        amount=amount,
        currency=currency,
        method=method,
        reference=reference,
        received_at=received_at,
        reason=reason,
    )


@transaction.atomic
def payment_record_from_provider(
    *,
    instalment_id: int,
    provider: str,
    provider_payment_id: str,
    amount: Decimal,
    currency: str,
    received_at: datetime,
) -> Payment | None:
    """A provider says an instalment was paid: record it once (None if already recorded)."""
    instalment = Instalment.objects.select_related("booking").filter(pk=instalment_id).first()
    if instalment is None:
        return None
    booking = _lock_booking(instalment.booking_id)
    if Payment.objects.filter(provider=provider, provider_payment_id=provider_payment_id).exists():
        return None
    actor = Actor(via="webhook", label=f"payment provider {provider}")
    return _payment_create(
        booking=booking,
        actor=actor,
        amount=amount,
        currency=currency,
        method=Payment.Method.CARD,
        reference=provider_payment_id,
        received_at=received_at,
        instalment=instalment,
        provider=provider,
        provider_payment_id=provider_payment_id,
    )


# --- invoices and credit notes ---------------------------------------------------------


def tax_rate_for(service_type: str) -> Decimal:
    rates = getattr(settings, "BILLING_TAX_RATES", {}) or {}
    rate = rates.get(service_type, settings.BILLING_TAX_RATE)
    return Decimal(str(rate)).quantize(CENT)


def split_gross(gross: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """(net, tax) of a tax-inclusive amount; the tax rounded half up, net the rest."""
    tax = money(gross * rate / (100 + rate))
    return gross - tax, tax


def commission_on(gross: Decimal, rate: Decimal) -> Decimal:
    return money(gross * rate / 100)


def _draw_number(series: str, year: int) -> int:
    """The next number of ``series`` in ``year``, gapless.

    The counter row is locked until the issuing transaction ends: a rolled-back issue
    gives its number back, and two issues never get the same one.
    """
    InvoiceCounter.objects.bulk_create(
        [InvoiceCounter(series=series, year=year)], ignore_conflicts=True
    )
    counter = InvoiceCounter.objects.select_for_update().get(series=series, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def format_number(series: str, year: int, sequence: int) -> str:
    return f"{series + '-' if series else ''}{year}-{sequence:06d}"


def _recipient(booking: Booking) -> tuple[str, str]:
    if booking.broker is not None:
        return booking.broker.name, booking.broker.email
    return booking.customer_name, booking.customer_email


def _new_document(
    *,
    booking: Booking,
    actor: Actor,
    kind: str,
    lines: list[dict[str, Any]],
    refers_to: Invoice | None = None,
    reason: str = "",
) -> Invoice:
    series = CREDIT_NOTE_SERIES if kind == Invoice.Kind.CREDIT_NOTE else INVOICE_SERIES
    issued_at = timezone.now()
    year = timezone.localdate(issued_at).year
    sequence = _draw_number(series, year)
    name, email = _recipient(booking)
    net = sum((line["net"] for line in lines), start=ZERO)
    tax = sum((line["tax"] for line in lines), start=ZERO)
    invoice = Invoice.objects.create(
        number=format_number(series, year, sequence),
        kind=kind,
        series=series,
        year=year,
        sequence=sequence,
        booking=booking,
        refers_to=refers_to,
        reason=reason[:300],
        issued_at=issued_at,
        issued_by=actor.audit_user,
        currency=booking.currency,
        broker=booking.broker,
        commission_rate=booking.commission_rate,
        recipient_name=name,
        recipient_email=email,
        customer_name=booking.customer_name,
        net=net,
        tax=tax,
        total=net + tax,
    )
    created = InvoiceLine.objects.bulk_create(
        [InvoiceLine(invoice=invoice, position=n, **line) for n, line in enumerate(lines, 1)]
    )
    if booking.broker is not None:
        _commission_entries(invoice, created)
    entry = audit(
        booking,
        "credit_note_issued" if kind == Invoice.Kind.CREDIT_NOTE else "invoice_issued",
        actor,
        number=invoice.number,
        total=str(invoice.total),
        refers_to=refers_to.number if refers_to else "",
        reason=reason,
    )
    transaction.on_commit(functools.partial(_enqueue_send, invoice.pk, entry.pk))
    return invoice


def _commission_entries(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    """One entry per invoiced line; one per credit note (its lines' commission taken back)."""
    assert invoice.broker_id is not None  # noqa: S101
    common = {
        "broker_id": invoice.broker_id,
        "booking_id": invoice.booking_id,
        "invoice": invoice,
        "booked_at": invoice.issued_at,
        "currency": invoice.currency,
        "rate": invoice.commission_rate,
    }
    if invoice.kind == Invoice.Kind.INVOICE:
        CommissionEntry.objects.bulk_create(
            [
                CommissionEntry(
                    line=line,
                    description=f"{invoice.number} {line.description}"[:300],
                    base=line.gross,
                    amount=line.commission,
                    **common,
                )
                for line in lines
            ]
        )
        return
    CommissionEntry.objects.create(
        description=f"{invoice.number} (credit note for {invoice.refers_to.number})"[:300],  # type: ignore[union-attr]
        base=sum((line.gross for line in lines), start=ZERO),
        amount=sum((line.commission for line in lines), start=ZERO),
        **common,
    )


def _enqueue_send(invoice_id: int, entry_id: int) -> None:
    from django_q.tasks import async_task

    async_task(
        "billing.tasks.invoice_send",
        invoice_id,
        entry_id,
        task_name=f"invoice-{invoice_id}",
        group="billing",
        save=False,
    )


def _invoiced_lines(booking: Booking) -> dict[int, list[InvoiceLine]]:
    """Invoice lines not yet taken back by a credit note, by item."""
    open_lines = InvoiceLine.objects.filter(
        invoice__booking=booking,
        invoice__kind=Invoice.Kind.INVOICE,
        reversed_by__isnull=True,
    ).select_related("invoice")
    by_item: dict[int, list[InvoiceLine]] = defaultdict(list)
    for line in open_lines.order_by("invoice__issued_at", "position"):
        by_item[line.item_id].append(line)
    return by_item


def _line_for(item: BookingItem, booking: Booking) -> dict[str, Any]:
    gross = item.total_price
    rate = tax_rate_for(item.service_type)
    net, tax = split_gross(gross, rate)
    return {
        "item": item,
        "service_type": item.service_type,
        "description": item.description,
        "quantity": item.quantity,
        "unit_price": item.unit_price,
        "tax_rate": rate,
        "net": net,
        "tax": tax,
        "gross": gross,
        "commission": commission_on(gross, booking.commission_rate) if booking.broker_id else ZERO,
    }


def _uninvoiced_lines(booking: Booking) -> list[dict[str, Any]]:
    invoiced = _invoiced_lines(booking)
    return [
        _line_for(item, booking)
        for item in _live_items(booking)
        if item.total_price > ZERO and item.pk not in invoiced
    ]


def has_uninvoiced(booking: Booking) -> bool:
    """Whether an invoice can be issued now (the admin shows its button only then)."""
    return booking.status in INVOICEABLE_STATUSES and bool(_uninvoiced_lines(booking))


@transaction.atomic
def invoice_issue(*, booking: Booking, actor: Actor) -> Invoice:
    """Invoice everything sold and not yet invoiced (live items with a price).

    The number is drawn from the year's counter in the same transaction. The invoice
    is emailed with its PDF to the broker or the customer after the commit.
    """
    booking = _lock_booking(booking)
    _require_staff(actor, "billing.add_invoice", "issue invoices")
    if booking.status not in INVOICEABLE_STATUSES:
        status = booking.get_status_display().lower()
        raise InvalidTransition(
            f"Cannot invoice booking {booking.reference}: it is {status}; invoice once approved."
        )
    lines = _uninvoiced_lines(booking)
    if not lines:
        raise NothingToInvoice(
            f"Everything sold on booking {booking.reference} is already invoiced."
        )
    return _new_document(booking=booking, actor=actor, kind=Invoice.Kind.INVOICE, lines=lines)


def _credit(
    booking: Booking, actor: Actor, lines: Iterable[InvoiceLine], reason: str
) -> list[Invoice]:
    """One credit note per invoice, taking back ``lines`` in full."""
    by_invoice: dict[int, list[InvoiceLine]] = defaultdict(list)
    for line in lines:
        by_invoice[line.invoice_id].append(line)
    notes = []
    for originals in by_invoice.values():
        reversal = [
            {
                "item_id": line.item_id,
                "service_type": line.service_type,
                "description": line.description,
                "quantity": -line.quantity,
                "unit_price": line.unit_price,
                "tax_rate": line.tax_rate,
                "net": -line.net,
                "tax": -line.tax,
                "gross": -line.gross,
                "commission": -line.commission,
                "reverses": line,
            }
            for line in originals
        ]
        notes.append(
            _new_document(
                booking=booking,
                actor=actor,
                kind=Invoice.Kind.CREDIT_NOTE,
                lines=reversal,
                refers_to=originals[0].invoice,
                reason=reason,
            )
        )
    return notes


def _credit_what_changed(booking: Booking, actor: Actor) -> list[Invoice]:
    """Take back invoiced lines that no longer say what is sold.

    A cancelled booking or item: the whole line. A new price or quantity: the whole
    line too; the item at its new price is then invoiced again by the next invoice.
    """
    invoiced = _invoiced_lines(booking)
    if not invoiced:
        return []
    live = {item.pk: item for item in _live_items(booking)} if booking.status != S.CANCELLED else {}
    stale: list[InvoiceLine] = []
    reasons = set()
    for item_id, lines in invoiced.items():
        item = live.get(item_id)
        if item is None:
            stale += lines
            reasons.add("booking cancelled" if booking.status == S.CANCELLED else "item cancelled")
        elif sum((line.gross for line in lines), start=ZERO) != item.total_price:
            stale += lines
            reasons.add("price changed")
    if not stale:
        return []
    return _credit(booking, actor, stale, ", ".join(sorted(reasons)).capitalize())


@transaction.atomic
def schedule_refresh(*, booking: Booking) -> list[Instalment]:
    """Bring a booking's schedule in line with what it sells (a booking approved before
    billing existed gets one); changes nothing when it already is."""
    return _schedule_rebuild(_lock_booking(booking))


def on_booking_changed(*, booking: Booking, actor: Actor, change: str) -> None:
    """The booking services' listener: credit what changed after invoicing, re-plan what is owed."""
    _credit_what_changed(booking, actor)
    if change == "approved" or booking.instalments.exists() or booking.status in SCHEDULED_STATUSES:
        _schedule_rebuild(booking)


def invoice_refuse_change(*, invoice: Invoice) -> None:
    """Every door's answer to an edit of an issued document."""
    raise DocumentIssued(
        f"{invoice.get_kind_display()} {invoice.number} is issued and cannot change; "
        "a cancellation or a new price issues a credit note."
    )

"""What billing tells the broker or customer: documents with their PDF, and reminders."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing import documents, services
from billing.models import Instalment, Invoice, PaymentLink
from bookings.notify import customer_recipients, site_link
from core.models import AuditEntry
from notifications.formatting import format_money
from notifications.services import Attachment, Recipient, notify


def _recipients(invoice: Invoice) -> list[Recipient]:
    booking = invoice.booking
    if booking.broker is not None:
        return [
            Recipient(
                name=booking.broker.name,
                email=booking.broker.email,
                link=site_link("portal:invoices"),
            )
        ]
    return customer_recipients(booking)


def invoice_send(*, invoice_id: int, entry_id: int | None = None) -> int:
    """Render (once) and email an issued document with its PDF; safe to run twice."""
    invoice = Invoice.objects.select_related("booking__broker", "refers_to").get(pk=invoice_id)
    cause = AuditEntry.objects.filter(pk=entry_id).first() if entry_id else None
    kind = "credit_note_issued" if invoice.is_credit_note else "invoice_issued"
    # The stored PDF and the message commit together: a stored PDF means it was sent.
    with transaction.atomic():
        pdf = documents.invoice_pdf(invoice=invoice)
        rows = notify(
            kind=kind,
            recipients=_recipients(invoice),
            context={
                "number": invoice.number,
                "reference": invoice.booking.reference,
                "customer_name": invoice.customer_name,
                "total": format_money(invoice.total, invoice.currency),
                "tax": format_money(invoice.tax, invoice.currency),
                "refers_to": invoice.refers_to.number if invoice.refers_to else "",
                "reason": invoice.reason,
            },
            target=invoice,
            cause=cause,
            reference=invoice.booking.reference,
            dedupe=f"invoice{invoice.pk}",
            attachments=[Attachment(documents.invoice_filename(invoice), pdf, "application/pdf")],
        )
    return len(rows)


def _remind(instalment: Instalment, kind: str, outstanding: str) -> int:
    booking = instalment.booking
    rows = notify(
        kind=kind,
        recipients=customer_recipients(booking),
        context={
            "reference": booking.reference,
            "customer_name": booking.customer_name,
            "instalment": instalment.get_kind_display().lower(),
            "amount": outstanding,
            "due_date": instalment.due_date.strftime("%a %d %b %Y"),
        },
        target=booking,
        reference=booking.reference,
        # One reminder of each kind per instalment, however often the sweep runs.
        dedupe=f"instalment{instalment.pk}:{kind}",
    )
    return len(rows)


def reminders_sweep(*, today: date | None = None) -> dict[str, int]:
    """Remind of instalments due soon and of those overdue, each once.

    ``BILLING_REMINDER_DAYS_BEFORE`` days before the due date, and
    ``BILLING_REMINDER_DAYS_AFTER`` days after it if still unpaid. The instalment's
    ``reminded_*_at`` is set by a conditional update, so two sweeps at once send one.
    """
    today = today or timezone.localdate()
    before = timedelta(days=settings.BILLING_REMINDER_DAYS_BEFORE)
    after = timedelta(days=settings.BILLING_REMINDER_DAYS_AFTER)
    counts = {"payment_reminder": 0, "payment_overdue": 0}
    unpaid = Instalment.objects.filter(
        paid_at__isnull=True, booking__status__in=services.SCHEDULED_STATUSES
    ).select_related("booking__broker")
    plans = [
        ("payment_reminder", "reminded_before_at",
         unpaid.filter(reminded_before_at__isnull=True, due_date__lte=today + before,
                       due_date__gte=today)),
        ("payment_overdue", "reminded_after_at",
         unpaid.filter(reminded_after_at__isnull=True, due_date__lte=today - after)),
    ]  # fmt: skip
    for kind, field, candidates in plans:
        for instalment in candidates.order_by("due_date", "pk")[:1000]:
            with transaction.atomic():
                claimed = Instalment.objects.filter(
                    pk=instalment.pk, paid_at__isnull=True, **{f"{field}__isnull": True}
                ).update(**{field: timezone.now()})
                if not claimed:
                    continue
                money = services.booking_money(booking=instalment.booking, today=today)
                row = next(r for r in money.schedule if r.instalment.pk == instalment.pk)
                if row.outstanding <= 0:
                    continue
                outstanding = format_money(row.outstanding, instalment.currency)
                counts[kind] += _remind(instalment, kind, outstanding)
    return counts


def unsent_documents_sweep() -> int:
    """Documents whose send task was lost (no PDF stored yet): send them now."""
    sent = 0
    for invoice_id in Invoice.objects.filter(document__isnull=True).values_list("pk", flat=True)[
        :100
    ]:
        sent += invoice_send(invoice_id=invoice_id)
    return sent


def payment_link_message(link: PaymentLink) -> int:
    """The link (or the transfer's instructions) to whoever pays; once per link."""
    booking = link.booking
    recipients = [r for r in customer_recipients(booking) if r.email]
    if not recipients:
        return 0
    rows = notify(
        kind="payment_link",
        recipients=recipients,
        context={
            "reference": booking.reference,
            "customer_name": booking.customer_name,
            "instalment": link.instalment.get_kind_display().lower(),
            "amount": format_money(link.amount, link.currency),
            "url": link.url,
            "instructions": link.instructions,
        },
        target=booking,
        reference=booking.reference,
        dedupe=f"paymentlink{link.pk}",
    )
    return len(rows)

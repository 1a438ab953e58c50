"""Money owed, paid and invoiced for a booking, and what brokers earn on it.

Issued invoices and credit notes (and their lines) are never updated or deleted: a
database trigger refuses it (see migration 0002), so no door and no later code can
change a document a customer or an accountant already holds.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from bookings.models import MONEY, ZERO, Booking, BookingItem
from core.domain import CURRENCY_CHOICES
from partners.models import Broker, ServiceType


class Instalment(models.Model):
    """One part of a booking's payment schedule: an amount due by a date.

    Paid when the booking's payments cover it and every earlier instalment (payments
    settle instalments in due order); overdue when unpaid past its due date.
    """

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        BALANCE = "balance", "Balance"
        FULL = "full", "Full payment"

    class State(models.TextChoices):
        DUE = "due", "Due"
        PAID = "paid", "Paid"
        OVERDUE = "overdue", "Overdue"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="instalments")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    due_date = models.DateField(db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    reminded_before_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_after_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["booking", "due_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="instalment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency} due {self.due_date}"

    def state_on(self, today: object) -> str:
        if self.paid_at is not None:
            return self.State.PAID
        return self.State.OVERDUE if self.due_date < today else self.State.DUE  # type: ignore[operator]

    @property
    def state(self) -> str:
        return self.state_on(timezone.localdate())


class Payment(models.Model):
    """Money received for a booking (positive) or paid back to the customer (negative)."""

    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CARD = "card", "Card"
        CASH = "cash", "Cash"
        OTHER = "other", "Other"

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(**MONEY, help_text="Negative for a refund.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    method = models.CharField(max_length=20, choices=Method.choices)
    reference = models.CharField(
        max_length=100, blank=True, help_text="The bank's or the provider's reference."
    )
    reason = models.TextField(blank=True, help_text="Why the money was paid back (refunds).")
    received_at = models.DateTimeField(default=timezone.now)
    instalment = models.ForeignKey(
        Instalment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    provider = models.CharField(max_length=30, blank=True)
    provider_payment_id = models.CharField(max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_via = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="payment_amount_not_zero"),
            # A provider's payment is recorded once, however often its webhook comes.
            models.UniqueConstraint(
                fields=["provider", "provider_payment_id"],
                condition=~Q(provider_payment_id=""),
                name="payment_provider_id_unique",
            ),
        ]

    def __str__(self) -> str:
        kind = "Refund" if self.amount < 0 else "Payment"
        return f"{kind} {self.amount} {self.currency} for {self.booking}"

    @property
    def is_refund(self) -> bool:
        return self.amount < ZERO


class PaymentLink(models.Model):
    """A page of a payment provider where the customer pays one instalment."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        EXPIRED = "expired", "Expired"

    instalment = models.ForeignKey(Instalment, on_delete=models.CASCADE, related_name="links")
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="payment_links")
    provider = models.CharField(max_length=30)
    provider_session_id = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    instructions = models.TextField(blank=True)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_session_id"],
                condition=~Q(provider_session_id=""),
                name="payment_link_session_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} link for {self.instalment}"


class ProviderEvent(models.Model):
    """A provider's webhook event, kept by id so a replay is recognised and ignored."""

    provider = models.CharField(max_length=30)
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100)
    created = models.DateTimeField(null=True, blank=True, help_text="When the provider made it.")
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="provider_event_unique")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"


class InvoiceCounter(models.Model):
    """The last number given in one series and year; locked while a number is drawn."""

    series = models.CharField(max_length=10, blank=True)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="invoice_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.series or 'invoices'} {self.year}: {self.last}"


class Invoice(models.Model):
    """An issued invoice or credit note. Never changed once written (see the module)."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    number = models.CharField(max_length=30, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    series = models.CharField(max_length=10, blank=True)
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="invoices")
    refers_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
        help_text="The invoice a credit note corrects.",
    )
    reason = models.CharField(max_length=300, blank=True)
    issued_at = models.DateTimeField(default=timezone.now, db_index=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    broker = models.ForeignKey(
        Broker, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    commission_rate = models.DecimalField(max_digits=5, decimal_places=2, default=ZERO)
    recipient_name = models.CharField(max_length=200)
    recipient_email = models.EmailField(blank=True)
    customer_name = models.CharField(max_length=200)
    net = models.DecimalField(**MONEY)
    tax = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "year", "sequence"], name="invoice_sequence_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice", refers_to__isnull=True)
                | Q(kind="credit_note", refers_to__isnull=False),
                name="invoice_credit_note_refers",
            ),
            models.CheckConstraint(
                condition=Q(total=models.F("net") + models.F("tax")), name="invoice_total_adds_up"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE


class InvoiceLine(models.Model):
    """One sold item on an invoice, or the reversal of one on a credit note (negative).

    Prices include tax: ``gross`` is what the customer pays, ``tax`` is taken out of it
    at ``tax_rate`` and ``net`` is the rest, so net + tax = gross exactly.
    """

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField()
    item = models.ForeignKey(BookingItem, on_delete=models.PROTECT, related_name="invoice_lines")
    service_type = models.CharField(max_length=20, choices=ServiceType.choices)
    description = models.CharField(max_length=300)
    quantity = models.IntegerField()
    unit_price = models.DecimalField(**MONEY)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2)
    net = models.DecimalField(**MONEY)
    tax = models.DecimalField(**MONEY)
    gross = models.DecimalField(**MONEY)
    commission = models.DecimalField(**MONEY, default=ZERO)
    reverses = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
        help_text="On a credit note: the invoice line it takes back.",
    )

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position"),
            models.CheckConstraint(
                condition=Q(gross=models.F("net") + models.F("tax")), name="invoice_line_adds_up"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description} × {self.quantity}"


class InvoiceDocument(models.Model):
    """The invoice's PDF as issued, rendered once and kept (the document of record)."""

    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="document")
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"PDF of {self.invoice}"


class CommissionEntry(models.Model):
    """What a broker earns (positive) or gives back (negative), one row per invoiced line
    and one per credit note."""

    broker = models.ForeignKey(Broker, on_delete=models.PROTECT, related_name="commission_entries")
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="commission_entries"
    )
    line = models.OneToOneField(
        InvoiceLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    booked_at = models.DateTimeField(db_index=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    description = models.CharField(max_length=300)
    base = models.DecimalField(**MONEY, help_text="The gross amount the commission is on.")
    rate = models.DecimalField(max_digits=5, decimal_places=2)
    amount = models.DecimalField(**MONEY)

    class Meta:
        verbose_name_plural = "commission entries"
        ordering = ["broker", "booked_at", "id"]

    def __str__(self) -> str:
        return f"{self.broker}: {self.amount} {self.currency} ({self.description})"


def amount_or_zero(value: Decimal | None) -> Decimal:
    return value if value is not None else ZERO

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import DecimalField, F, Field, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from core.domain import CURRENCIES, CURRENCY_CHOICES
from core.phones import E164_VALIDATOR
from partners.models import Broker, ServiceType, Vendor
from partners.timezones import TIMEZONE_LENGTH, default_service_timezone, validate_timezone

# Crockford's base32 without the look-alikes: a reference read over the phone survives.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


def new_reference(prefix: str) -> str:
    return prefix + "-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def live_items_figure(value: Any, output: Field, default: Any, **conditions: Any) -> Coalesce:
    """One figure of a booking's live (not cancelled) items, as a correlated subquery.

    Not a join with GROUP BY: that sums every booking of the list before LIMIT takes a
    page (seconds at a million bookings), drops Meta.ordering, and multiplies each sum
    when a filter or search joins the items again. A subquery is computed only for the
    rows the query returns, from the items' booking index."""
    rows = (
        BookingItem.objects.filter(booking=OuterRef("pk"), cancelled_at__isnull=True, **conditions)
        .order_by()
        .values("booking")
        .annotate(value=value)
        .values("value")
    )
    return Coalesce(Subquery(rows, output_field=output), Value(default), output_field=output)


def _live_items_sum(column: str) -> Coalesce:
    money = DecimalField(**MONEY)
    return live_items_figure(Sum(F("quantity") * F(column), output_field=money), money, ZERO)


class BookingQuerySet(models.QuerySet["Booking"]):
    def with_totals(self) -> BookingQuerySet:
        """Annotate sell and cost totals of live (not cancelled) items (see above)."""
        return self.annotate(
            total_sell=_live_items_sum("unit_price"), total_cost=_live_items_sum("unit_cost")
        )


class Booking(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        APPROVED = "approved", "Approved"
        CONFIRMED = "confirmed", "Confirmed"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    class Source(models.TextChoices):
        ADMIN = "admin", "Admin"
        PORTAL = "portal", "Portal"
        API = "api", "API"
        OFFER = "offer", "Offer"
        SYSTEM = "system", "System"

    reference = models.CharField(max_length=20, unique=True, editable=False)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True, editable=False
    )
    broker = models.ForeignKey(
        Broker, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings"
    )
    commission_rate = models.DecimalField(
        "commission rate (%)",
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        editable=False,
        help_text="The broker's rate when the booking was made.",
    )
    customer_name = models.CharField("lead customer", max_length=200)
    customer_email = models.EmailField(blank=True)
    customer_phone = models.CharField(max_length=16, blank=True, validators=[E164_VALIDATOR])
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="EUR")
    notes = models.TextField(blank=True)
    source = models.CharField(
        max_length=10, choices=Source.choices, default=Source.ADMIN, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    approved_at = models.DateTimeField(null=True, blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancel_reason = models.TextField(blank=True, editable=False)

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("approve_booking", "Can approve bookings")]
        # One per ordering and filter the lists offer over a million rows (the plans
        # are in docs/scale.md); the trigram search indexes are PostgreSQL's own.
        indexes = [
            models.Index(fields=["created_at", "id"], name="booking_created_id"),
            models.Index(fields=["broker", "created_at", "id"], name="booking_broker_created"),
            models.Index(fields=["status", "created_at", "id"], name="booking_status_created"),
            models.Index(fields=["currency"], name="booking_currency"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(currency__in=CURRENCIES), name="booking_currency_iso4217"
            ),
            models.CheckConstraint(
                condition=Q(commission_rate__gte=0) & Q(commission_rate__lte=100),
                name="booking_commission_rate_range",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse("admin:bookings_booking_change", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status not in (self.Status.COMPLETED, self.Status.CANCELLED)


# The ``timezone`` field of items shadows the module inside their class bodies.
_now = timezone.now


def overdue_q(now: datetime) -> Q:
    """Live items whose vendor has let its deadline pass: no answer by ``respond_by``,
    or accepted and not confirmed by ``confirm_by``."""
    return Q(cancelled_at__isnull=True) & (
        Q(vendor_status="pending", respond_by__lt=now)
        | Q(vendor_status="accepted", confirm_by__lt=now)
    )


# Vendor statuses the staff workspace counts by (``workspace.attention``), each behind a
# partial index below whose condition is written with the same tuple, so PostgreSQL can
# prove that a count's filter implies the index's and read the index alone.
NEEDING_VENDOR = ("unassigned", "declined")
NOT_CONFIRMED = ("unassigned", "pending", "accepted", "declined")


class BookingItemQuerySet(models.QuerySet["BookingItem"]):
    def live(self) -> BookingItemQuerySet:
        return self.filter(cancelled_at__isnull=True)

    def overdue(self, now: datetime | None = None) -> BookingItemQuerySet:
        return self.filter(overdue_q(now or timezone.now()))


class BookingItem(models.Model):
    class VendorStatus(models.TextChoices):
        UNASSIGNED = "unassigned", "Unassigned"
        PENDING = "pending", "Pending vendor"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        CONFIRMED = "confirmed", "Confirmed"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="items")
    service_type = models.CharField(max_length=20, choices=ServiceType.choices)
    description = models.CharField(max_length=300)
    start = models.DateTimeField()
    end = models.DateTimeField()
    timezone = models.CharField(
        max_length=TIMEZONE_LENGTH,
        default=default_service_timezone,
        validators=[validate_timezone],
        help_text="Where the service happens (IANA name): start and end are shown and "
        "entered in its local time.",
    )
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    unit_cost = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    zero_price_reason = models.CharField(
        max_length=200,
        blank=True,
        help_text="Why the item is sold at a zero price (complimentary, included...). An "
        "item at zero needs one before the booking can be approved.",
    )
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="items"
    )
    vendor_status = models.CharField(
        max_length=12,
        choices=VendorStatus.choices,
        default=VendorStatus.UNASSIGNED,
        db_index=True,
        editable=False,
    )
    vendor_reference = models.CharField(max_length=100, blank=True, editable=False)
    decline_reason = models.TextField(blank=True, editable=False)
    assigned_at = models.DateTimeField(null=True, blank=True, editable=False)
    responded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Each time a vendor is asked (again) is a new request: its reminders are its own.
    request_seq = models.PositiveIntegerField(default=0, editable=False)
    respond_by = models.DateTimeField(
        null=True, blank=True, editable=False, db_index=True, help_text="The vendor answers by."
    )
    confirm_by = models.DateTimeField(
        null=True, blank=True, editable=False, db_index=True, help_text="The vendor confirms by."
    )
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=_now, editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = BookingItemQuerySet.as_manager()

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["start", "id"], name="item_start_id"),
            models.Index(fields=["vendor", "start", "id"], name="item_vendor_start"),
            models.Index(fields=["vendor_status", "start", "id"], name="item_status_start"),
            # The vendor's portal: each list of its items by status, soonest first, and
            # what is still to come (end in the future) of its confirmed ones.
            models.Index(
                fields=["vendor", "vendor_status", "start", "id"], name="item_vendor_status_start"
            ),
            models.Index(fields=["vendor", "vendor_status", "end"], name="item_vendor_status_end"),
            # The workspace's counts (``workspace.attention``): items of each open
            # booking still needing a vendor, probed per booking; and the live services
            # not yet confirmed, by start (those within 72 hours). Both hold only the
            # open part of the table, however much history it has.
            models.Index(
                fields=["booking"],
                name="ws_item_needs_vendor",
                condition=Q(cancelled_at__isnull=True, vendor_status__in=NEEDING_VENDOR),
            ),
            models.Index(
                fields=["start"],
                name="ws_item_start_open",
                condition=Q(cancelled_at__isnull=True, vendor_status__in=NOT_CONFIRMED),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=F("start")),
                name="item_end_not_before_start",
                violation_error_message="The end is before the start.",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(quantity__lte=10_000),
                name="item_quantity_range",
                violation_error_message="The quantity must be between 1 and 10000.",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="item_unit_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0), name="item_unit_cost_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(vendor__isnull=False) | Q(vendor_status__in=["unassigned", "declined"]),
                name="item_vendor_status_needs_vendor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_service_type_display()}: {self.description}"

    @property
    def is_live(self) -> bool:
        return self.cancelled_at is None

    def is_overdue(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        if not self.is_live:
            return False
        if self.vendor_status == self.VendorStatus.PENDING:
            return self.respond_by is not None and self.respond_by < now
        if self.vendor_status == self.VendorStatus.ACCEPTED:
            return self.confirm_by is not None and self.confirm_by < now
        return False

    @property
    def overdue(self) -> bool:
        return self.is_overdue()

    @property
    def deadline(self) -> datetime | None:
        """The deadline running now: to answer (pending) or to confirm (accepted)."""
        if self.vendor_status == self.VendorStatus.PENDING:
            return self.respond_by
        if self.vendor_status == self.VendorStatus.ACCEPTED:
            return self.confirm_by
        return None

    @property
    def total_price(self) -> Decimal:
        return self.quantity * self.unit_price

    @property
    def is_priced(self) -> bool:
        """Sold at a price, or at zero for a stated reason (see ``booking_approve``)."""
        return self.unit_price > 0 or bool(self.zero_price_reason.strip())

    @property
    def total_cost(self) -> Decimal:
        return self.quantity * self.unit_cost


class VendorReminder(models.Model):
    """One reminder (or, at 100 %, the alert to staff) for one request to a vendor.

    The unique constraint is what makes the sweep send each one once: a second sweep,
    or a second worker running the same sweep, fails to insert the row and sends nothing.
    """

    class Stage(models.TextChoices):
        ANSWER = "answer", "Answer"
        CONFIRM = "confirm", "Confirmation"

    item = models.ForeignKey(BookingItem, on_delete=models.CASCADE, related_name="reminders")
    request_seq = models.PositiveIntegerField()
    stage = models.CharField(max_length=10, choices=Stage.choices)
    threshold = models.PositiveSmallIntegerField(help_text="Percent of the window; 100: overdue.")
    deadline = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["item", "request_seq", "stage", "threshold"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "request_seq", "stage", "threshold"],
                name="vendor_reminder_once_per_threshold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} #{self.request_seq} {self.stage} {self.threshold}%"

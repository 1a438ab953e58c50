from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from bookings.models import MONEY, Booking
from core.domain import CURRENCIES, CURRENCY_CHOICES
from core.phones import E164_VALIDATOR
from partners.models import Broker, ServiceType, Vendor
from partners.timezones import TIMEZONE_LENGTH, default_service_timezone, validate_timezone


class Offer(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"
        WITHDRAWN = "withdrawn", "Withdrawn"

    reference = models.CharField(max_length=20, unique=True, editable=False)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True, editable=False
    )
    broker = models.ForeignKey(
        Broker, null=True, blank=True, on_delete=models.PROTECT, related_name="offers"
    )
    customer_name = models.CharField(max_length=200, blank=True)
    customer_email = models.EmailField(blank=True)
    customer_phone = models.CharField(max_length=16, blank=True, validators=[E164_VALIDATOR])
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="EUR")
    valid_until = models.DateTimeField(db_index=True)
    notes = models.TextField(blank=True)
    booking = models.OneToOneField(
        Booking,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="offer",
        editable=False,
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
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    responded_at = models.DateTimeField(null=True, blank=True, editable=False)
    decline_reason = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at", "id"], name="offer_created_id"),
            models.Index(fields=["status", "created_at", "id"], name="offer_status_created"),
            models.Index(fields=["broker", "created_at", "id"], name="offer_broker_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(currency__in=CURRENCIES), name="offer_currency_iso4217"
            ),
            models.CheckConstraint(
                condition=Q(broker__isnull=False) | ~Q(customer_name=""),
                name="offer_has_broker_or_customer",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse("admin:offers_offer_change", args=[self.pk])


class OfferLine(models.Model):
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="lines")
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
    proposed_vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="offer_lines"
    )

    class Meta:
        ordering = ["start", "id"]
        indexes = [models.Index(fields=["start", "id"], name="offerline_start_id")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=F("start")),
                name="line_end_not_before_start",
                violation_error_message="The end is before the start.",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(quantity__lte=10_000),
                name="line_quantity_range",
                violation_error_message="The quantity must be between 1 and 10000.",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="line_unit_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0), name="line_unit_cost_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_service_type_display()}: {self.description}"

    @property
    def total_price(self) -> Decimal:
        return self.quantity * self.unit_price

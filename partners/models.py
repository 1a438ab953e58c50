from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from core.phones import E164_VALIDATOR
from partners.timezones import TIMEZONE_LENGTH, default_service_timezone, validate_timezone


class ServiceType(models.TextChoices):
    ACCOMMODATION = "accommodation", "Accommodation"
    TRANSFER = "transfer", "Transfer"
    ACTIVITY = "activity", "Activity"
    VENUE = "venue", "Venue"
    CATERING = "catering", "Catering"
    OTHER = "other", "Other"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WHATSAPP = "whatsapp", "WhatsApp"


def _validate_choice_list(value: object, choices: type[models.TextChoices], what: str) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(f"Give the {what} as a list.")
    unknown = sorted(set(value) - set(choices.values))
    if unknown:
        raise ValidationError(f"Unknown {what}: {', '.join(unknown)}.")
    if len(set(value)) != len(value):
        raise ValidationError(f"Each {what[:-1]} may appear only once.")


def validate_service_types(value: object) -> None:
    _validate_choice_list(value, ServiceType, "service types")


def validate_channels(value: object) -> None:
    _validate_choice_list(value, Channel, "channels")
    if not value:
        raise ValidationError("Choose at least one channel.")


def default_channels() -> list[str]:
    return [Channel.EMAIL.value]


class Partner(models.Model):
    """What vendors and brokers have in common: an outside company we deal with."""

    name = models.CharField(max_length=200)
    email = models.EmailField("contact email")
    phone = models.CharField(
        max_length=16,
        blank=True,
        validators=[E164_VALIDATOR],
        help_text="E.164, used for WhatsApp.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    deactivated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Vendor(Partner):
    """A supplier: hotel, transfer company, guide, venue..."""

    service_types = models.JSONField(default=list, blank=True, validators=[validate_service_types])
    notify_by = models.JSONField(
        "notify by",
        default=default_channels,
        validators=[validate_channels],
        help_text="Channels the vendor wants to be told on: email, whatsapp.",
    )
    timezone = models.CharField(
        max_length=TIMEZONE_LENGTH,
        default=default_service_timezone,
        validators=[validate_timezone],
        help_text="Where the vendor works (an IANA name, e.g. Europe/Lisbon): its services "
        "are shown and entered in this zone's local time.",
    )
    response_hours = models.PositiveSmallIntegerField(
        "hours to answer",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text="How long the vendor has to answer a request (empty: the site's default, "
        "VENDOR_RESPONSE_HOURS).",
    )

    class Meta(Partner.Meta):
        constraints = [
            models.UniqueConstraint(Lower("name"), name="vendor_name_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_service_types_display(self) -> str:
        labels = dict(ServiceType.choices)
        return ", ".join(labels.get(s, s) for s in self.service_types)


class Broker(Partner):
    """A travel agent or reseller who brings bookings and earns a commission."""

    commission_rate = models.DecimalField(
        "commission rate (%)",
        max_digits=5,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    # Payment terms; empty means the site's defaults (BILLING_DEPOSIT_PERCENT ...).
    deposit_percent = models.DecimalField(
        "deposit (%)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Share of the total due as a deposit. Empty: the site's default.",
    )
    deposit_due_days = models.PositiveSmallIntegerField(
        "deposit due (days after approval)",
        null=True,
        blank=True,
        help_text="Empty: the site's default.",
    )
    balance_due_days = models.PositiveSmallIntegerField(
        "balance due (days before the first service)",
        null=True,
        blank=True,
        help_text="Empty: the site's default.",
    )

    class Meta(Partner.Meta):
        constraints = [
            models.UniqueConstraint(Lower("name"), name="broker_name_unique_ci"),
            models.CheckConstraint(
                condition=Q(deposit_percent__isnull=True)
                | (Q(deposit_percent__gte=0) & Q(deposit_percent__lte=100)),
                name="broker_deposit_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(commission_rate__gte=0) & Q(commission_rate__lte=100),
                name="broker_commission_rate_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


_ONE_PARTNER = (Q(vendor__isnull=False) & Q(broker__isnull=True)) | (
    Q(vendor__isnull=True) & Q(broker__isnull=False)
)


class PortalAccount(models.Model):
    """Links a Django user to the one vendor or broker they work for."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_account"
    )
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.CASCADE, related_name="accounts"
    )
    broker = models.ForeignKey(
        Broker, null=True, blank=True, on_delete=models.CASCADE, related_name="accounts"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=_ONE_PARTNER, name="portal_account_one_partner"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.partner}"

    @property
    def partner(self) -> Vendor | Broker:
        return self.vendor or self.broker  # type: ignore[return-value]


class Invitation(models.Model):
    """A single-use, expiring invitation for one person to join a partner's portal.

    Only the SHA-256 of the token is stored; the token itself exists in the email.
    """

    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.CASCADE, related_name="invitations"
    )
    broker = models.ForeignKey(
        Broker, null=True, blank=True, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when a newer invitation replaced this one."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=_ONE_PARTNER, name="invitation_one_partner"),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.partner}"

    @property
    def partner(self) -> Vendor | Broker:
        return self.vendor or self.broker  # type: ignore[return-value]

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "replaced"
        if self.expires_at <= timezone.now():
            return "expired"
        return "open"


class ApiKey(models.Model):
    """An API key owned by a staff user, a broker or a vendor.

    The key is shown once; only its prefix (for lookup) and SHA-256 are stored. Keys
    are long and random, so a fast hash is as safe as a slow one here.
    """

    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    broker = models.ForeignKey(
        Broker, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(user__isnull=False, vendor__isnull=True, broker__isnull=True)
                    | Q(user__isnull=True, vendor__isnull=False, broker__isnull=True)
                    | Q(user__isnull=True, vendor__isnull=True, broker__isnull=False)
                ),
                name="api_key_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or 'API key'} ({self.prefix}…)"

    @property
    def owner(self) -> object:
        return self.user or self.vendor or self.broker

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

"""Domain events, and the webhook endpoints and deliveries that carry them out.

Like ``notifications``, this app imports none of the business apps: the audit writer
hands it each change, and the business apps register (``events.registry``) how their
objects are described and what each kind of caller may see of them. Partners are
referred to by id, not by foreign key, for the same reason.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Event(models.Model):
    """One state change, as integrators see it: written in the change's own transaction.

    ``payload`` is the object's state as staff see it, stored once; what a broker or a
    vendor sees is projected from it when it is read (``events.registry.project``), by
    the same field lists the API's serializers use.

    ``seq`` is drawn when the row is inserted, but transactions commit in another
    order than they draw ids. ``position`` is the feed's order: given after the commit
    by a single sequencer (``events.sequencer``), in the order rows became visible,
    so a page never passes over a row that commits late.
    """

    seq = models.BigAutoField(primary_key=True)
    id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    position = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    type = models.CharField(max_length=64, db_index=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64, help_text="The object's id in the API.")
    reference = models.CharField(
        max_length=50, blank=True, db_index=True, help_text="Booking or offer reference."
    )
    payload = models.JSONField(default=dict)
    broker_id = models.PositiveBigIntegerField(null=True, blank=True)
    audit_entry_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["broker_id", "position"], name="event_broker_feed")]

    def __str__(self) -> str:
        return f"{self.type} {self.reference or self.object_id}"


class EventVendor(models.Model):
    """A vendor that may see an event (an event may concern several)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="vendor_links")
    vendor_id = models.PositiveBigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vendor_id", "event"], name="event_vendor_unique")
        ]

    def __str__(self) -> str:
        return f"vendor {self.vendor_id} sees {self.event_id}"


class FeedHorizon(models.Model):
    """How far back the feed still goes: events up to ``position`` were purged after
    ``EVENTS_RETENTION_DAYS`` (``events.services.events_purge``). One row, or none
    while nothing has been purged."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    position = models.BigIntegerField(default=0)
    purged_at = models.DateTimeField(null=True, blank=True)
    oldest_kept_at = models.DateTimeField(
        null=True, blank=True, help_text="When the oldest event still kept occurred."
    )

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="feed_horizon_one")]

    def __str__(self) -> str:
        return f"events purged up to position {self.position}"


class Audience(models.TextChoices):
    STAFF = "staff", "Staff"
    BROKER = "broker", "Broker"
    VENDOR = "vendor", "Vendor"


class WebhookEndpoint(models.Model):
    """An HTTPS URL that is sent the events of the given types its owner may see.

    The signing secret is stored encrypted (``events.signing``); it is shown once, when
    the endpoint is registered. An endpoint failing for ``WEBHOOK_DISABLE_AFTER`` is
    disabled, never deleted: its log stays, and its owner can turn it on again.
    """

    owner_kind = models.CharField(max_length=8, choices=Audience.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The staff user who registered it (staff endpoints).",
    )
    broker_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    vendor_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    owner_label = models.CharField("owner", max_length=200)
    contact_email = models.CharField(max_length=254, blank=True)
    url = models.URLField(max_length=500)
    event_types = models.JSONField(default=list)
    description = models.CharField(max_length=200, blank=True)
    secret_encrypted = models.TextField(editable=False)
    is_active = models.BooleanField("active", default=True, db_index=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "webhook endpoint"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(owner_kind="staff", broker_id__isnull=True, vendor_id__isnull=True)
                    | models.Q(owner_kind="broker", broker_id__isnull=False, vendor_id__isnull=True)
                    | models.Q(owner_kind="vendor", broker_id__isnull=True, vendor_id__isnull=False)
                ),
                name="webhook_endpoint_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.url} ({self.owner_label})"


class WebhookDelivery(models.Model):
    """One event to one endpoint: a row of the webhook outbox, claimed like a notification.

    Unique per (endpoint, event): retries and a redelivery reuse the row (and the
    event's id), so a receiver can tell copies apart by ``Webhook-Event-Id``.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=12)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_unique")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self) -> str:
        return f"{self.event.type} to {self.endpoint.url}: {self.status}"


class WebhookAttempt(models.Model):
    """One request made for a delivery: what came back, how fast, and a trimmed body."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, blank=True, help_text="delivered, retry or failed")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_unique")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.outcome or 'running'}"

"""The audit log and the notification outbox.

Both are written by the business apps' services in the same transaction as the change
they describe. This app imports none of the business apps: it knows the objects it
logs and notifies about only through generic relations and the context it is given.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone


def default_max_attempts() -> int:
    return int(getattr(settings, "NOTIFICATION_MAX_ATTEMPTS", 8))


class Notification(models.Model):
    """One message to one recipient on one channel: a row of the outbox.

    Rendered when it is recorded, so what is sent is what the change looked like at
    the time, and delivered later by a django-q2 task that claims the row.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WHATSAPP = "whatsapp", "WhatsApp"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        # A send was interrupted and its kind is held after an interruption: never
        # sent again until a person decides (send again, mark delivered, cancel).
        INTERRUPTED = "interrupted", "Interrupted (held)"

    kind = models.CharField(max_length=50, db_index=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    recipient_name = models.CharField(max_length=200, blank=True)
    recipient = models.CharField(
        max_length=254, blank=True, help_text="Email address or E.164 phone number."
    )
    subject = models.CharField(max_length=255, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    whatsapp_template = models.CharField(max_length=100, blank=True)
    whatsapp_params = models.JSONField(default=list, blank=True)
    context = models.JSONField(default=dict, blank=True)
    # A secret link (invitation, password reset), encrypted; the bodies above hold
    # "[link hidden]" in its place until the delivery task opens it (notifications/sealed.py).
    sealed = models.TextField(blank=True, editable=False)

    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    target = GenericForeignKey("content_type", "object_id")
    reference = models.CharField(
        max_length=50, blank=True, db_index=True, help_text="Booking or offer reference."
    )
    audit_entry = models.ForeignKey(
        "core.AuditEntry",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    dedupe_key = models.CharField(max_length=255, unique=True)

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(
        default=default_max_attempts,
        help_text="Fails for good after this many attempts in all; a manual retry raises it.",
    )
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(
        null=True, blank=True, editable=False, help_text="Which task run holds the claim."
    )
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    interrupted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a send of this row was last interrupted (outcome unknown).",
    )
    possible_duplicate = models.BooleanField(
        default=False,
        db_index=True,
        help_text="Sent again after an interrupted send: the recipient may have two copies.",
    )

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id"]),
            models.Index(fields=["status", "next_attempt_at"]),
            # The changelist's order, and each of its filters in that order.
            models.Index(fields=["created_at", "id"], name="notification_created_id"),
            models.Index(fields=["status", "created_at", "id"], name="notification_status_created"),
            models.Index(fields=["kind", "created_at", "id"], name="notification_kind_created"),
            models.Index(
                fields=["channel", "created_at", "id"], name="notification_channel_created"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient or self.recipient_name or '?'} by {self.channel}"


class DeliveryAttempt(models.Model):
    """One try at handing a notification to its channel, kept for the back office."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="delivery_attempts"
    )
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=16, blank=True, help_text="sent, retry, failed or interrupted"
    )
    error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["notification", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "number"], name="delivery_attempt_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.notification_id}: {self.outcome or 'running'}"


class NotificationAttachment(models.Model):
    """A file sent with an email notification (an invoice's PDF), stored with the row
    so a retry sends the same bytes."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="attachments"
    )
    filename = models.CharField(max_length=200)
    mimetype = models.CharField(max_length=100, default="application/octet-stream")
    content = models.BinaryField()

    class Meta:
        ordering = ["notification", "id"]

    def __str__(self) -> str:
        return self.filename

"""The tables the shared machinery keeps: the audit log and API idempotency records."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    """Every action an audit entry can record. A service names one of these, never a
    free string (``core.audit.audit`` refuses anything else)."""

    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    CONFIRMED = "confirmed", "Confirmed"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    ITEM_ADDED = "item_added", "Item added"
    ITEM_REMOVED = "item_removed", "Item removed"
    VENDOR_CHOSEN = "vendor_chosen", "Vendor chosen (asked on submit)"
    ASSIGNED = "assigned", "Assigned to a vendor"
    REASSIGNED = "reassigned", "Reassigned to another vendor"
    VENDOR_REMINDED = "vendor_reminded", "Vendor reminded"
    ANSWER_OVERDUE = "answer_overdue", "Vendor's answer overdue"
    CONFIRMATION_OVERDUE = "confirmation_overdue", "Vendor's confirmation overdue"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    SENT = "sent", "Sent"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"
    LINE_ADDED = "line_added", "Line added"
    LINE_UPDATED = "line_updated", "Line changed"
    LINE_REMOVED = "line_removed", "Line removed"
    INVITED = "invited", "Invited"
    REINVITED = "reinvited", "Invited again"
    INVITATION_ACCEPTED = "invitation_accepted", "Invitation accepted"
    ACTIVATED = "activated", "Activated"
    DEACTIVATED = "deactivated", "Deactivated"
    REVOKED = "revoked", "Revoked"
    REDELIVERED = "redelivered", "Delivered again"
    NOTIFICATION_SENT_AGAIN = "notification_sent_again", "Interrupted message sent again"
    NOTIFICATION_MARKED_DELIVERED = (
        "notification_marked_delivered",
        "Interrupted message marked delivered",
    )
    # billing
    PAYMENT_RECORDED = "payment_recorded", "Payment recorded"
    REFUND_RECORDED = "refund_recorded", "Refund recorded"
    PAYMENT_LINK_CREATED = "payment_link_created", "Payment link made"
    PAYMENT_LINK_SENT = "payment_link_sent", "Payment link sent"
    INVOICE_ISSUED = "invoice_issued", "Invoice issued"
    CREDIT_NOTE_ISSUED = "credit_note_issued", "Credit note issued"


def audit_actions() -> list[tuple[str, str]]:
    # A callable, so adding an action needs no migration.
    return AuditAction.choices


class IdempotencyRecord(models.Model):
    """The first response to a POST or PATCH carrying an ``Idempotency-Key``.

    Replayed for the same key and credentials within 24 hours instead of acting again.
    """

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"

    owner = models.CharField(max_length=64, help_text="Who sent it, e.g. apikey:12 or user:5.")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        # The table keeps the name it had when the model lived in ``partners``.
        db_table = "partners_idempotencyrecord"
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.method} {self.path} [{self.key}]"


class AuditEntry(models.Model):
    """One state change: what, who, when, from which status to which, and why.

    Written only by services; the admin shows it read-only and nothing edits it.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    target_repr = models.CharField("object", max_length=200)
    action = models.CharField(max_length=50, choices=audit_actions, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField("by", max_length=200)
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        # The table and index keep the names they had when the model lived in notifications.
        db_table = "notifications_auditentry"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["content_type", "object_id", "created_at"],
                name="notificatio_content_ed493f_idx",
            ),
            # The changelist's order, and each of its filters in that order.
            models.Index(fields=["created_at", "id"], name="audit_created_id"),
            models.Index(fields=["action", "created_at", "id"], name="audit_action_created"),
            models.Index(fields=["content_type", "created_at", "id"], name="audit_type_created"),
        ]

    def __str__(self) -> str:
        change = f" {self.from_status} → {self.to_status}" if self.to_status else ""
        return f"{self.target_repr}: {self.action}{change}"

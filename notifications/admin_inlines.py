"""The read-only inline that shows an object's notifications.

The business apps' admins include it on their change pages (beside
``core.admin_kit.AuditEntryInline``). Nothing here writes: notifications are the
outbox's own. This module imports no business app.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from django.http import HttpRequest
from django.utils.html import format_html

from core.admin_kit import ReadOnlyInlineMixin
from notifications.models import Notification

STATUS_TONES = {
    Notification.Status.PENDING: "#b7791f",
    Notification.Status.SENDING: "#b7791f",
    Notification.Status.SENT: "#2b6cb0",
    Notification.Status.DELIVERED: "#2f855a",
    Notification.Status.READ: "#276749",
    Notification.Status.FAILED: "#c53030",
    Notification.Status.CANCELLED: "#718096",
    Notification.Status.INTERRUPTED: "#c05621",
}


class NotificationInline(ReadOnlyInlineMixin, GenericTabularInline):
    """The messages recorded for the object on the page, with their delivery state."""

    model = Notification
    verbose_name_plural = "Notifications"
    fields = (
        "created_at",
        "kind",
        "channel",
        "recipient_name",
        "recipient",
        "status_badge",
        "attempts",
        "sent_at",
        "last_error",
    )
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    classes = ("collapse",)
    show_change_link = True

    @admin.display(description="status")
    def status_badge(self, notification: Notification) -> str:
        return format_html(
            '<span style="background:{};color:#fff;padding:1px 8px;border-radius:9px;'
            'font-size:11px;white-space:nowrap">{}</span>',
            STATUS_TONES.get(notification.status, "#718096"),
            notification.get_status_display(),
        )

    def get_queryset(self, request: HttpRequest) -> Any:
        # The rendered bodies can be long; the table shows none of them.
        return (
            super()
            .get_queryset(request)
            .defer("body_text", "body_html", "context", "whatsapp_params")
        )

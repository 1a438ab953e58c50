"""Read-only inlines that show an object's audit history and its notifications.

The business apps' admins include them on their change pages. Nothing here writes:
audit entries are written only by services and never edited, and notifications are
the outbox's own. This module imports no business app.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from notifications.models import AuditEntry, Notification

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


class ReadOnlyInlineMixin:
    """An inline that shows rows and never adds, changes or deletes one."""

    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditEntryInline(ReadOnlyInlineMixin, GenericTabularInline):
    """The audit history of the object on the page, newest first."""

    model = AuditEntry
    verbose_name = "history entry"
    verbose_name_plural = "History"
    fields = ("created_at", "target_repr", "action", "transition", "actor_label", "details")
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    classes = ("collapse",)

    @admin.display(description="status change")
    def transition(self, entry: AuditEntry) -> str:
        if not entry.to_status:
            return ""
        return f"{entry.from_status or '—'} → {entry.to_status}"

    @admin.display(description="details")
    def details(self, entry: AuditEntry) -> str:
        data = {k: v for k, v in (entry.data or {}).items() if k != "via" and v not in ("", None)}
        via = (entry.data or {}).get("via", "")
        parts = format_html_join(
            "; ", "{}: {}", ((k.replace("_", " "), v) for k, v in data.items())
        )
        return format_html("{} <small>{}</small>", parts, f"via {via}" if via else "")


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

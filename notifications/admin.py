"""Back office for the outbox and the audit log.

Nothing here writes a row itself: retry, cancel and the decisions on interrupted
sends (send again, mark as delivered) call the services, and the audit log is
read-only for everyone, superusers included.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from core.admin_kit import ReadOnlyInlineMixin
from core.attention import AttentionFilter
from core.large_tables import DistinctValuesFilter, LargeTableAdminMixin
from notifications.admin_inlines import STATUS_TONES
from notifications.models import DeliveryAttempt, Notification
from notifications.services import (
    notifications_cancel,
    notifications_mark_delivered,
    notifications_retry,
    notifications_send_again,
)


class DeliveryAttemptInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = DeliveryAttempt
    fields = ("number", "started_at", "finished_at", "outcome", "error", "provider_message_id")
    readonly_fields = fields
    ordering = ("number",)


@admin.register(Notification)
class NotificationAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "channel",
        "recipient_name",
        "recipient",
        "reference",
        "status_badge",
        "possible_duplicate",
        "attempts",
        "next_attempt_at",
        "sent_at",
    )
    list_filter = (
        AttentionFilter,
        "status",
        "possible_duplicate",
        "channel",
        ("kind", DistinctValuesFilter),
        "created_at",
    )
    search_fields = ("recipient", "recipient_name", "=reference", "=provider_message_id")
    date_hierarchy = "created_at"
    list_select_related = ("content_type",)
    list_per_page = 50
    actions = ("retry", "cancel", "send_again", "mark_delivered")
    inlines = (DeliveryAttemptInline,)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "kind",
                    "channel",
                    ("recipient_name", "recipient"),
                    "status_badge",
                    "about",
                    "reference",
                )
            },
        ),
        ("Message", {"fields": ("subject", "text_preview", "html_preview", "whatsapp_call")}),
        (
            "Delivery",
            {
                "fields": (
                    ("attempts", "max_attempts"),
                    "next_attempt_at",
                    "claimed_at",
                    ("interrupted_at", "possible_duplicate"),
                    "last_error",
                    "provider_message_id",
                    ("created_at", "sent_at"),
                    ("delivered_at", "read_at", "failed_at"),
                    "dedupe_key",
                    "audit_entry",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        qs = super().get_queryset(request)
        match = request.resolver_match
        if match is not None and (match.url_name or "").endswith("changelist"):
            # The changelist shows no bodies; they are most of a row's bytes.
            qs = qs.defer("body_text", "body_html", "context", "whatsapp_params")
        return qs

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Every field is shown, none is editable: the outbox changes only through
        # delivery and the actions.
        return [
            name
            for fieldset in self.fieldsets
            for line in fieldset[1]["fields"]
            for name in (line if isinstance(line, tuple) else (line,))
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Notification) -> str:
        return format_html(
            '<span style="background:{};color:#fff;padding:1px 8px;border-radius:9px;'
            'font-size:11px;white-space:nowrap">{}</span>',
            STATUS_TONES.get(obj.status, "#718096"),
            obj.get_status_display(),
        )

    @admin.display(description="about")
    def about(self, obj: Notification) -> str:
        if obj.content_type_id is None or obj.object_id is None:
            return "—"
        model = obj.content_type.model_class()
        if model is None:
            return "—"
        label = f"{model._meta.verbose_name} {obj.reference or obj.object_id}"
        try:
            url = reverse(
                f"admin:{model._meta.app_label}_{model._meta.model_name}_change",
                args=[obj.object_id],
            )
        except Exception:  # a model without an admin page
            return label
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description="text")
    def text_preview(self, obj: Notification) -> str:
        return format_html(
            '<pre style="white-space:pre-wrap;max-width:60em;margin:0;font-size:13px">{}</pre>',
            obj.body_text,
        )

    @admin.display(description="HTML")
    def html_preview(self, obj: Notification) -> str:
        if not obj.body_html:
            return "—"
        # srcdoc is an escaped attribute, and the empty sandbox runs no script,
        # submits no form and gets no access to this page or its cookies.
        return format_html(
            '<iframe sandbox="" srcdoc="{}" title="HTML email" referrerpolicy="no-referrer" '
            'style="width:100%;max-width:660px;height:520px;border:1px solid #ccc;'
            'background:#fff"></iframe>',
            obj.body_html,
        )

    @admin.display(description="WhatsApp template")
    def whatsapp_call(self, obj: Notification) -> str:
        if obj.channel != Notification.Channel.WHATSAPP:
            return "—"
        params = ", ".join(str(p) for p in obj.whatsapp_params or [])
        return f"{obj.whatsapp_template}({params})"

    @admin.action(
        description="Retry the selected failed or cancelled notifications", permissions=["change"]
    )
    def retry(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        retried = notifications_retry(notification_ids=ids)
        if retried:
            self.message_user(
                request, f"{retried} notification(s) queued to be sent again.", messages.SUCCESS
            )
        if len(ids) > retried:
            self.message_user(
                request,
                f"{len(ids) - retried} notification(s) skipped: only failed or cancelled "
                "ones can be retried.",
                messages.WARNING,
            )

    @admin.action(
        description="Cancel the selected pending notifications (or drop interrupted ones)",
        permissions=["change"],
    )
    def cancel(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        cancelled = notifications_cancel(notification_ids=ids)
        if cancelled:
            self.message_user(request, f"{cancelled} notification(s) cancelled.", messages.SUCCESS)
        if len(ids) > cancelled:
            self.message_user(
                request,
                f"{len(ids) - cancelled} notification(s) skipped: only pending or interrupted "
                "ones can be cancelled.",
                messages.WARNING,
            )

    @admin.action(
        description="Send the selected interrupted notifications again (possible duplicate)",
        permissions=["change"],
    )
    def send_again(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        done = notifications_send_again(notification_ids=ids, user=request.user)
        if done:
            self.message_user(
                request,
                f"{done} notification(s) queued to be sent again; the recipient may get "
                "two copies.",
                messages.SUCCESS,
            )
        self._skipped(request, len(ids) - done)

    @admin.action(
        description="Mark the selected interrupted notifications as delivered (no resend)",
        permissions=["change"],
    )
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        done = notifications_mark_delivered(notification_ids=ids, user=request.user)
        if done:
            self.message_user(
                request, f"{done} notification(s) marked as delivered.", messages.SUCCESS
            )
        self._skipped(request, len(ids) - done)

    def _skipped(self, request: HttpRequest, skipped: int) -> None:
        if skipped:
            self.message_user(
                request,
                f"{skipped} notification(s) skipped: only interrupted ones (held after an "
                "interrupted send) wait for this decision.",
                messages.WARNING,
            )

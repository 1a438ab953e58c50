"""Back office for events, webhook endpoints and their delivery log.

Read-only pages: the redeliver and on / off actions call ``events.services``, like
every other door.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from core.admin_kit import ReadOnlyInlineMixin
from core.domain import Actor, DomainError
from events import services
from events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class ReadOnlyAdmin(admin.ModelAdmin):
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


def _actor(request: HttpRequest) -> Actor:
    return Actor(user=request.user, via="admin")


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "type", "reference", "object_type", "object_id", "id")
    list_filter = ("type", "object_type")
    search_fields = ("=reference", "=id")
    date_hierarchy = "occurred_at"
    list_per_page = 50
    show_full_result_count = False
    ordering = ("-seq",)
    readonly_fields = (
        "id",
        "seq",
        "position",
        "type",
        "occurred_at",
        "object_type",
        "object_id",
        "reference",
        "broker_id",
        "audit_entry_id",
        "payload",
    )
    fields = readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ("url", "owner_label", "owner_kind", "is_active", "failing_since", "created_at")
    list_filter = ("is_active", "owner_kind")
    search_fields = ("url", "owner_label")
    actions = ("turn_on", "turn_off")
    readonly_fields = (
        "url",
        "owner_kind",
        "owner_label",
        "user",
        "broker_id",
        "vendor_id",
        "contact_email",
        "event_types",
        "description",
        "is_active",
        "failing_since",
        "disabled_at",
        "disabled_reason",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields

    def _switch(self, request: HttpRequest, queryset: QuerySet, on: bool) -> None:
        done = 0
        for endpoint in queryset:
            try:
                services.webhook_update(endpoint=endpoint, actor=_actor(request), is_active=on)
            except DomainError as exc:
                self.message_user(request, f"{endpoint}: {exc.message}", messages.ERROR)
                continue
            done += 1
        if done:
            state = "on" if on else "off"
            self.message_user(request, f"{done} endpoint(s) turned {state}.", messages.SUCCESS)

    @admin.action(description="Turn the selected endpoints on", permissions=["change"])
    def turn_on(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        self._switch(request, queryset, True)

    @admin.action(description="Turn the selected endpoints off", permissions=["change"])
    def turn_off(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        self._switch(request, queryset, False)


class WebhookAttemptInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = WebhookAttempt
    fields = (
        "number",
        "started_at",
        "outcome",
        "status_code",
        "response_ms",
        "response_body",
        "error",
    )
    readonly_fields = fields
    ordering = ("number",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "created_at")
    search_fields = ("=event__id", "=event__reference", "endpoint__url")
    list_select_related = ("event", "endpoint")
    list_per_page = 50
    show_full_result_count = False
    actions = ("redeliver",)
    inlines = (WebhookAttemptInline,)
    readonly_fields = (
        "endpoint",
        "event_id_shown",
        "event_type",
        "status",
        "attempts",
        "max_attempts",
        "next_attempt_at",
        "claimed_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
        "failed_at",
    )
    fields = readonly_fields

    @admin.display(description="event type", ordering="event__type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.display(description="event id")
    def event_id_shown(self, obj: WebhookDelivery) -> str:
        return str(obj.event.id)

    @admin.action(
        description="Send the selected deliveries again (same event id)", permissions=["change"]
    )
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        rows = list(queryset)
        done = services.deliveries_redeliver(deliveries=rows, actor=_actor(request))
        if done:
            self.message_user(request, f"{done} delivery(ies) queued again.", messages.SUCCESS)
        if len(rows) > done:
            self.message_user(
                request,
                f"{len(rows) - done} skipped: being sent right now, or the endpoint is off.",
                messages.WARNING,
            )

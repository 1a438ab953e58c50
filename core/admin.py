"""The audit log in the admin: read-only, like the log itself."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.large_tables import DistinctValuesFilter, LargeTableAdminMixin
from core.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    """Who changed what, when: written by the services, never edited by anyone."""

    list_display = (
        "created_at",
        "target_repr",
        "action",
        "from_status",
        "to_status",
        "actor_label",
    )
    list_filter = (("action", DistinctValuesFilter), "content_type", "created_at")
    search_fields = ("target_repr", "actor_label", "action")
    date_hierarchy = "created_at"
    list_select_related = ("content_type", "actor")
    fields = (
        "created_at",
        "content_type",
        "object_id",
        "target_repr",
        "action",
        "from_status",
        "to_status",
        "actor",
        "actor_label",
        "data",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

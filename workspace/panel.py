"""The first page's counts, as the user may see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse

from core import attention


@dataclass(frozen=True)
class Count:
    condition: attention.Condition
    count: int
    url: str

    @property
    def capped(self) -> bool:
        return self.count > attention.COUNT_LIMIT

    @property
    def shown(self) -> str:
        return f"{attention.COUNT_LIMIT:,}+" if self.capped else f"{self.count:,}"


def visible_conditions(request: HttpRequest) -> list[attention.Condition]:
    """The conditions on models the user may view in the admin."""
    visible = []
    for condition in attention.registered():
        model_admin = admin.site._registry.get(condition.model)
        if model_admin is not None and model_admin.has_view_or_change_permission(request):
            visible.append(condition)
    return visible


def attention_counts(request: HttpRequest, *, now: datetime) -> list[Count]:
    conditions = visible_conditions(request)
    counts = attention.bounded_counts(conditions, now=now, limit=attention.COUNT_LIMIT)
    rows = []
    for condition in conditions:
        opts = condition.model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        rows.append(Count(condition, counts[condition.key], f"{url}?attention={condition.key}"))
    return rows

"""What needs attention: named conditions on a model that a page counts and a
changelist filters by, so a count and the list it opens are the same rows.

The app that counts (the staff workspace) registers each condition once; every admin
that lists the model puts ``AttentionFilter`` in its ``list_filter`` and so offers the
conditions registered for its model, under ``?attention=<key>``. This module imports no
business app: the conditions come to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.db import connections
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

# A count stops here: reading at most this many index entries keeps the first page as
# cheap with a backlog of a million rows as with ten. Above it the page says "1000+".
COUNT_LIMIT = 1000


@dataclass(frozen=True)
class Condition:
    """One thing that needs attention: ``where(now)`` selects its rows of ``model``."""

    key: str
    label: str
    model: type[Model]
    where: Callable[[datetime], Q]
    help: str = ""

    def rows(self, now: datetime | None = None) -> QuerySet:
        return self.model._default_manager.filter(self.where(now or timezone.now()))


_REGISTRY: dict[str, Condition] = {}


def register(*conditions: Condition) -> None:
    for condition in conditions:
        _REGISTRY[condition.key] = condition


def registered() -> list[Condition]:
    return list(_REGISTRY.values())


def get(key: str | None) -> Condition | None:
    return _REGISTRY.get(key or "")


def bounded_counts(
    conditions: Iterable[Condition], *, now: datetime, limit: int = COUNT_LIMIT
) -> dict[str, int]:
    """Each condition's row count, stopping at ``limit + 1``, all in one query."""
    conditions = list(conditions)
    if not conditions:
        return {}
    parts, params = [], []
    db = conditions[0].model._default_manager.db
    for i, condition in enumerate(conditions):
        rows = condition.rows(now).order_by().values("pk")[: limit + 1]
        sql, p = rows.query.sql_with_params()
        # The SQL is Django's own compilation of the condition; values go as parameters.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS c{i})")  # noqa: S608
        params.extend(p)
    with connections[db].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        values = cursor.fetchone()
    return {c.key: int(v) for c, v in zip(conditions, values, strict=True)}


class AttentionFilter(admin.SimpleListFilter):
    """The registered conditions of the changelist's model, as one filter."""

    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        model = model_admin.model
        return [(c.key, c.label) for c in _REGISTRY.values() if c.model is model]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        condition = get(self.value())
        if condition is None or condition.model is not queryset.model:
            return queryset
        return queryset.filter(condition.where(timezone.now()))

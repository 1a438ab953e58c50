"""Filter pieces every list shares."""

from __future__ import annotations

from typing import Any

import django_filters
from django_filters.rest_framework import DjangoFilterBackend


class ApiFilterSet(django_filters.FilterSet):
    """Adds ``updated_since`` (ISO 8601 datetime, inclusive) on ``updated_at``."""

    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Only objects changed at or after this moment (ISO 8601 with offset).",
    )


class QuickFilterBackend(DjangoFilterBackend):
    """django-filter, skipped when the request names none of the filters.

    Building a FilterSet and its form for every request costs a few milliseconds
    (deep copies of every filter and form field), most of a fast list's budget, and
    a plain ``GET /bookings/?page_size=50`` filters nothing. A parameter counts as
    naming a filter when it is the filter's name or starts with it (range widgets
    use ``<name>_min`` / ``<name>_after``). Filters act only on values given, so
    skipping them when none is given changes no result.
    """

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        names = tuple(filterset_class.base_filters)
        if not any(param.startswith(names) for param in request.query_params):
            return queryset
        return super().filter_queryset(request, queryset, view)

"""Filter pieces every list shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 datetime, handed to the database in UTC.

    ISO 8601 allows offsets up to 23:59 but PostgreSQL refuses those past 15:59
    ("time zone displacement out of range"), and a date near year 1 may not survive
    the shift: both are a form error here, never a database error.
    """

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise ValidationError("This moment is out of range.", code="invalid") from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class ApiFilterSet(django_filters.FilterSet):
    """Adds ``updated_since`` (ISO 8601 datetime, inclusive) on ``updated_at``."""

    updated_since = UtcIsoDateTimeFilter(
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

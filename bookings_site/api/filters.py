"""Filter pieces every list shares."""

from __future__ import annotations

import django_filters


class ApiFilterSet(django_filters.FilterSet):
    """Adds ``updated_since`` (ISO 8601 datetime, inclusive) on ``updated_at``."""

    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Only objects changed at or after this moment (ISO 8601 with offset).",
    )

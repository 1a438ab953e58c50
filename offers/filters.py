"""Query filters of the offers list (ISO 8601 dates; ``*_after`` inclusive, ``*_before`` not)."""

from __future__ import annotations

import django_filters

from bookings.filters import StaffOnlyFiltersMixin
from offers.models import Offer


class OfferFilter(StaffOnlyFiltersMixin, django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Offer.Status.choices, distinct=False)
    broker = django_filters.NumberFilter(field_name="broker_id")
    vendor = django_filters.NumberFilter(
        field_name="lines__proposed_vendor_id",
        distinct=True,
        help_text="Offers with a line proposing this vendor.",
    )
    valid_after = django_filters.IsoDateTimeFilter(field_name="valid_until", lookup_expr="gte")
    valid_before = django_filters.IsoDateTimeFilter(field_name="valid_until", lookup_expr="lt")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    staff_only = ("vendor",)

    class Meta:
        model = Offer
        fields: list[str] = []

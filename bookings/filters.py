"""Query filters of the bookings and booking-items lists.

Dates take ISO 8601 (``2026-05-01T00:00:00Z``); ``*_after`` is inclusive and
``*_before`` exclusive. Filters that would tell a partner about our suppliers
(``vendor`` on bookings) exist for staff callers only.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from bookings.models import Booking, BookingItem, overdue_q
from partners.models import ServiceType


def _is_staff_request(request: Any) -> bool:
    from core.api.actors import is_staff_caller

    return request is not None and is_staff_caller(request)


def _is_broker_request(request: Any) -> bool:
    from core.api.actors import caller_broker

    return request is not None and caller_broker(request) is not None


class StaffOnlyFiltersMixin:
    staff_only: tuple[str, ...] = ()
    # What brokers are not shown (vendors' deadlines), so cannot filter on either.
    not_for_brokers: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.request  # type: ignore[attr-defined]
        hidden = () if _is_staff_request(request) else self.staff_only
        if self.not_for_brokers and _is_broker_request(request):
            hidden = (*hidden, *self.not_for_brokers)
        for name in hidden:
            self.filters.pop(name, None)  # type: ignore[attr-defined]


class BookingFilter(StaffOnlyFiltersMixin, django_filters.FilterSet):
    # distinct=False: a column of the row itself (or of a to-one relation) cannot repeat
    # a row, and DISTINCT would make the list build every matching row before LIMIT.
    status = django_filters.MultipleChoiceFilter(choices=Booking.Status.choices, distinct=False)
    broker = django_filters.NumberFilter(field_name="broker_id")
    vendor = django_filters.NumberFilter(
        method="filter_vendor", help_text="Bookings with an item assigned to this vendor."
    )
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    start_after = django_filters.IsoDateTimeFilter(
        method="filter_start_after", help_text="Bookings with a service starting at or after."
    )
    start_before = django_filters.IsoDateTimeFilter(
        method="filter_start_before", help_text="Bookings with a service starting before."
    )
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    staff_only = ("vendor",)

    class Meta:
        model = Booking
        fields: list[str] = []

    # Exists() rather than a join: no duplicate rows, no DISTINCT, pagination stays cheap.
    def _with_item(self, queryset: QuerySet[Booking], **lookups: Any) -> QuerySet[Booking]:
        items = BookingItem.objects.filter(booking_id=OuterRef("pk"), **lookups)
        return queryset.filter(Exists(items))

    def filter_vendor(self, queryset: QuerySet[Booking], name: str, value: Any) -> QuerySet:
        return self._with_item(queryset, vendor_id=value)

    def filter_start_after(self, queryset: QuerySet[Booking], name: str, value: Any) -> QuerySet:
        return self._with_item(queryset, start__gte=value)

    def filter_start_before(self, queryset: QuerySet[Booking], name: str, value: Any) -> QuerySet:
        return self._with_item(queryset, start__lt=value)


class BookingItemFilter(StaffOnlyFiltersMixin, django_filters.FilterSet):
    # distinct=False: see BookingFilter.status.
    vendor_status = django_filters.MultipleChoiceFilter(
        choices=BookingItem.VendorStatus.choices, distinct=False
    )
    service_type = django_filters.MultipleChoiceFilter(choices=ServiceType.choices, distinct=False)
    booking = django_filters.CharFilter(field_name="booking__reference")
    booking_status = django_filters.MultipleChoiceFilter(
        field_name="booking__status", choices=Booking.Status.choices, distinct=False
    )
    broker = django_filters.NumberFilter(field_name="booking__broker_id")
    vendor = django_filters.NumberFilter(field_name="vendor_id")
    start_after = django_filters.IsoDateTimeFilter(field_name="start", lookup_expr="gte")
    start_before = django_filters.IsoDateTimeFilter(field_name="start", lookup_expr="lt")
    end_after = django_filters.IsoDateTimeFilter(field_name="end", lookup_expr="gte")
    end_before = django_filters.IsoDateTimeFilter(field_name="end", lookup_expr="lt")
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    cancelled = django_filters.BooleanFilter(
        field_name="cancelled_at", lookup_expr="isnull", exclude=True
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue",
        help_text="true: items whose vendor let respond_by (or, accepted, confirm_by) pass; "
        "false: the others.",
    )
    respond_by_before = django_filters.IsoDateTimeFilter(
        field_name="respond_by", lookup_expr="lt", help_text="Answers due before this time."
    )
    respond_by_after = django_filters.IsoDateTimeFilter(
        field_name="respond_by", lookup_expr="gte", help_text="Answers due at or after."
    )
    confirm_by_before = django_filters.IsoDateTimeFilter(
        field_name="confirm_by", lookup_expr="lt", help_text="Confirmations due before this time."
    )

    staff_only = ("vendor", "broker")
    not_for_brokers = ("overdue", "respond_by_before", "respond_by_after", "confirm_by_before")

    class Meta:
        model = BookingItem
        fields: list[str] = []

    def filter_overdue(self, queryset: QuerySet[BookingItem], name: str, value: Any) -> QuerySet:
        if value is None:
            return queryset
        condition = overdue_q(timezone.now())
        return queryset.filter(condition) if value else queryset.exclude(condition)

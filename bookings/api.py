"""``/api/v1/bookings/`` and ``/api/v1/booking-items/``.

Thin, like the admin and the portal: parse input, fetch through a selector (another
partner's object is a 404 before any service runs), call the service with the API
caller's Actor, render. The lists render plain rows (see ``bookings.serializers``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, Page, PageNotAnInteger
from django.db import connection
from django.db.models import ExpressionWrapper, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers as drf
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from bookings import extensions, selectors, services
from bookings.filters import BookingFilter, BookingItemFilter
from bookings.models import Booking, BookingItem
from bookings.serializers import (
    BOOKING_COLUMNS,
    BOOKING_FIELDS,
    BOOKING_SERIALIZERS,
    BROKER,
    ITEM_COLUMNS,
    ITEM_SERIALIZERS,
    STAFF,
    VENDOR,
    AssignVendorSerializer,
    BookingInputSerializer,
    BookingSchema,
    BookingSerializer,
    BookingUpdateSerializer,
    ConfirmSerializer,
    ItemInputSerializer,
    ItemSchema,
    ItemUpdateSerializer,
    ReasonSerializer,
    pg_booking_document,
    render_booking,
    render_item,
)
from bookings.states import BOOKING, ITEM
from core.api.pagination import ApiPagination, SyncPagination
from core.api.schema import error_responses as _errors
from core.api.viewsets import ApiViewSet, detail_url
from core.domain import Actor
from core.large_tables import (
    COUNT_LIMIT,
    LargeTablePaginator,
    deep_slice,
    planner_estimate,
)


class InlineCountPaginator(LargeTablePaginator):
    """Reads the total from the page's own rows (``total_count``, an uncorrelated scalar
    subquery the database runs once), saving the separate COUNT query and its round trip.
    That count stops at ``COUNT_LIMIT`` rows; a list that reaches it shows the planner's
    estimate instead (one EXPLAIN). Past the last page there are no rows to read it from:
    then it counts as usual. A deep page selects its ids first (``deep_slice``)."""

    def page(self, number: Any) -> Page:
        try:
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger("That page number is not an integer") from exc
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        bottom = (number - 1) * self.per_page
        rows = list(deep_slice(self.object_list, bottom, bottom + self.per_page))
        if rows:
            total = rows[0]["total_count"]
            if total > COUNT_LIMIT:
                estimate = planner_estimate(self.object_list)
                total = max(total, estimate or 0)
                self.count_is_exact = estimate is None
            self.__dict__["count"] = total  # primes the cached_property
        elif number > 1:
            raise EmptyPage("That page contains no results")
        return self._get_page(rows, number, self)


class InlineCountPagination(SyncPagination):
    django_paginator_class = InlineCountPaginator


def with_total_count(queryset: QuerySet) -> QuerySet:
    """``total_count``: the rows of ``queryset``, counted up to ``COUNT_LIMIT + 1`` (a
    count that reaches it reads no further; the paginator estimates beyond)."""
    try:
        limited = queryset.order_by().values("pk")[: COUNT_LIMIT + 1]
        sql, params = limited.query.sql_with_params()
    except EmptyResultSet:  # ``none()``: a vendor's bookings
        return queryset.annotate(total_count=Value(0, output_field=IntegerField()))
    # The SQL is Django's own compilation of the queryset; its values stay parameters.
    bounded = RawSQL(f"SELECT COUNT(*) FROM ({sql}) AS bounded", params)  # noqa: S608, S611
    return queryset.annotate(total_count=ExpressionWrapper(bounded, output_field=IntegerField()))


def booking_actions(actor: Actor) -> Callable[[str], list[str]]:
    """The moves ``actor`` may make on one of its visible bookings, by status (the
    table of ``bookings.states`` read once per status and request)."""
    cache: dict[str, list[str]] = {}
    own = actor.broker.pk if actor.broker is not None else None

    def for_status(status: str) -> list[str]:
        if status not in cache:
            probe = Booking(status=status, broker_id=own)
            cache[status] = BOOKING.allowed(probe, actor, contents=False)
        return cache[status]

    return for_status


def with_actions(row: dict[str, Any], actions: Callable[[str], list[str]]) -> orjson.Fragment:
    """A booking the database rendered as JSON text, closed with the caller's actions."""
    return orjson.Fragment(
        row["document"][:-1].encode() + b',"actions":' + orjson.dumps(actions(row["status"])) + b"}"
    )


def item_actions(actor: Actor) -> Callable[[str, bool, str], list[str]]:
    """The moves ``actor`` may make on one of its visible items, by (vendor status,
    live, booking status)."""
    cache: dict[tuple[str, bool, str], list[str]] = {}
    vendor = actor.vendor.pk if actor.vendor is not None else None
    broker = actor.broker.pk if actor.broker is not None else None
    now = timezone.now()

    def for_state(vendor_status: str, live: bool, booking_status: str) -> list[str]:
        key = (vendor_status, live, booking_status)
        if key not in cache:
            probe = BookingItem(
                vendor_status=vendor_status,
                cancelled_at=None if live else now,
                vendor_id=vendor,
                booking=Booking(status=booking_status, broker_id=broker),
            )
            cache[key] = ITEM.allowed(probe, actor, contents=False)
        return cache[key]

    return for_state


def caller_kind(actor: Actor) -> str:
    if actor.vendor is not None:
        return VENDOR
    if actor.broker is not None:
        return BROKER
    return STAFF


class CallerMixin:
    """The caller's kind; list filtering that skips an idle FilterSet and tie-breaks the
    order on ``id`` so pages never overlap."""

    @property
    def kind(self) -> str:
        return caller_kind(self.actor)  # type: ignore[attr-defined]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        filterset_class = getattr(self, "filterset_class", None)
        asked = self.request.query_params  # type: ignore[attr-defined]
        for backend in self.filter_backends:  # type: ignore[attr-defined]
            # A FilterSet with none of its filters asked for filters nothing, but building
            # it (a deep copy of every filter, a form) is a good part of a list's cost.
            if (
                issubclass(backend, DjangoFilterBackend)
                and filterset_class is not None
                and not any(name in asked for name in filterset_class.base_filters)
            ):
                continue
            queryset = backend().filter_queryset(self.request, queryset, self)  # type: ignore[attr-defined]
        order = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
        if not any(str(field).lstrip("-") == "id" for field in order):
            descending = bool(order) and str(order[0]).startswith("-")
            queryset = queryset.order_by(*order, "-id" if descending else "id")
        return queryset


@extend_schema_view(
    list=extend_schema(
        summary="List bookings",
        description="Staff see every booking, a broker its own; vendors none. Each booking "
        "comes with its items and totals (brokers see no costs).",
        responses={200: BookingSchema(many=True)},
    ),
    retrieve=extend_schema(
        summary="A booking", responses={200: BookingSchema, **_errors(403, 404)}
    ),
    create=extend_schema(
        summary="Create a draft booking (with items)",
        request=BookingInputSerializer,
        responses={201: BookingSchema, **_errors(400, 403)},
    ),
    partial_update=extend_schema(
        summary="Change a booking's contact, notes (and broker, currency while a draft)",
        request=BookingUpdateSerializer,
        responses={200: BookingSchema, **_errors(400, 403, 404, 409)},
    ),
)
class BookingViewSet(CallerMixin, ApiViewSet):
    pagination_class = InlineCountPagination
    lookup_field = "reference"
    lookup_value_regex = "[A-Za-z0-9-]{1,20}"
    permission_model = Booking
    filterset_class = BookingFilter
    ordering_fields = ["created_at", "updated_at", "reference", "status"]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_permissions = {
        "submit": ["bookings.change_booking"],
        "approve": ["bookings.approve_booking"],
        "cancel": ["bookings.change_booking"],
        "items": ["bookings.view_booking", "bookings.view_bookingitem"],
        "add_item": ["bookings.add_bookingitem"],
    }

    def get_queryset(self) -> QuerySet[Booking]:
        return selectors.bookings_visible(actor=self.actor)

    def get_serializer_class(self) -> type[drf.BaseSerializer]:
        return BOOKING_SERIALIZERS.get(self.kind, BookingSerializer)

    def _booking(self) -> Booking:
        return selectors.booking_get_visible(actor=self.actor, reference=self.kwargs["reference"])

    def _render(self, booking: Booking, status_code: int = status.HTTP_200_OK) -> Response:
        # Re-read: what the services changed, with items prefetched for the totals.
        booking = selectors.booking_get_visible(actor=self.actor, reference=booking.reference)
        return Response(self._shown(booking), status=status_code)

    def _shown(self, booking: Booking) -> dict[str, Any]:
        """The booking, its actions, and what other apps add to it (its money: see
        ``bookings.extensions``)."""
        data = dict(BOOKING_SERIALIZERS[self.kind](booking).data)
        data["actions"] = booking_actions(self.actor)(booking.status)
        audience = "broker" if self.kind == BROKER else "staff"
        data.update(extensions.section_data(booking=booking, audience=audience))
        return data

    def list(self, request: Request) -> Response:
        """The throughput-critical path: one query for the page and its count; on
        PostgreSQL each booking comes rendered whole from it (SQLite: plain rows, and one
        more query for the items)."""
        kind = self.kind
        if self.paginator.cursor_mode(request):  # type: ignore[union-attr]
            return self._list_by_cursor(request, kind)
        queryset = with_total_count(self.filter_queryset(self.get_queryset()))
        actions = booking_actions(self.actor)
        if connection.vendor == "postgresql" and kind in BOOKING_FIELDS:
            documents = queryset.annotate(document=pg_booking_document(kind))
            rows = documents.values("total_count", "document", "status")
            page = self.paginate_queryset(rows) or []
            return self.get_paginated_response([with_actions(r, actions) for r in page])
        page = self.paginate_queryset(queryset.values(*BOOKING_COLUMNS, "total_count")) or []
        items = selectors.booking_items_rows(
            booking_ids=[row["id"] for row in page], fields=ITEM_COLUMNS
        )
        results = [
            {**render_booking(row, items[row["id"]], kind=kind), "actions": actions(row["status"])}
            for row in page
        ]
        return self.get_paginated_response(results)

    def _list_by_cursor(self, request: Request, kind: str) -> Response:
        """``?cursor=``: the same objects a page at a time by (updated_at, id), no count."""
        paginator: SyncPagination = self.paginator  # type: ignore[assignment]
        queryset = self.filter_queryset(self.get_queryset())
        actions = booking_actions(self.actor)
        if connection.vendor == "postgresql" and kind in BOOKING_FIELDS:
            documents = queryset.annotate(document=pg_booking_document(kind))
            rows = paginator.paginate_by_cursor(
                documents.values("id", "updated_at", "document", "status"), request
            )
            return paginator.get_cursor_response([with_actions(r, actions) for r in rows])
        rows = paginator.paginate_by_cursor(queryset.values(*BOOKING_COLUMNS), request)
        items = selectors.booking_items_rows(
            booking_ids=[row["id"] for row in rows], fields=ITEM_COLUMNS
        )
        return paginator.get_cursor_response(
            [
                {
                    **render_booking(row, items[row["id"]], kind=kind),
                    "actions": actions(row["status"]),
                }
                for row in rows
            ]
        )

    def retrieve(self, request: Request, reference: str) -> Response:
        return Response(self._shown(self._booking()))

    def create(self, request: Request) -> Response:
        data = self._valid(BookingInputSerializer, request.data)
        booking = services.booking_create(actor=self.actor, **data)
        return self._render(booking, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, reference: str) -> Response:
        booking = self._booking()
        data = self._valid(BookingUpdateSerializer, request.data, partial=True)
        booking = services.booking_update(booking=booking, actor=self.actor, **data)
        return self._render(booking)

    def _valid(self, serializer_class: type[drf.Serializer], data: Any, **kwargs: Any) -> Any:
        context = {"kind": self.kind, "actor": self.actor}
        serializer = serializer_class(data=data, context=context, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(
        summary="Submit a draft for approval (draft -> pending_approval)",
        request=None,
        responses={200: BookingSchema, **_errors(403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, reference: str) -> Response:
        booking = services.booking_submit(booking=self._booking(), actor=self.actor)
        return self._render(booking)

    @extend_schema(
        summary="Approve (pending_approval -> approved); staff with approve permission",
        request=None,
        responses={200: BookingSchema, **_errors(403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, reference: str) -> Response:
        booking = services.booking_approve(booking=self._booking(), actor=self.actor)
        return self._render(booking)

    @extend_schema(
        summary="Cancel with a reason",
        request=ReasonSerializer,
        responses={200: BookingSchema, **_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, reference: str) -> Response:
        booking = self._booking()
        data = self._valid(ReasonSerializer, request.data)
        booking = services.booking_cancel(booking=booking, actor=self.actor, reason=data["reason"])
        return self._render(booking)

    @extend_schema(
        summary="The booking's items",
        responses={200: ItemSchema(many=True), **_errors(403, 404)},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=ApiPagination)
    def items(self, request: Request, reference: str) -> Response:
        booking = self._booking()
        page = self.paginate_queryset(selectors.booking_items(booking=booking))
        page = page or []  # the pagination class always pages; this only satisfies typing
        for item in page:
            item.booking = booking
        serializer = ITEM_SERIALIZERS[self.kind](page, many=True)
        return self.get_paginated_response(serializer.data)

    @extend_schema(
        summary="Add an item (a vendor given assigns it at once)",
        request=ItemInputSerializer,
        responses={201: ItemSchema, **_errors(400, 403, 404, 409)},
    )
    @items.mapping.post
    def add_item(self, request: Request, reference: str) -> Response:
        booking = self._booking()
        data = self._valid(ItemInputSerializer, request.data)
        item = services.item_add(booking=booking, actor=self.actor, **data)
        item = selectors.item_get_visible(actor=self.actor, pk=item.pk)
        data = dict(ITEM_SERIALIZERS[self.kind](item).data)
        data["actions"] = item_actions(self.actor)(
            item.vendor_status, item.is_live, item.booking.status
        )
        return Response(
            data,
            status=status.HTTP_201_CREATED,
            headers={"Location": detail_url(request, "api-bookingitem-detail", item.pk)},
        )


@extend_schema_view(
    list=extend_schema(
        summary="List booking items",
        description="Staff see every item, a broker the items of its bookings, a vendor "
        "the items assigned to it.",
        responses={200: ItemSchema(many=True)},
    ),
    retrieve=extend_schema(summary="A booking item", responses={200: ItemSchema, **_errors(404)}),
    partial_update=extend_schema(
        summary="Change an item before it is confirmed",
        request=ItemUpdateSerializer,
        responses={200: ItemSchema, **_errors(400, 403, 404, 409)},
    ),
)
class BookingItemViewSet(CallerMixin, ApiViewSet):
    pagination_class = SyncPagination
    lookup_value_regex = "[0-9]{1,18}"
    permission_model = BookingItem
    filterset_class = BookingItemFilter
    ordering_fields = ["start", "end", "updated_at", "id"]
    ordering = ["start", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_permissions = {
        "assign_vendor": ["bookings.change_bookingitem"],
        "accept": ["bookings.change_bookingitem"],
        "decline": ["bookings.change_bookingitem"],
        "confirm": ["bookings.change_bookingitem"],
        "cancel": ["bookings.change_bookingitem"],
    }

    def get_queryset(self) -> QuerySet[BookingItem]:
        return selectors.items_visible(actor=self.actor)

    def get_serializer_class(self) -> type[drf.BaseSerializer]:
        return ITEM_SERIALIZERS[self.kind]

    def _item(self) -> BookingItem:
        return selectors.item_get_visible(actor=self.actor, pk=self.kwargs["pk"])

    def _render(self, item: BookingItem) -> Response:
        item = selectors.item_get_visible(actor=self.actor, pk=item.pk)
        return Response(self._shown(item))

    def _shown(self, item: BookingItem) -> dict[str, Any]:
        data = dict(ITEM_SERIALIZERS[self.kind](item).data)
        data["actions"] = item_actions(self.actor)(
            item.vendor_status, item.is_live, item.booking.status
        )
        return data

    def _valid(self, serializer_class: type[drf.Serializer], data: Any, **kwargs: Any) -> Any:
        context = {"kind": self.kind, "actor": self.actor}
        serializer = serializer_class(data=data, context=context, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def list(self, request: Request) -> Response:
        kind = self.kind
        queryset = self.filter_queryset(self.get_queryset())
        # The booking's reference and status by a subquery per row shown, not a join: a
        # deep page then selects its ids without joining every skipped item to its booking.
        booking = Booking.objects.filter(pk=OuterRef("booking_id"))
        rows = queryset.annotate(
            booking_ref=Subquery(booking.values("reference")),
            booking_state=Subquery(booking.values("status")),
        ).values(*ITEM_COLUMNS, "booking_ref", "booking_state")
        paginator: SyncPagination = self.paginator  # type: ignore[assignment]
        cursor_mode = paginator.cursor_mode(request)
        if cursor_mode:
            page = paginator.paginate_by_cursor(rows, request)
        else:
            page = self.paginate_queryset(rows) or []
        actions = item_actions(self.actor)
        results = [
            {
                **render_item(row, booking_reference=row["booking_ref"], kind=kind),
                "actions": actions(
                    row["vendor_status"], row["cancelled_at"] is None, row["booking_state"]
                ),
            }
            for row in page
        ]
        if cursor_mode:
            return paginator.get_cursor_response(results)
        return self.get_paginated_response(results)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self._shown(self._item()))

    def partial_update(self, request: Request, pk: str) -> Response:
        item = self._item()
        data = self._valid(ItemUpdateSerializer, request.data, partial=True, instance=item)
        return self._render(services.item_update(item=item, actor=self.actor, **data))

    @extend_schema(
        summary="Assign (or reassign) a vendor; staff only",
        request=AssignVendorSerializer,
        responses={200: ItemSchema, **_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="assign-vendor")
    def assign_vendor(self, request: Request, pk: str) -> Response:
        item = self._item()
        data = self._valid(AssignVendorSerializer, request.data)
        return self._render(
            services.item_assign_vendor(item=item, vendor=data["vendor"], actor=self.actor)
        )

    @extend_schema(
        summary="Accept (pending -> accepted); the assigned vendor or staff",
        request=None,
        responses={200: ItemSchema, **_errors(403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        return self._render(services.item_accept(item=self._item(), actor=self.actor))

    @extend_schema(
        summary="Decline with a reason (pending -> declined)",
        request=ReasonSerializer,
        responses={200: ItemSchema, **_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str) -> Response:
        item = self._item()
        data = self._valid(ReasonSerializer, request.data)
        return self._render(
            services.item_decline(item=item, actor=self.actor, reason=data["reason"])
        )

    @extend_schema(
        summary="Confirm with the vendor's reference (accepted -> confirmed)",
        request=ConfirmSerializer,
        responses={200: ItemSchema, **_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        item = self._item()
        data = self._valid(ConfirmSerializer, request.data)
        return self._render(
            services.item_confirm(
                item=item, actor=self.actor, vendor_reference=data["vendor_reference"]
            )
        )

    @extend_schema(
        summary="Cancel one item (staff); its vendor is told it is withdrawn",
        request=ReasonSerializer,
        responses={200: ItemSchema, **_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        item = self._item()
        data = self._valid(ReasonSerializer, request.data)
        return self._render(
            services.item_cancel(item=item, actor=self.actor, reason=data["reason"])
        )

"""``/api/v1/events/`` (the feed) and ``/api/v1/webhooks/`` (endpoints and their log).

Thin: the caller's audience (staff, or its broker or vendor) scopes every read;
another partner's endpoint or delivery is a 404. Writes go through ``events.services``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import idempotency
from core.api.pagination import ApiPagination
from core.api.schema import ERRORS, ErrorSerializer
from core.api.viewsets import ApiViewMixin, ApiViewSet
from events import feed, registry, services
from events.models import Audience, Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from events.serializers import (
    DeliverySerializer,
    EventSerializer,
    FeedPageSerializer,
    WebhookCreatedSerializer,
    WebhookInputSerializer,
    WebhookSerializer,
    WebhookUpdateSerializer,
)

DEFAULT_LIMIT = 100


class CursorGone(APIException):
    status_code = status.HTTP_410_GONE
    default_code = "cursor_expired"


def audience_of(actor: Any) -> tuple[str, int | None]:
    if actor.vendor is not None:
        return Audience.VENDOR, actor.vendor.pk
    if actor.broker is not None:
        return Audience.BROKER, actor.broker.pk
    return Audience.STAFF, None


class EventFeedView(ApiViewMixin, APIView):
    """Not a viewset: the feed is one page object, not a list of rows."""

    permission_model = Event
    pagination_class = None
    filter_backends: list[Any] = []
    extra_query_params = {"after", "types", "limit"}

    @extend_schema(
        operation_id="events_feed",
        summary="The caller's events, in commit order",
        description=(
            "Every change to the caller's bookings, items and offers, oldest first, in the "
            "order the changes were committed. Start without `after`; each page gives a "
            "`cursor` to pass as `after` for the next. No event is skipped or repeated "
            "between pages, even while new ones commit. Events are kept "
            "`EVENTS_RETENTION_DAYS` (90 by default): a cursor older than that is a 410 "
            "`cursor_expired` (read the current state from the lists, then follow the feed "
            "from the `cursor` the error gives). An event shows here once every change "
            "begun before it has committed (usually within milliseconds)."
        ),
        parameters=[
            OpenApiParameter(
                "after", str, description="The `cursor` of the previous page (opaque)."
            ),
            OpenApiParameter(
                "types",
                str,
                description="Only these event types, comma-separated: "
                + ", ".join(f"`{t}`" for t in registry.event_types()),
            ),
            OpenApiParameter(
                "limit",
                int,
                description=f"Events per page, 1 to {feed.MAX_PAGE} (default {DEFAULT_LIMIT}).",
            ),
        ],
        responses={
            200: FeedPageSerializer,
            400: ERRORS[400],
            410: OpenApiResponse(
                ErrorSerializer,
                description="`cursor_expired`: the cursor is older than the "
                "events kept; the message gives the cursor to resume from.",
            ),
        },
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        errors: dict[str, list[str]] = {}
        after: feed.Cursor | None = None
        if params.get("after"):
            try:
                after = feed.Cursor.decode(params["after"])
            except feed.BadCursor as exc:
                errors["after"] = [str(exc)]
        types = [t.strip() for value in params.getlist("types") for t in value.split(",")]
        types = [t for t in types if t]
        unknown = sorted(set(types) - set(registry.event_types()))
        if unknown:
            errors["types"] = [f"Unknown event types: {', '.join(unknown)}."]
        limit = DEFAULT_LIMIT
        if params.get("limit") not in (None, ""):
            raw = params["limit"]
            if not raw.isdigit() or not 1 <= int(raw) <= feed.MAX_PAGE:
                errors["limit"] = [f"A whole number from 1 to {feed.MAX_PAGE}."]
            else:
                limit = int(raw)
        if errors:
            raise ValidationError(errors)
        audience, party_id = audience_of(self.actor)
        try:
            page = feed.feed_page(
                audience=audience, party_id=party_id, after=after, types=types, limit=limit
            )
        except feed.CursorExpired as exc:
            kept = exc.horizon.oldest_kept_at
            since = f" (the oldest kept occurred at {kept:%Y-%m-%d %H:%M} UTC)" if kept else ""
            raise CursorGone(
                "The events after this cursor are no longer kept: events are kept "
                f"{_retention_days()} days{since}. Read the current state from the lists "
                "(bookings, booking-items and offers, with ?cursor=), then follow the feed "
                f"with after={feed.Cursor(exc.horizon.position).encode()}."
            ) from exc
        results = [
            document
            for event in page.events
            if (document := feed.event_document(event, audience=audience, party_id=party_id))
        ]
        cursor = page.cursor.encode()
        query = {"after": cursor, "limit": limit}
        if types:
            query["types"] = ",".join(types)
        next_url = request.build_absolute_uri(f"{request.path}?{urlencode(query)}")
        return Response(
            {"results": results, "cursor": cursor, "next": next_url, "has_more": page.has_more}
        )


class EventDetailView(ApiViewMixin, APIView):
    """One event by its id (as in ``Webhook-Event-Id``), as the caller sees it."""

    permission_model = Event
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(
        operation_id="events_retrieve",
        summary="One event by its id",
        description="The event a webhook carried, fetched again: another caller's event "
        "is a 404, like one that does not exist.",
        responses={200: EventSerializer},
    )
    def get(self, request: Request, event_id: str) -> Response:
        audience, party_id = audience_of(self.actor)
        visible = feed.events_visible(audience=audience, party_id=party_id)
        event = get_object_or_404(visible, id=event_id)
        document = feed.event_document(event, audience=audience, party_id=party_id)
        if document is None:
            raise Http404
        return Response(document)


@extend_schema_view(
    list=extend_schema(
        summary="The caller's webhook endpoints",
        description="A broker's or vendor's key sees its own; staff see every endpoint.",
    ),
    retrieve=extend_schema(summary="A webhook endpoint"),
    create=extend_schema(
        summary="Register a webhook endpoint (the signing secret is shown once)",
        request=WebhookInputSerializer,
        responses={201: WebhookCreatedSerializer},
    ),
    partial_update=extend_schema(
        summary="Change an endpoint; `active: true` turns a disabled one on again",
        request=WebhookUpdateSerializer,
        responses={200: WebhookSerializer},
    ),
)
class WebhookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = WebhookSerializer
    permission_model = WebhookEndpoint
    lookup_value_regex = "[0-9]{1,18}"
    ordering_fields = ("created_at", "id")
    ordering = ("-created_at", "-id")
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_permissions = {
        "deliveries": ["events.view_webhookdelivery"],
        "redeliver": ["events.change_webhookdelivery"],
    }

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        audience, party_id = audience_of(self.actor)
        if audience == Audience.BROKER:
            return WebhookEndpoint.objects.filter(broker_id=party_id)
        if audience == Audience.VENDOR:
            return WebhookEndpoint.objects.filter(vendor_id=party_id)
        return WebhookEndpoint.objects.all()

    def _endpoint(self) -> WebhookEndpoint:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def create(self, request: Request) -> Response:
        data = _valid(WebhookInputSerializer, request.data)
        endpoint, secret = services.webhook_register(actor=self.actor, **data)
        shown = WebhookCreatedSerializer(endpoint).data
        response = Response({**shown, "secret": secret}, status=status.HTTP_201_CREATED)
        # An Idempotency-Key replay gives the same answer without the secret: the
        # stored copy of this response must not hold it readable.
        response.replay_data = {**shown, "secret": None}  # type: ignore[attr-defined]
        return response

    def partial_update(self, request: Request, pk: str) -> Response:
        endpoint = self._endpoint()
        data = _valid(WebhookUpdateSerializer, request.data, partial=True)
        if "active" in data:
            data["is_active"] = data.pop("active")
        endpoint = services.webhook_update(endpoint=endpoint, actor=self.actor, **data)
        return Response(WebhookSerializer(endpoint).data)

    def finalize_response(
        self, request: Request, response: HttpResponse, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        replay_data = getattr(response, "replay_data", None)
        if replay_data is not None and self._idempotency_record is not None:
            record, self._idempotency_record = self._idempotency_record, None
            stored = super().finalize_response(
                request, Response(replay_data, status=response.status_code), *args, **kwargs
            )
            try:
                idempotency.complete(record, stored)
            except BaseException:
                idempotency.release(record)
                raise
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        summary="The endpoint's delivery log, newest first",
        description="Each delivery is one event to this endpoint, with every attempt: "
        "outcome, HTTP status, response time and the first 2000 characters of the body.",
        responses={200: DeliverySerializer(many=True)},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=ApiPagination, filter_backends=[])
    def deliveries(self, request: Request, pk: str) -> Response:
        endpoint = self._endpoint()
        queryset = (
            endpoint.deliveries.select_related("event")
            .prefetch_related(Prefetch("log", queryset=WebhookAttempt.objects.order_by("number")))
            .order_by("-created_at", "-id")
        )
        page = self.paginate_queryset(queryset) or []
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="Send a delivery again, with the same event id",
        request=None,
        responses={202: DeliverySerializer},
        parameters=[OpenApiParameter("delivery_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]{1,18})/redeliver",
    )
    def redeliver(self, request: Request, pk: str, delivery_id: str) -> Response:
        endpoint = self._endpoint()
        delivery = get_object_or_404(WebhookDelivery, endpoint=endpoint, pk=delivery_id)
        delivery = services.delivery_redeliver(delivery=delivery, actor=self.actor)
        delivery = WebhookDelivery.objects.select_related("event").get(pk=delivery.pk)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


def _valid(serializer_class: type, data: Any, **kwargs: Any) -> Any:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _retention_days() -> str:
    from events import conf

    keep_for = conf.retention()
    return f"{keep_for.total_seconds() / 86400:g}" if keep_for else "for ever"

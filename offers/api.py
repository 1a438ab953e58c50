"""``/api/v1/offers/``: staff prepare and send offers; a broker accepts or declines its own.

Thin: fetch through ``offers.selectors`` (another broker's offer, or a draft, is a
404 to a broker), call ``offers.services`` with the caller's Actor, render.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers as drf
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from bookings.api import CallerMixin, _errors
from bookings.serializers import STAFF
from core.api.pagination import SyncPagination
from core.api.viewsets import ApiViewSet
from offers import selectors, services
from offers.filters import OfferFilter
from offers.models import Offer, OfferLine
from offers.serializers import (
    OFFER_SERIALIZERS,
    AcceptSerializer,
    OfferInputSerializer,
    OfferSchema,
    OfferSerializer,
    OfferUpdateSerializer,
    OptionalReasonSerializer,
)
from offers.states import OFFER


@extend_schema_view(
    list=extend_schema(
        summary="List offers",
        description="Staff see every offer; a broker its own, once sent.",
        responses={200: OfferSchema(many=True)},
    ),
    retrieve=extend_schema(summary="An offer", responses={200: OfferSchema, **_errors(404)}),
    create=extend_schema(
        summary="Create a draft offer (with lines); staff only",
        request=OfferInputSerializer,
        responses={201: OfferSchema, **_errors(400, 403)},
    ),
    partial_update=extend_schema(
        summary="Change a draft offer; staff only",
        request=OfferUpdateSerializer,
        responses={200: OfferSchema, **_errors(400, 403, 404, 409)},
    ),
)
class OfferViewSet(CallerMixin, ApiViewSet):
    pagination_class = SyncPagination
    lookup_field = "reference"
    lookup_value_regex = "[A-Za-z0-9-]{1,20}"
    permission_model = Offer
    filterset_class = OfferFilter
    ordering_fields = ["created_at", "updated_at", "valid_until", "reference", "status"]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_permissions = {
        "send": ["offers.change_offer"],
        "accept": ["offers.change_offer"],
        "decline": ["offers.change_offer"],
        "withdraw": ["offers.change_offer"],
    }

    def get_queryset(self) -> QuerySet[Offer]:
        return (
            selectors.offers_visible(actor=self.actor)
            .select_related("broker", "booking")
            .prefetch_related(Prefetch("lines", queryset=OfferLine.objects.order_by("start", "id")))
        )

    def get_serializer_class(self) -> type[drf.BaseSerializer]:
        return OFFER_SERIALIZERS.get(self.kind, OfferSerializer)

    def _offer(self) -> Offer:
        return selectors.offer_get_visible(actor=self.actor, reference=self.kwargs["reference"])

    def _render(self, offer: Offer, status_code: int = status.HTTP_200_OK) -> Response:
        offer = selectors.offer_get_visible(actor=self.actor, reference=offer.reference)
        return Response(self._shown(offer), status=status_code)

    def _shown(self, offer: Offer, kind: str | None = None) -> dict[str, Any]:
        data = dict(OFFER_SERIALIZERS[kind or self.kind](offer).data)
        data["actions"] = OFFER.allowed(offer, self.actor, contents=False)
        return data

    def _valid(self, serializer_class: type[drf.Serializer], data: Any, **kwargs: Any) -> Any:
        serializer = serializer_class(data=data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        paginator: SyncPagination = self.paginator  # type: ignore[assignment]
        if paginator.cursor_mode(request):
            rows = paginator.paginate_by_cursor(queryset, request)
            return paginator.get_cursor_response([self._shown(offer) for offer in rows])
        page = self.paginate_queryset(queryset) or []
        return self.get_paginated_response([self._shown(offer) for offer in page])

    def retrieve(self, request: Request, reference: str) -> Response:
        offer = self._offer()  # first: a vendor gets its 404 here
        return Response(self._shown(offer))

    def create(self, request: Request) -> Response:
        data = self._valid(OfferInputSerializer, request.data)
        offer = services.offer_create(actor=self.actor, **data)
        # Staff made it, so staff may read it; a partner never gets this far.
        offer = selectors.offer_get_visible(actor=self.actor, reference=offer.reference)
        return Response(self._shown(offer, STAFF), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, reference: str) -> Response:
        offer = self._offer()
        data = self._valid(OfferUpdateSerializer, request.data, partial=True)
        return self._render(services.offer_update(offer=offer, actor=self.actor, **data))

    @extend_schema(
        summary="Send a draft to the broker or customer (draft -> sent); staff only",
        request=None,
        responses={200: OfferSchema, **_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def send(self, request: Request, reference: str) -> Response:
        return self._render(services.offer_send(offer=self._offer(), actor=self.actor))

    @extend_schema(
        summary="Accept (sent -> accepted) for a lead traveller: creates the booking, "
        "given as `booking`",
        request=AcceptSerializer,
        responses={200: OfferSchema, **_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, reference: str) -> Response:
        offer = self._offer()
        data = self._valid(AcceptSerializer, request.data)
        return self._render(services.offer_accept(offer=offer, actor=self.actor, **data))

    @extend_schema(
        summary="Decline (sent -> declined), optionally with a reason",
        request=OptionalReasonSerializer,
        responses={200: OfferSchema, **_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, reference: str) -> Response:
        offer = self._offer()
        data = self._valid(OptionalReasonSerializer, request.data)
        return self._render(
            services.offer_decline(offer=offer, actor=self.actor, reason=data.get("reason", ""))
        )

    @extend_schema(
        summary="Withdraw a draft or sent offer; staff only",
        request=OptionalReasonSerializer,
        responses={200: OfferSchema, **_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, reference: str) -> Response:
        offer = self._offer()
        data = self._valid(OptionalReasonSerializer, request.data)
        return self._render(
            services.offer_withdraw(offer=offer, actor=self.actor, reason=data.get("reason", ""))
        )

"""The base every API viewset subclasses: auth, permissions, paging, filters, JSON,
rate limit and ``Idempotency-Key``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from rest_framework import filters, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import idempotency
from core.api.actors import api_actor, caller_broker, caller_vendor, is_staff_caller
from core.api.filters import QuickFilterBackend
from core.api.pagination import ApiPagination
from core.api.parsers import BoundedJSONParser
from core.api.permissions import IsApiCaller, StaffModelPermissions
from core.api.renderers import JsonOnlyNegotiation, OrjsonRenderer
from core.api.throttling import ApiRateThrottle
from core.domain import Actor

if TYPE_CHECKING:
    from partners.models import Broker, Vendor


class ApiViewMixin:
    """What every API view shares; ``ApiViewSet`` is the usual way in."""

    # Authentication: REST_FRAMEWORK's DEFAULT_AUTHENTICATION_CLASSES (partners.api_auth).
    permission_classes = [IsApiCaller, StaffModelPermissions]
    renderer_classes = [OrjsonRenderer]
    content_negotiation_class = JsonOnlyNegotiation
    parser_classes = [BoundedJSONParser]
    throttle_classes = [ApiRateThrottle]
    pagination_class = ApiPagination
    filter_backends = [QuickFilterBackend, filters.OrderingFilter]
    # {"approve": ["bookings.approve_booking"]}: permissions a staff caller needs for
    # a custom action (default: the model's view permission; the service checks more).
    action_permissions: dict[str, list[str]] = {}

    _idempotency_record: idempotency.IdempotencyRecord | None = None

    # --- who is calling -------------------------------------------------------------

    @property
    def actor(self) -> Actor:
        """The caller (``IsApiCaller`` has let only known callers through).

        While drf-spectacular builds the schema (``swagger_fake_view``) there is no
        caller: a nobody (no permissions, no partner) stands in so ``get_queryset``
        still gives the model.
        """
        if getattr(self, "swagger_fake_view", False):
            return Actor(user=AnonymousUser(), via="api", label="schema generation")
        actor = api_actor(self.request)  # type: ignore[attr-defined]
        if actor is None:
            raise PermissionDenied("This account cannot use the API.")
        return actor

    @property
    def caller_vendor(self) -> Vendor | None:
        return caller_vendor(self.request)  # type: ignore[attr-defined]

    @property
    def caller_broker(self) -> Broker | None:
        return caller_broker(self.request)  # type: ignore[attr-defined]

    @property
    def is_staff_caller(self) -> bool:
        return is_staff_caller(self.request)  # type: ignore[attr-defined]

    # --- Idempotency-Key --------------------------------------------------------------

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        outcome = idempotency.claim(request)
        if isinstance(outcome, idempotency.IdempotencyRecord):
            self._idempotency_record = outcome
        elif outcome is not None:
            raise _ShortCircuit(outcome)

    def handle_exception(self, exc: Exception) -> HttpResponse:
        if isinstance(exc, _ShortCircuit):
            return exc.response
        try:
            return super().handle_exception(exc)  # type: ignore[misc]
        except BaseException:
            self._release_idempotency()
            raise

    def finalize_response(
        self, request: Request, response: HttpResponse, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        record, self._idempotency_record = self._idempotency_record, None
        if record is not None:
            try:
                idempotency.complete(record, response)
            except BaseException:
                idempotency.release(record)
                raise
        return response

    def _release_idempotency(self) -> None:
        record, self._idempotency_record = self._idempotency_record, None
        if record is not None:
            idempotency.release(record)


class _ShortCircuit(Exception):
    """Carries the response to an idempotent replay (or its refusal) out of ``initial``."""

    def __init__(self, response: Response | HttpResponse) -> None:
        super().__init__("idempotency short circuit")
        self.response = response


class ApiViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """Subclass this (with the mixins you need) for every API resource."""

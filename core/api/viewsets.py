"""The base every API viewset subclasses: auth, permissions, paging, filters, JSON,
rate limit and ``Idempotency-Key``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.urls import reverse
from rest_framework import filters, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
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


def detail_url(request: Request, route: str, value: Any) -> str:
    """The absolute URL of one object's API route (``api-booking-detail``, a reference)."""
    return request.build_absolute_uri(reverse(route, args=[value]))


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
    def caller_vendor(self) -> Any:
        return caller_vendor(self.request)  # type: ignore[attr-defined]

    @property
    def caller_broker(self) -> Any:
        return caller_broker(self.request)  # type: ignore[attr-defined]

    @property
    def is_staff_caller(self) -> bool:
        return is_staff_caller(self.request)  # type: ignore[attr-defined]

    # --- what a 201 points at -----------------------------------------------------------

    def created_location(self, data: Any) -> str | None:
        """The URL of what a ``create`` made: this resource's detail route. Other actions
        that answer 201 set ``Location`` themselves (``detail_url``)."""
        if getattr(self, "action", None) != "create" or not isinstance(data, dict):
            return None
        lookup = getattr(self, "lookup_field", "pk")
        value = data.get("id" if lookup == "pk" else lookup)
        basename = getattr(self, "basename", None)
        if value is None or not basename:
            return None
        return detail_url(self.request, f"{basename}-detail", value)  # type: ignore[attr-defined]

    # --- query parameters ---------------------------------------------------------------

    # Query parameters read besides paging, filters and ordering: a set for every action,
    # or {action: set} per action.
    extra_query_params: set[str] | dict[str, set[str]] = set()

    def accepted_query_params(self) -> set[str]:
        """What this request's action reads from the query string."""
        action = getattr(self, "action", None) or ""
        extra = self.extra_query_params
        accepted = set(extra.get(action, set()) if isinstance(extra, dict) else extra)
        handler = getattr(self, action, None)
        paged = action == "list" or "pagination_class" in getattr(handler, "kwargs", {})
        if not paged:
            return accepted
        paginator = getattr(self, "paginator", None)
        if paginator is not None:
            reads = getattr(paginator, "query_params", None)
            accepted |= reads() if reads else {"page", "page_size"}
        for backend in getattr(self, "filter_backends", ()):
            if issubclass(backend, filters.OrderingFilter):
                accepted.add(backend.ordering_param)
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None:
            accepted |= self._filter_params(filterset_class)
        return accepted

    @staticmethod
    def _filter_params(filterset_class: Any) -> set[str]:
        names: set[str] = set()
        for name, spec in filterset_class.base_filters.items():
            names.add(name)
            suffixes = getattr(getattr(spec.field_class, "widget", None), "suffixes", None)
            for suffix in suffixes or ():
                names.add(f"{name}_{suffix}" if suffix else name)
        return names

    def check_query_params(self, request: Request) -> None:
        """An unknown query parameter is a 400 that names the accepted ones: a typo in a
        filter must not silently return everything."""
        accepted = self.accepted_query_params()
        unknown = sorted(set(request.query_params) - accepted)
        if not unknown:
            return
        known = ", ".join(sorted(accepted)) if accepted else "none"
        message = f"Not a query parameter here. Accepted: {known}."
        raise ValidationError({name: [message] for name in unknown})

    # --- Idempotency-Key --------------------------------------------------------------

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        self.check_query_params(request)
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
        if response.status_code == 201 and not response.has_header("Location"):
            location = self.created_location(getattr(response, "data", None))
            if location:
                response["Location"] = location
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

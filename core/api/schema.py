"""OpenAPI: the Api-Key scheme, the error responses and the Idempotency-Key header."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from core.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from core.api.idempotency import METHODS as IDEMPOTENT_METHODS
from core.api.idempotency import REPLAY_HEADER


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "partners.api_auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; make a key with `manage.py create_api_key`.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "partners.api_auth.CsrfSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "Portal session; unsafe methods need the X-CSRFToken header.",
        }


ErrorDetail = inline_serializer(
    name="ErrorDetail",
    fields={"detail": serializers.CharField(), "code": serializers.CharField()},
)
ValidationErrors = inline_serializer(
    name="ValidationErrors",
    fields={
        "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False)
    },
)


def _error(description: str, serializer: Any = ErrorDetail) -> OpenApiResponse:
    return OpenApiResponse(response=serializer, description=description)


class ApiAutoSchema(AutoSchema):
    """Adds the errors every operation may answer and, on POST and PATCH, the
    Idempotency-Key header with its 409 / 422."""

    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        params += [
            OpenApiParameter(
                "Retry-After",
                type=int,
                location=OpenApiParameter.HEADER,
                response=[429],
                description="Seconds until the rate limit lets this key in again.",
            ),
            OpenApiParameter(
                "WWW-Authenticate",
                type=str,
                location=OpenApiParameter.HEADER,
                response=[401],
                description='`Api-Key realm="api"`',
            ),
        ]
        if self.method in IDEMPOTENT_METHODS:
            params.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    type=str,
                    location=OpenApiParameter.HEADER,
                    required=False,
                    description=(
                        "Any unique string (e.g. a UUID), up to 255 characters. Sent again "
                        "with the same credentials within 24 hours, the first response "
                        "is replayed (header `Idempotent-Replayed: true`) instead of "
                        "acting again."
                    ),
                )
            )
            params.append(
                OpenApiParameter(
                    REPLAY_HEADER,
                    type=str,
                    enum=["true"],
                    location=OpenApiParameter.HEADER,
                    response=[200, 201],
                    description="Present when this is the replay of an earlier response.",
                )
            )
        return params

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        extra: dict[str, OpenApiResponse] = {
            # Query parameters (filters, ordering, page) are validated on every operation.
            "400": _error(
                "Invalid input: messages per field (`non_field_errors` for the whole), or "
                "`detail` and `code`.",
                ValidationErrors,
            ),
            "401": _error("No valid credentials (see the `WWW-Authenticate` header)."),
            "403": _error("The caller may not do this (a staff key lacking the permission)."),
            "404": _error("Not found, not the caller's, or no such page."),
            "429": _error("Rate limit reached; retry after `Retry-After` seconds."),
        }
        if self.method in IDEMPOTENT_METHODS:
            extra["409"] = _error(
                "Illegal transition (`code` says which rule), or a request with the same "
                "Idempotency-Key is still running."
            )
            extra["422"] = _error("The Idempotency-Key was used for a different request.")
        for code, response in extra.items():
            if code in responses:
                continue
            responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses


class ErrorSerializer(serializers.Serializer):
    """The API's one error shape (``core.api.errors``)."""

    detail = serializers.CharField(help_text="What went wrong, in words.")
    code = serializers.CharField(help_text="A machine-readable reason, e.g. invalid, not_found.")
    fields = serializers.DictField(
        required=False,
        child=serializers.JSONField(),
        help_text="Refused input only (400): messages per field; nested input nests.",
    )


ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input: messages per field."),
    403: OpenApiResponse(ErrorSerializer, description="The key lacks the permission."),
    404: OpenApiResponse(ErrorSerializer, description="No such object, or not the caller's."),
    409: OpenApiResponse(ErrorSerializer, description="Not allowed in the object's state."),
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: ERRORS[code] for code in codes}

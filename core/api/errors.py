"""One error shape for the whole API (DRF's ``EXCEPTION_HANDLER``).

- ``ValidationFailed`` and Django's ``ValidationError``: 400 ``{field: [message]}``
  (``non_field_errors`` when no field is named), like DRF's own validation errors;
- ``NotPermitted``: 403 ``{detail, code}``;
- any other ``DomainError`` (``InvalidTransition`` ...): 409 ``{detail, code}``;
- ``Http404`` / ``DoesNotExist``: 404 ``{detail, code}``;
- every other DRF error keeps its status and gets ``{detail, code}`` (429 keeps
  ``Retry-After``); database errors caused by input the validation let through are
  a 400 / 409 rather than a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from core.domain import DomainError, NotPermitted, ValidationFailed

logger = logging.getLogger(__name__)

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


def _django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            (NON_FIELD if field == NON_FIELD_ERRORS else field): [str(m) for m in messages]
            for field, messages in exc.message_dict.items()
        }
    return {NON_FIELD: [str(m) for m in exc.messages]}


def _detail(message: str, code: str, status_code: int, headers: Any = None) -> Response:
    return Response({"detail": message, "code": code}, status=status_code, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = _handle(exc)
    if response is not None:
        set_rollback()
    return response


def _handle(exc: Exception) -> Response | None:
    if isinstance(exc, ValidationFailed):
        return Response({exc.field or NON_FIELD: [exc.message]}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, NotPermitted):
        return _detail(exc.message, exc.code, status.HTTP_403_FORBIDDEN)
    if isinstance(exc, DomainError):
        return _detail(exc.message, exc.code, status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        return Response(_django_errors(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, (Http404, ObjectDoesNotExist)):
        return _detail("Not found.", "not_found", status.HTTP_404_NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        return _detail(
            "You do not have permission to perform this action.",
            "permission_denied",
            status.HTTP_403_FORBIDDEN,
        )
    if isinstance(exc, IntegrityError):
        logger.info("API request conflicted with existing data: %s", exc)
        return _detail("This conflicts with existing data.", "conflict", status.HTTP_409_CONFLICT)
    if isinstance(exc, OverflowError):  # SQLite's answer to an integer past 64 bits
        return _detail("A number is out of range.", "invalid", status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DataError):
        logger.info("API request carried a value the database refused: %s", exc)
        return _detail("A value is out of range or malformed.", "invalid", 400)
    if isinstance(exc, exceptions.ValidationError):
        data = exc.detail if isinstance(exc.detail, dict) else {NON_FIELD: exc.detail}
        return Response(data, status=exc.status_code)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        wait = getattr(exc, "wait", None)
        if wait is not None:
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        detail = exc.detail
        if isinstance(detail, (list, dict)):
            return Response(detail, status=exc.status_code, headers=headers)
        return _detail(
            str(detail), getattr(detail, "code", exc.default_code), exc.status_code, headers
        )
    return None

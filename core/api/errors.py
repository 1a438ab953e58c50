"""One error shape for the whole API (DRF's ``EXCEPTION_HANDLER``):

    {"detail": "what went wrong, in words", "code": "machine_readable",
     "fields": {"customer_name": ["This field is required."]}}

``fields`` is there only for input that was refused (400), with messages per field
(``non_field_errors`` when no field is named; nested input nests the same way).

- ``ValidationFailed``, Django's and DRF's ``ValidationError``: 400 with ``fields``;
- ``NotPermitted``: 403;
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


def _first_message(errors: Any) -> str:
    if isinstance(errors, dict):
        for value in errors.values():
            found = _first_message(value)
            if found:
                return found
        return ""
    if isinstance(errors, (list, tuple)):
        for value in errors:
            found = _first_message(value)
            if found:
                return found
        return ""
    return str(errors)


def _first_path(errors: Any, prefix: str = "") -> str:
    if isinstance(errors, dict):
        for key, value in errors.items():
            if _first_message(value):
                name = key if not prefix else f"{prefix}.{key}"
                return _first_path(value, name) or name
    elif isinstance(errors, (list, tuple)):
        for index, value in enumerate(errors):
            if isinstance(value, (dict, list)) and _first_message(value):
                return _first_path(value, f"{prefix}[{index}]") or prefix
    return prefix


def invalid(fields: Any, *, code: str = "invalid", status_code: int = 400) -> Response:
    """A 400 for refused input: ``detail`` names the first problem, ``fields`` all of them."""
    if not isinstance(fields, dict):
        fields = {NON_FIELD: fields if isinstance(fields, list) else [fields]}
    message = _first_message(fields) or "The request is not valid."
    path = _first_path(fields)
    if path and path != NON_FIELD:
        count = sum(1 for value in fields.values() if _first_message(value))
        more = f" (and {count - 1} more field{'s' if count > 2 else ''})" if count > 1 else ""
        detail = f"{path}: {message}{more}"
    else:
        detail = message
    return Response({"detail": detail, "code": code, "fields": fields}, status=status_code)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = _handle(exc)
    if response is not None:
        set_rollback()
    return response


def _handle(exc: Exception) -> Response | None:
    if isinstance(exc, ValidationFailed):
        return invalid({exc.field or NON_FIELD: [exc.message]}, code=exc.code)
    if isinstance(exc, NotPermitted):
        return _detail(exc.message, exc.code, status.HTTP_403_FORBIDDEN)
    if isinstance(exc, DomainError):
        return _detail(exc.message, exc.code, status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        return invalid(_django_errors(exc))
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
        code = getattr(exc, "code", None) or "invalid"
        return invalid(exc.detail, code=code, status_code=exc.status_code)
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
            response = invalid(detail, code=exc.default_code, status_code=exc.status_code)
            for name, value in headers.items():
                response[name] = value
            return response
        return _detail(
            str(detail), getattr(detail, "code", exc.default_code), exc.status_code, headers
        )
    return None

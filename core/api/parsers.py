"""The API's JSON parser, bounded: in size and in nesting.

DRF's ``JSONParser`` reads the whole stream itself, so Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` never applies to it, and Python's ``json`` recurses
once per nesting level: a body of a thousand ``[`` raised ``RecursionError``, a 500.
``RequestLimitsMiddleware`` refuses a declared ``Content-Length`` over the bound
before anything is read; this parser reads at most that much whatever the header
said, and refuses documents nested deeper than any request of ours needs.
"""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

# A booking with its items is three levels deep; nothing we accept needs more than a few.
MAX_JSON_DEPTH = 32
TOO_DEEP = f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep."


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


def too_large_message(limit: int) -> str:
    return f"The request body is larger than {limit} bytes."


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` holds containers more than ``limit`` levels deep (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.MAX_REQUEST_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(too_large_message(limit))
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if isinstance(data, dict | list) and nested_deeper_than(data, MAX_JSON_DEPTH):
            raise ParseError(TOO_DEEP)
        return data

"""``{count, next, previous, results}`` pages; ``?page_size=`` from 1 to 100.

A paging value that is not a whole number in range is a 400 naming what is accepted,
never silently replaced by a default.

``count`` is exact up to 10,000 objects; above that it is PostgreSQL's estimate, so a
list of millions is never counted row by row (``core.large_tables``).

``SyncPagination`` adds a cursor mode for clients that walk a whole list (a sync):
``?cursor=`` (empty to start) orders by ``(updated_at, id)`` and pages by keyset,
so the millionth row costs what the first does (no deep OFFSET) and a row changed
during the walk comes round again at its new place. Its pages have no ``count``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.large_tables import LargeTablePaginator

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class ApiPagination(PageNumberPagination):
    django_paginator_class = LargeTablePaginator
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def query_params(self) -> set[str]:
        """The query parameters this paginator reads."""
        return {self.page_query_param, self.page_size_query_param}

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"Give a whole number from 1 to {self.max_page_size}."
                    ]
                }
            )
        return size

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and raw not in self.last_page_strings:
            try:
                number = int(raw)
            except ValueError:
                number = 0
            if number < 1:
                raise ValidationError(
                    {self.page_query_param: ["Give a page number of 1 or more (or 'last')."]}
                )
        return super().paginate_queryset(queryset, request, view)


def _encode(updated_at: datetime, pk: int) -> str:
    micros = (updated_at - EPOCH) // MICROSECOND
    return base64.urlsafe_b64encode(f"k1.{micros}.{pk}".encode()).decode().rstrip("=")


def _decode(value: str) -> tuple[datetime, int]:
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        version, micros, pk = text.split(".")
        if version != "k1" or not micros.lstrip("-").isdigit() or not pk.isdigit():
            raise ValueError(text)
        moment = EPOCH + int(micros) * MICROSECOND
        if int(pk) >= 2**63:
            raise ValueError(text)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationError({"cursor": ["This cursor is not one the list gave out."]}) from exc
    return moment, int(pk)


def _key(row: Any) -> tuple[datetime, int]:
    if isinstance(row, dict):
        return row["updated_at"], row["id"]
    return row.updated_at, row.pk


class SyncPagination(ApiPagination):
    cursor_query_param = "cursor"

    def query_params(self) -> set[str]:
        return {*super().query_params(), self.cursor_query_param}

    def cursor_mode(self, request: Request) -> bool:
        return self.cursor_query_param in request.query_params

    def paginate_by_cursor(self, queryset: QuerySet, request: Request) -> list[Any]:
        """One keyset page of ``queryset`` (its rows must carry ``updated_at`` and ``id``)."""
        self.request = request
        value = request.query_params.get(self.cursor_query_param, "")
        queryset = queryset.order_by("updated_at", "id")
        if value:
            moment, pk = _decode(value)
            queryset = queryset.filter(Q(updated_at__gt=moment) | Q(updated_at=moment, id__gt=pk))
        size = self.get_page_size(request) or self.page_size
        rows = list(queryset[: size + 1])
        self._cursor_next = _encode(*_key(rows[size - 1])) if len(rows) > size else None
        return rows[:size]

    def get_cursor_response(self, results: Sequence[Any]) -> Response:
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        next_url = replace_query_param(url, self.cursor_query_param, self._cursor_next)
        return Response(
            {
                "next": next_url if self._cursor_next else None,
                "previous": None,
                "results": results,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paged = super().get_paginated_response_schema(schema)
        paged["required"] = [name for name in paged.get("required", []) if name != "count"]
        paged["properties"]["count"]["description"] = "Absent in cursor mode."
        return paged

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Cursor mode, for walking the whole list: send it empty to "
                "start, then follow `next`. Ordered by (`updated_at`, `id`), "
                "`page_size` rows a page, no `count`; `page` and `ordering` are ignored.",
                "schema": {"type": "string"},
            },
        ]

"""``{count, next, previous, results}`` pages; ``?page_size=`` from 1 to 100.

A paging value that is not a whole number in range is a 400 naming what is accepted,
never silently replaced by a default.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class ApiPagination(PageNumberPagination):
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

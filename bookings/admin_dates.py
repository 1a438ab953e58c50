"""A list column with each row's service dates (first start to last end of its
services), for the bookings' and the offers' changelists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import timezone


def date_span(first: datetime | None, last: datetime | None) -> str:
    """``3–7 Dec 2026``, ``28 Nov – 2 Dec 2026``, ``30 Dec 2026 – 2 Jan 2027``."""
    if first is None or last is None:
        return "—"
    a, b = timezone.localtime(first), timezone.localtime(last)
    if a.date() == b.date():
        span = f"{a.day} {a:%b %Y}"
    elif (a.year, a.month) == (b.year, b.month):
        span = f"{a.day}–{b.day} {b:%b %Y}"
    elif a.year == b.year:
        span = f"{a.day} {a:%b} – {b.day} {b:%b %Y}"
    else:
        span = f"{a.day} {a:%b %Y} – {b.day} {b:%b %Y}"
    # A narrow column breaks the span at its dash only, never inside a date.
    return span.replace(" ", "\u00a0").replace("\u00a0–\u00a0", "\u00a0– ")


class ServiceDatesMixin:
    """Annotates ``first_start`` and ``last_end`` of the rows ``service_rows()`` gives
    (a child model with a foreign key ``service_parent`` to this admin's model).

    Correlated subqueries, so only the rows of the page are computed; the column is
    not sortable, since ordering by it would compute it for every row of the table."""

    service_parent = ""

    def service_rows(self) -> QuerySet:
        raise NotImplementedError

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        rows = self.service_rows().filter(**{self.service_parent: OuterRef("pk")}).order_by()
        return (
            super()  # type: ignore[misc]
            .get_queryset(request)
            .annotate(
                first_start=Subquery(rows.order_by("start").values("start")[:1]),
                last_end=Subquery(rows.order_by("-end").values("end")[:1]),
            )
        )

    @admin.display(description="service dates")
    def service_dates(self, obj: Any) -> str:
        return date_span(getattr(obj, "first_start", None), getattr(obj, "last_end", None))

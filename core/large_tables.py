"""Lists over tables of millions of rows: counts, deep pages, search and date drill-down
whose cost follows the page, not the table.

What Django's admin and DRF do by default, and what each costs at a million bookings:

- ``COUNT(*)`` of the filtered list on every page: a scan of everything that matches.
  Here a count stops at ``COUNT_LIMIT`` rows; above that, PostgreSQL's planner
  estimate is shown (as large admin sites do), exact below it.
- ``OFFSET n``: the database builds every skipped row (and its annotations) to throw it
  away. Here a deep page first takes the page's ids from the ordering index (an
  index-only scan), then reads and annotates those rows only.
- search as ``ILIKE '%x%'`` ORed over columns of several joined tables: no index can
  answer an OR across tables, and the join repeats a row per matching child. Here each
  searched column is its own ``pk IN (...)`` subquery, all united, so each can use its
  own (trigram) index and a row is never repeated.
- date drill-down as ``SELECT DISTINCT date_trunc(...)`` over the whole list, and filter
  choices as ``SELECT DISTINCT column``: a scan each. Here one ``EXISTS`` probe per
  year, month or day, and a skip scan over the column's index.

Everything here runs on SQLite too (the tests), where the tables are small.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cached_property
from typing import Any

from django.contrib import admin
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import Max, Min, Model, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import smart_split, unescape_string_literal

# Counting stops here: below it counts are exact, above it the planner's estimate.
COUNT_LIMIT = 10_000
# From this offset on, a page takes its ids from the index first (see ``page_rows``).
DEEP_OFFSET = 500


def _vendor(queryset: QuerySet) -> str:
    return connections[queryset.db].vendor


def planner_estimate(queryset: QuerySet) -> int | None:
    """PostgreSQL's estimate of the rows of ``queryset`` (EXPLAIN, nothing run)."""
    if _vendor(queryset) != "postgresql":
        return None
    plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def bounded_count(queryset: QuerySet, limit: int = COUNT_LIMIT) -> tuple[int, bool]:
    """(count, exact): exact up to ``limit`` rows, reading at most ``limit + 1`` of them;
    beyond, the planner's estimate (never less than ``limit + 1``)."""
    counted = queryset.order_by().values("pk")[: limit + 1].count()
    if counted <= limit:
        return counted, True
    estimate = planner_estimate(queryset)
    if estimate is None:
        return queryset.count(), True
    return max(estimate, limit + 1), False


def page_rows(queryset: QuerySet, bottom: int, top: int) -> list[Any]:
    """The rows ``bottom:top`` of ``queryset`` in its order. Deep pages take the ids
    first, so the rows skipped are index entries, not rows built with annotations."""
    if bottom < DEEP_OFFSET:
        return list(queryset[bottom:top])
    ids = list(queryset.values_list("pk", flat=True)[bottom:top])
    if not ids:
        return []
    by_id = {row.pk: row for row in queryset.order_by().filter(pk__in=ids)}
    return [by_id[pk] for pk in ids if pk in by_id]


class LargeTablePaginator(Paginator):
    """A paginator whose count is bounded (``bounded_count``) and whose deep pages do
    not build the rows they skip (``page_rows``). ``count_is_exact`` says which."""

    count_is_exact = True

    @cached_property
    def count(self) -> int:
        if not isinstance(self.object_list, QuerySet):
            return len(self.object_list)
        count, self.count_is_exact = bounded_count(self.object_list)
        return count

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if isinstance(self.object_list, QuerySet):
            rows = page_rows(self.object_list, bottom, top)
        else:
            rows = list(self.object_list[bottom:top])
        if not rows and number > 1 and not self.count_is_exact:
            # The estimate promised more pages than there are.
            raise EmptyPage("That page contains no results")
        return self._get_page(rows, number, self)

    def validate_number(self, number: Any) -> int:
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger("That page number is not an integer") from exc
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        if number > self.num_pages and not (number == 1 and self.allow_empty_first_page):
            raise EmptyPage("That page contains no results")
        return number


# --- search -------------------------------------------------------------------------


def _lookup(field: str) -> str:
    if field.startswith("^"):
        return field[1:] + "__istartswith"
    if field.startswith("="):
        return field[1:] + "__iexact"
    return field + "__icontains"


def search_filter(model: type[Model], search_fields: Any, term: str) -> Q:
    """Every word of ``term`` found in one of ``search_fields`` (Django's admin
    semantics), each field as its own ``pk IN (...)`` subquery, united per word."""
    lookups = [_lookup(str(field)) for field in search_fields]
    manager = model._default_manager
    condition = Q()
    for bit in smart_split(term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        queries = [manager.filter(**{lookup: bit}).order_by().values("pk") for lookup in lookups]
        first, *rest = queries
        condition &= Q(pk__in=first.union(*rest) if rest else first)
    return condition


# --- date drill-down ------------------------------------------------------------------


def _probe_bounds(kind: str, years: range, year: int | None, month: int | None) -> list[date]:
    if kind == "year":
        return [date(y, 1, 1) for y in years]
    if kind == "month" and year is not None:
        return [date(year, m, 1) for m in range(1, 13)]
    if kind == "day" and year is not None and month is not None:
        days = []
        for d in range(1, 32):
            try:
                days.append(date(year, month, d))
            except ValueError:
                break
        return days
    return []


def _next(kind: str, start: date) -> date:
    if kind == "year":
        return date(start.year + 1, 1, 1)
    if kind == "month":
        return date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return date.fromordinal(start.toordinal() + 1)


class ProbedDatesMixin:
    """``dates()`` / ``datetimes()`` for the admin's date drill-down, answered by one
    query of ``EXISTS`` probes (one per year, month or day in the range) instead of a
    ``DISTINCT`` over every row of the list. Mixed into the changelist's queryset."""

    def _probed(self, field_name: str, kind: str, aware: bool) -> list[Any]:
        qs: QuerySet = self  # type: ignore[assignment]
        if kind not in ("year", "month", "day"):
            return list(getattr(super(), "datetimes" if aware else "dates")(field_name, kind))
        bounds = qs.aggregate(first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None:
            return []
        first, last = bounds["first"], bounds["last"]
        if aware:
            first, last = timezone.localtime(first), timezone.localtime(last)
        # Months and days are asked once the drill-down has filtered the list to one
        # year (and month), so the first row's year and month are the list's.
        starts = _probe_bounds(kind, range(first.year, last.year + 1), first.year, first.month)

        def edge(d: date) -> Any:
            if not aware:
                return d
            return datetime(d.year, d.month, d.day, tzinfo=timezone.get_current_timezone())

        probes = [
            qs.filter(**{f"{field_name}__gte": edge(s), f"{field_name}__lt": edge(_next(kind, s))})
            for s in starts
        ]
        found = _exists_each(qs, probes)
        return [edge(s) for s, hit in zip(starts, found, strict=True) if hit]

    def datetimes(self, field_name: str, kind: str, order: str = "ASC", tzinfo: Any = None) -> Any:
        return self._probed(field_name, kind, aware=True)

    def dates(self, field_name: str, kind: str, order: str = "ASC") -> Any:
        return self._probed(field_name, kind, aware=False)


def _exists_each(base: QuerySet, probes: list[QuerySet]) -> list[bool]:
    """For each queryset, whether it has a row: all in one round trip."""
    if not probes:
        return []
    parts, params = [], []
    for probe in probes:
        sql, p = probe.order_by().values("pk")[:1].query.sql_with_params()
        parts.append(f"EXISTS ({sql})")
        params.extend(p)
    with connections[base.db].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        return [bool(v) for v in cursor.fetchone()]


_PROBED_CLASSES: dict[type, type] = {}


def with_probed_dates(queryset: QuerySet) -> QuerySet:
    """The same queryset, whose ``dates()`` and ``datetimes()`` probe (see above)."""
    base = type(queryset)
    if issubclass(base, ProbedDatesMixin):
        return queryset
    cls = _PROBED_CLASSES.get(base)
    if cls is None:
        cls = _PROBED_CLASSES[base] = type(f"Probed{base.__name__}", (ProbedDatesMixin, base), {})
    clone = queryset._chain()
    clone.__class__ = cls
    return clone


# --- filter choices ---------------------------------------------------------------------


def distinct_values(queryset: QuerySet, column: str) -> list[Any]:
    """The distinct non-null values of one column of ``queryset``'s table, by a skip
    scan: one index probe per distinct value (a recursive CTE), not a scan of the table.
    Needs an index on the column to be fast on PostgreSQL."""
    model = queryset.model
    field = model._meta.get_field(column)
    table = model._meta.db_table
    conn = connections[queryset.db]
    q = conn.ops.quote_name
    col, tab = q(field.column), q(table)
    # Only quoted identifiers from the model's own metadata: no input reaches the SQL.
    sql = (
        f"WITH RECURSIVE v(x) AS ("  # noqa: S608
        f" SELECT MIN({col}) FROM {tab}"
        f" UNION ALL"
        f" SELECT (SELECT MIN({col}) FROM {tab} WHERE {col} > v.x) FROM v WHERE v.x IS NOT NULL"
        f") SELECT x FROM v WHERE x IS NOT NULL"
    )
    with conn.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


class DistinctValuesFilter(admin.AllValuesFieldListFilter):
    """``AllValuesFieldListFilter`` whose choices come from a skip scan of the column's
    index (``distinct_values``) instead of ``SELECT DISTINCT`` over the table."""

    def __init__(
        self,
        field: Any,
        request: HttpRequest,
        params: Any,
        model: Any,
        model_admin: Any,
        field_path: str,
    ) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = distinct_values(model._default_manager.all(), field.name)


# --- the admin --------------------------------------------------------------------------


class LargeTableAdminMixin:
    """A changelist that stays fast over millions of rows (see the module's docstring).

    Sorting stays on the columns the ModelAdmin allows; each needs an index whose order
    matches (see the migrations' plans)."""

    paginator = LargeTablePaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        fields = self.get_search_fields(request)  # type: ignore[attr-defined]
        if not (fields and search_term.strip()):
            return queryset, False
        return queryset.filter(search_filter(queryset.model, fields, search_term)), False

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> Any:
        base = super().get_changelist(request, **kwargs)  # type: ignore[misc]

        class LargeTableChangeList(base):  # type: ignore[misc, valid-type]
            def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> Any:
                return with_probed_dates(super().get_queryset(request, exclude_parameters))

        return LargeTableChangeList


__all__ = [
    "COUNT_LIMIT",
    "DistinctValuesFilter",
    "LargeTableAdminMixin",
    "LargeTablePaginator",
    "bounded_count",
    "distinct_values",
    "page_rows",
    "planner_estimate",
    "search_filter",
    "with_probed_dates",
]


# --- migrations ------------------------------------------------------------------------


def trigram_indexes(table: str, *columns: str) -> Any:
    """A migration operation: a trigram GIN index on ``UPPER(column)`` for each column,
    on PostgreSQL only (SQLite keeps its scans). ``UPPER`` because that is what Django's
    ``icontains`` compares (``UPPER(col::text) LIKE UPPER('%x%')``), so the admin's and
    the API's searches use the index without writing SQL. Needs ``pg_trgm``
    (``TrigramExtension()`` before it in the migration)."""
    from django.db import migrations

    def name(column: str) -> str:
        return f"{table}_{column}_trgm"[:63]

    def forwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for column in columns:
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{name(column)}" ON "{table}" '
                f'USING gin (UPPER("{column}"::text) gin_trgm_ops)'
            )

    def backwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for column in columns:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name(column)}"')

    return migrations.RunPython(forwards, backwards, elidable=False)

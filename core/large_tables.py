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
from django.db.models import BooleanField, Expression, F, Max, Min, Model, Q, QuerySet, Subquery
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


def bounded_count(queryset: QuerySet, limit: int | None = None) -> tuple[int, bool]:
    """(count, exact): exact up to ``limit`` rows (``COUNT_LIMIT``), reading at most
    ``limit + 1`` of them; beyond, the planner's estimate (never less than ``limit + 1``)."""
    limit = COUNT_LIMIT if limit is None else limit
    counted = queryset.order_by().values("pk")[: limit + 1].count()
    if counted <= limit:
        return counted, True
    estimate = planner_estimate(queryset)
    if estimate is None:
        return queryset.count(), True
    return max(estimate, limit + 1), False


def deep_slice(queryset: QuerySet, bottom: int, top: int) -> QuerySet:
    """``queryset[bottom:top]``, where a deep page selects its ids in a subquery first:
    the rows ``OFFSET`` skips are then index entries (an index-only scan of the
    ordering's index), not rows built with their annotations and thrown away. One query;
    plain rows (``values()``) or instances alike."""
    if bottom < DEEP_OFFSET:
        return queryset[bottom:top]
    return queryset.filter(pk__in=queryset.values("pk")[bottom:top])


def page_rows(queryset: QuerySet, bottom: int, top: int) -> list[Any]:
    return list(deep_slice(queryset, bottom, top))


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

    def get_page(self, number: Any) -> Page:
        try:
            return super().get_page(number)
        except EmptyPage:
            # Past the end that an estimated count promised: the first page.
            return self.page(1)

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


class InArray(Expression):
    """``column = ANY(ARRAY(subquery))`` on PostgreSQL, ``column IN (subquery)`` elsewhere.

    The subquery runs once, before the scan (an InitPlan), and the condition is then an
    index condition like any ``= ANY(array)``: ORed with other indexable conditions it
    joins their BitmapOr, or it filters a walk of the ordering's index by hash. An
    ``IN (subquery)`` under an OR can be neither (a SubPlan run per row or hashed, never
    an index condition)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, subquery: QuerySet) -> None:
        super().__init__()
        self.column = F(column)
        self.subquery = Subquery(subquery)

    def get_source_expressions(self) -> list[Any]:
        return [self.column, self.subquery]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        self.column, self.subquery = exprs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        column, column_params = compiler.compile(self.column)
        subquery, subquery_params = compiler.compile(self.subquery)
        return f"{column} IN {subquery}", [*column_params, *subquery_params]

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        column, column_params = compiler.compile(self.column)
        subquery, subquery_params = compiler.compile(self.subquery)
        return f"{column} = ANY(ARRAY{subquery})", [*column_params, *subquery_params]


# A related model's matching rows are resolved to a list of ids first, up to this many:
# the planner then knows the values (an ``= ANY($1)`` from a subquery it must guess,
# and it guesses a large share of the table, which turns a search for one e-mail address
# into a scan of every booking).
RESOLVE_LIMIT = 1000


def _field_condition(model: type[Model], lookup: str, bit: str) -> Any:
    """One searched field as a condition on ``model``'s own rows, never a join: its own
    column as is (same-table conditions share a BitmapOr); a related model's column as
    the ids of the matching related rows (a list when there are few, else ``InArray``)."""
    head, _, rest = lookup.partition("__")
    field = model._meta.get_field(head)
    if not field.is_relation or rest in ("icontains", "iexact", "istartswith"):
        return Q(**{lookup: bit})
    related_model = field.related_model
    matching = related_model._default_manager.filter(
        _field_condition(related_model, rest, bit)
    ).order_by()
    if field.many_to_one or (field.one_to_one and field.concrete):
        ids = list(matching.values_list("pk", flat=True)[: RESOLVE_LIMIT + 1])
        if len(ids) <= RESOLVE_LIMIT:
            return Q(**{f"{field.attname}__in": ids})
        return InArray(field.attname, matching.values("pk"))
    # A reverse relation (the items of a booking): the rows the matching ones point to.
    return InArray("pk", matching.values(field.field.attname))


def related_in(attname: str, related: QuerySet, limit: int = 20_000) -> Any:
    """``attname IN related``, shaped by how many rows ``related`` has: a few thousand
    as ``InArray`` (read them first from their own index, then the rows that point to
    them), many as a plain semi-join (walking the list's order finds them soon)."""
    ids = related.order_by().values("pk")
    if ids[: limit + 1].count() <= limit:
        return InArray(attname, ids)
    return Q(**{f"{attname}__in": ids})


def search_filter(model: type[Model], search_fields: Any, term: str) -> Q:
    """Every word of ``term`` found in one of ``search_fields`` (Django's admin
    semantics): per word, an OR of one condition per field (``_field_condition``),
    which never joins a related table, so a row is never repeated."""
    condition = Q()
    for bit in smart_split(term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        word = Q()
        for path in search_fields:
            word |= Q(_field_condition(model, _lookup(str(path)), bit))
        condition &= word
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
    query of probes (one per year, month or day in the range) instead of a ``DISTINCT``
    over every row of the list. Mixed into the changelist's queryset.

    ``_dates_base``, when set, is what the probes ask instead of the list itself: for a
    filtered list, the whole table within the drill-down's period. A filter the index
    cannot answer (``EXISTS`` over the items) would make each probe walk the table
    until a row qualifies; the links then show every period that has rows at all."""

    _dates_base: QuerySet | None = None

    def _clone(self) -> Any:
        clone = super()._clone()  # type: ignore[misc]
        clone._dates_base = self._dates_base
        return clone

    def _probed(self, field_name: str, kind: str, aware: bool) -> list[Any]:
        qs: QuerySet = self._dates_base if self._dates_base is not None else self  # type: ignore[assignment]
        if kind not in ("year", "month", "day"):
            return list(getattr(super(), "datetimes" if aware else "dates")(field_name, kind))
        first, last = _first_and_last(qs, field_name)
        if first is None:
            return []
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
        found = _exists_each(qs, probes, field_name)
        return [edge(s) for s, hit in zip(starts, found, strict=True) if hit]

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The drill-down's ``aggregate(first=Min(f), last=Max(f))`` as the first and the
        last row in ``f``'s order (two index probes; an aggregate over a filtered list
        reads every row it keeps). Any other aggregate as usual."""
        field = _min_max_field(args, kwargs)
        if field is None:
            return super().aggregate(*args, **kwargs)  # type: ignore[misc, no-any-return]
        base = self._dates_base if self._dates_base is not None else self
        first, last = _first_and_last(base, field)  # type: ignore[arg-type]
        return {name: first if isinstance(agg, Min) else last for name, agg in kwargs.items()}

    def datetimes(self, field_name: str, kind: str, order: str = "ASC", tzinfo: Any = None) -> Any:
        return self._probed(field_name, kind, aware=True)

    def dates(self, field_name: str, kind: str, order: str = "ASC") -> Any:
        return self._probed(field_name, kind, aware=False)


def _min_max_field(args: Any, kwargs: dict[str, Any]) -> str | None:
    """The field when the aggregates asked are only MIN and MAX of one plain field."""
    if args or not kwargs:
        return None
    fields = set()
    for agg in kwargs.values():
        sources = [e for e in agg.get_source_expressions() if e is not None]
        if type(agg) not in (Min, Max) or agg.filter is not None or len(sources) != 1:
            return None
        source = sources[0]
        name = getattr(source, "name", None)
        if not isinstance(name, str) or "__" in name:
            return None
        fields.add(name)
    return fields.pop() if len(fields) == 1 else None


def _first_and_last(queryset: QuerySet, field: str) -> tuple[Any, Any]:
    ordered = queryset.filter(**{f"{field}__isnull": False}).values_list(field, flat=True)
    first = ordered.order_by(field).first()
    if first is None:
        return None, None
    return first, ordered.order_by(f"-{field}").first()


def _exists_each(base: QuerySet, probes: list[QuerySet], field: str) -> list[bool]:
    """For each queryset, whether it has a row: all in one round trip."""
    if not probes:
        return []
    parts, params = [], []
    for probe in probes:
        # The first row in the field's order, as a scalar subquery: the planner walks the
        # field's index from the period's start. (EXISTS drops the ORDER BY and plans
        # for any first row: a sequential scan that may read most of the table.)
        sql, p = probe.order_by(field).values("pk")[:1].query.sql_with_params()
        parts.append(f"({sql}) IS NOT NULL")
        params.extend(p)
    with connections[base.db].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        return [bool(v) for v in cursor.fetchone()]


_PROBED_CLASSES: dict[type, type] = {}


def with_probed_dates(queryset: QuerySet, dates_base: QuerySet | None = None) -> QuerySet:
    """The same queryset, whose ``dates()`` and ``datetimes()`` probe (see above)."""
    base = type(queryset)
    cls = base
    if not issubclass(base, ProbedDatesMixin):
        cls = _PROBED_CLASSES.get(base)
        if cls is None:
            name = f"Probed{base.__name__}"
            cls = _PROBED_CLASSES[base] = type(name, (ProbedDatesMixin, base), {})
    clone = queryset._chain()
    clone.__class__ = cls
    clone._dates_base = dates_base
    return clone


_NOT_FILTERS = {"o", "p", "q", "e", "_changelist_filters", "_to_field", "_popup", "_facets"}


def _dates_base(changelist: Any, request: HttpRequest) -> QuerySet | None:
    """For a filtered or searched list, the whole table within the drill-down's period
    (see ``ProbedDatesMixin``); None for a list filtered by the period alone."""
    field = changelist.date_hierarchy
    if not field:
        return None
    parts = {f"{field}__{p}" for p in ("year", "month", "day")}
    if not any(k not in _NOT_FILTERS and k not in parts for k in request.GET):
        return None
    period = {}
    for key in parts:
        value = request.GET.get(key, "")
        if value.isdigit():
            period[key] = int(value)
    return changelist.root_queryset.filter(**period)


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
            def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
                super().__init__(request, *args, **kwargs)
                if self.query:
                    # No drill-down by date within search results: it would run the
                    # search three more times for a few links.
                    self.date_hierarchy = None

            def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> Any:
                queryset = super().get_queryset(request, exclude_parameters)
                return with_probed_dates(queryset, _dates_base(self, request))

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

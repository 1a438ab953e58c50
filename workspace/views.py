"""The agenda and the day sheet: read-only admin pages over the agenda selector."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from bookings.models import BookingItem
from workspace.agenda import SHEET_COLUMNS, by_day, services_between, sheet_row
from workspace.forms import AgendaForm
from workspace.timing import site_zone

DEFAULT_DAYS = 7


def _require_items_view(request: HttpRequest) -> None:
    model_admin = admin.site._registry.get(BookingItem)
    if model_admin is None or not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied


def _today() -> date:
    return timezone.localtime(timezone.now(), site_zone()).date()


def _context(request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
    return {**admin.site.each_context(request), "title": title, **extra}


def agenda(request: HttpRequest) -> HttpResponse:
    _require_items_view(request)
    form = AgendaForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if form.is_bound and valid else {}
    first = data.get("start") or _today()
    days = data.get("days") or DEFAULT_DAYS
    last = first + timedelta(days=days - 1)
    services, cut = (
        ([], False) if not valid else services_between(first, last, filters=form.filters())
    )
    query = request.GET.copy()
    query.pop("start", None)
    query.pop("days", None)
    return TemplateResponse(
        request,
        "workspace/agenda.html",
        _context(
            request,
            "Agenda",
            form=form,
            first=first,
            last=last,
            days=by_day(services),
            count=len(services),
            cut=cut,
            filter_query=query.urlencode(),
            previous=(first - timedelta(days=days)).isoformat(),
            next=(first + timedelta(days=days)).isoformat(),
            span=days,
        ),
    )


def day_sheet(request: HttpRequest, day: str) -> HttpResponse:
    _require_items_view(request)
    try:
        when = date.fromisoformat(day)
    except ValueError as exc:
        raise Http404("No such day.") from exc
    form = AgendaForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        services, cut = [], False
    else:
        services, cut = services_between(when, when, filters=form.filters())
    rows = [sheet_row(service) for service in services]
    if request.GET.get("format") == "csv":
        return _csv(when, rows)
    query = request.GET.copy()
    query.pop("format", None)
    return TemplateResponse(
        request,
        "workspace/day_sheet.html",
        _context(
            request,
            f"Day sheet: {when:%A %d %B %Y}",
            form=form,
            day=when,
            rows=rows,
            table=[[(key, row[key]) for key, _ in SHEET_COLUMNS] for row in rows],
            services=services,
            columns=SHEET_COLUMNS,
            cut=cut,
            csv_url=f"{reverse('workspace:day_sheet', args=[when.isoformat()])}?"
            + "&".join(p for p in (query.urlencode(), "format=csv") if p),
            previous=(when - timedelta(days=1)).isoformat(),
            next=(when + timedelta(days=1)).isoformat(),
            filter_query=query.urlencode(),
        ),
    )


def _csv(when: date, rows: list[dict[str, Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="day-sheet-{when.isoformat()}.csv"'
    writer = csv.writer(response)
    writer.writerow([label for _, label in SHEET_COLUMNS])
    for row in rows:
        writer.writerow([_cell(row[key]) for key, _ in SHEET_COLUMNS])
    return response


def _cell(value: Any) -> Any:
    # A cell a spreadsheet would run as a formula is kept as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value

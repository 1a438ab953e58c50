"""The broker portal's invoices and commission statements, and the providers' webhooks."""

from __future__ import annotations

import csv
import io
import logging
from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import documents, links, selectors
from billing.api import pdf_response
from billing.models import Instalment
from billing.providers import SignatureError, provider_names
from core.domain import DomainError
from partners.views import portal_view

logger = logging.getLogger(__name__)


def _broker(request: HttpRequest):  # type: ignore[no-untyped-def]
    broker = request.portal.broker  # type: ignore[attr-defined]
    assert broker is not None  # noqa: S101 - portal_view("broker") let only brokers in
    return broker


@portal_view("broker")
def invoice_list(request: HttpRequest) -> HttpResponse:
    invoices = selectors.invoices_for_broker(broker=_broker(request)).order_by("-issued_at", "-id")
    page = Paginator(invoices, 25).get_page(request.GET.get("page"))
    return render(request, "billing/portal/invoices.html", {"page": page, "nav": "invoices"})


@portal_view("broker")
def invoice_pdf(request: HttpRequest, number: str) -> HttpResponse:
    invoice = selectors.invoice_get_for_broker(broker=_broker(request), number=number)
    return pdf_response(invoice)


@portal_view("broker")
@require_POST
def pay(request: HttpRequest, reference: str, instalment: int) -> HttpResponse:
    """ "Pay now" on a booking's instalment: to the provider's page, or the transfer's
    instructions. Another broker's booking or instalment is a 404."""
    chosen = get_object_or_404(
        Instalment.objects.select_related("booking"),
        pk=instalment,
        booking__reference=reference,
        booking__broker=_broker(request),
    )
    try:
        link = links.payment_link_open(
            instalment=chosen,
            actor=request.portal.actor,  # type: ignore[attr-defined]
        )
    except (DomainError, links.LinkFailed) as exc:
        messages.error(request, exc.message)
        return redirect("portal:booking-detail", reference)
    if link.url:
        return redirect(link.url)
    return render(
        request,
        "billing/portal/pay.html",
        {"link": link, "booking": chosen.booking, "instalment": chosen, "nav": "bookings"},
    )


def _month(request: HttpRequest):  # type: ignore[no-untyped-def]
    month = selectors.parse_month(request.GET.get("month"))
    if request.GET.get("month") and month is None:
        raise Http404("No such month.")
    return month or timezone.localdate().replace(day=1)


@portal_view("broker")
def statement(request: HttpRequest) -> HttpResponse:
    month = _month(request)
    statements = selectors.commission_statements(broker=_broker(request), month=month)
    previous = (month.replace(day=1) - timedelta(days=1)).replace(day=1)
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return render(
        request,
        "billing/portal/statement.html",
        {
            "month": month,
            "month_param": month.strftime("%Y-%m"),
            "previous": previous.strftime("%Y-%m"),
            "following": following.strftime("%Y-%m"),
            "statements": statements,
            "nav": "statement",
        },
    )


@portal_view("broker")
def statement_csv(request: HttpRequest) -> HttpResponse:
    month = _month(request)
    broker = _broker(request)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "currency",
            "date",
            "booking",
            "document",
            "description",
            "base",
            "rate",
            "amount",
            "balance",
        ]
    )
    for statement in selectors.commission_statements(broker=broker, month=month):
        balance = statement.opening_balance
        writer.writerow([statement.currency, "", "", "", "Opening balance", "", "", "", balance])
        for entry in statement.entries:
            balance += entry.amount
            writer.writerow(
                [
                    entry.currency,
                    timezone.localtime(entry.booked_at).date().isoformat(),
                    entry.booking.reference,
                    entry.invoice.number,
                    entry.description,
                    entry.base,
                    entry.rate,
                    entry.amount,
                    balance,
                ]
            )
        writer.writerow(
            [
                statement.currency,
                "",
                "",
                "",
                "Closing balance",
                "",
                "",
                "",
                statement.closing_balance,
            ]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="commission-{month:%Y-%m}.csv"'
    return response


@portal_view("broker")
def statement_pdf(request: HttpRequest) -> HttpResponse:
    month = _month(request)
    broker = _broker(request)
    pdf = documents.render_pdf(
        "billing/pdf/statement.html",
        {
            "broker": broker,
            "month": month,
            "statements": selectors.commission_statements(broker=broker, month=month),
        },
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="commission-{month:%Y-%m}.pdf"'
    return response


@csrf_exempt  # the provider signs its requests; it has no CSRF token
@require_POST
def webhook(request: HttpRequest, provider: str) -> JsonResponse:
    """A payment provider's event: 400 unless signed by it, 200 once applied (or a replay)."""
    if provider not in provider_names():
        return JsonResponse({"detail": "Not found."}, status=404)
    headers = {key: value for key, value in request.headers.items()}
    try:
        outcome = links.webhook_receive(provider=provider, body=request.body, headers=headers)
    except SignatureError as exc:
        logger.warning("refused a %s webhook: %s", provider, exc)
        return JsonResponse({"detail": str(exc)}, status=400)
    return JsonResponse({"outcome": outcome})

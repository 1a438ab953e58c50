"""Back office for money: payments, invoices and credit notes, commission, reconciliation.

The booking page gains its payments, schedule and documents and an "Issue invoice"
button by re-registering the bookings app's admin with those added (billing sits
above bookings, so bookings knows nothing of it). Issued documents are read-only here
as everywhere: no change or delete permission exists for them in this admin.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from billing import links, reconcile, services
from billing.api import pdf_response
from billing.models import (
    CommissionEntry,
    Instalment,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentLink,
    ProviderEvent,
)
from billing.providers import provider_names
from bookings.admin import BookingAdmin
from bookings.models import Booking
from core.admin_kit import (
    SERVICE_ERRORS,
    ReadOnlyInlineMixin,
    ServiceAdminMixin,
    Transition,
    admin_actor,
    calling,
    error_messages,
    service_errors,
)


def _money_table(booking: Booking) -> str:
    money = services.booking_money(booking=booking)
    c = money.currency
    head = format_html(
        '<table class="money"><tr><th>Total</th><td>{} {}</td><th>Paid</th><td>{} {}</td>'
        "<th>Due</th><td>{} {}</td><th>Overdue</th><td>{} {}</td>"
        "<th>Invoiced</th><td>{} {}</td></tr></table>",
        c, money.total, c, money.paid, c, money.due, c, money.overdue, c, money.invoiced,
    )  # fmt: skip
    open_links = {
        link.instalment_id: link
        for link in PaymentLink.objects.filter(
            booking=booking, status=PaymentLink.Status.OPEN
        ).order_by("created_at")
    }
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                row.instalment.get_kind_display(),
                row.instalment.due_date.isoformat(),
                c,
                row.instalment.amount,
                row.state,
                row.outstanding,
                _link_cell(row, open_links.get(row.instalment.pk)),
            )
            for row in money.schedule
        ),
    )
    schedule = (
        format_html(
            "<table><tr><th>Instalment</th><th>Due</th><th>Amount</th><th>State</th>"
            "<th>Outstanding</th><th>Payment link</th></tr>{}</table>",
            rows,
        )
        if money.schedule
        else format_html("<p>{}</p>", "No schedule: one is made when the booking is approved.")
    )
    add = reverse("admin:billing_payment_add") + f"?booking={booking.pk}&currency={c}"
    return format_html(
        '{}{}<p><a class="button" href="{}">Record a payment or refund</a></p>', head, schedule, add
    )


def _link_cell(row: Any, link: PaymentLink | None) -> str:
    make = reverse("admin:billing_instalment_payment_link", args=[row.instalment.pk])
    if row.outstanding <= 0:
        return "-"
    if link is None:
        return format_html('<a class="button" href="{}">Make a payment link…</a>', make)
    shown = link.url or link.instructions
    return format_html(
        '<span class="payment-link">{} ({} {})</span> <a href="{}">send or renew…</a>',
        shown,
        link.currency,
        link.amount,
        make,
    )


class PaymentLinkForm(forms.Form):
    provider = forms.ChoiceField(label="Provider")
    send = forms.BooleanField(
        label="E-mail it to whoever pays",
        required=False,
        initial=True,
        help_text="The booking's broker, else its lead customer; once per link.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from django.conf import settings

        self.fields["provider"].choices = [(name, name) for name in provider_names()]
        self.fields["provider"].initial = settings.BILLING_DEFAULT_PROVIDER


class PaymentInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Payment
    fields = ("received_at", "amount", "currency", "method", "reference", "reason", "recorded_via")
    readonly_fields = fields
    ordering = ("-received_at",)
    verbose_name_plural = "payments and refunds"


class InvoiceInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Invoice
    fk_name = "booking"
    fields = ("document", "kind", "issued_at", "net", "tax", "total", "refers_to")
    readonly_fields = fields
    ordering = ("issued_at",)
    verbose_name_plural = "invoices and credit notes"

    @admin.display(description="number")
    def document(self, invoice: Invoice) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:billing_invoice_change", args=[invoice.pk]),
            invoice.number,
        )


BILLING_TRANSITIONS = {"invoice"}


def _invoiceable(booking: Booking) -> bool:
    return services.has_uninvoiced(booking)


class BillingBookingAdmin(BookingAdmin):
    transitions = (
        *BookingAdmin.transitions,
        Transition(
            "invoice",
            "Issue invoice",
            calling(services.invoice_issue, "booking"),
            done="Invoiced",
            permission="invoice",
            when=_invoiceable,
            help="Invoices every live item not invoiced yet and emails the PDF.",
        ),
    )
    inlines = (*BookingAdmin.inlines, PaymentInline, InvoiceInline)
    readonly_fields = (*BookingAdmin.readonly_fields, "money")

    def has_invoice_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("billing.add_invoice")

    def transition_buttons(self, request: HttpRequest, obj: Any) -> list[dict[str, Any]]:
        """The booking's own moves as its state table allows them; billing's buttons as
        billing's ``when`` and permission say (the booking table knows none of them)."""
        shown = ServiceAdminMixin.transition_buttons(self, request, obj)
        actor = admin_actor(request)
        return [
            button
            for button in shown
            if button["name"] in BILLING_TRANSITIONS or self.machine.can(button["name"], obj, actor)
        ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.insert(3, ("Payments", {"fields": ("money",)}))
        return fieldsets

    @admin.display(description="money")
    def money(self, booking: Booking) -> str:
        return _money_table(booking)


admin.site.unregister(Booking)
admin.site.register(Booking, BillingBookingAdmin)


class PaymentForm(forms.ModelForm):
    class Meta:
        model = Payment
        fields = ["booking", "amount", "currency", "method", "reference", "received_at", "reason"]
        help_texts = {"amount": "Negative for a refund (then give the reason)."}


@admin.register(Payment)
class PaymentAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = PaymentForm
    list_display = (
        "received_at",
        "booking",
        "amount",
        "currency",
        "method",
        "reference",
        "recorded_via",
    )
    list_select_related = ("booking",)
    list_filter = ("method", "currency", "received_at")
    search_fields = ("booking__reference", "reference", "provider_payment_id")
    autocomplete_fields = ("booking",)
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-id")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a payment is history: a wrong one is corrected by a refund

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {key: request.GET[key] for key in ("booking", "currency") if key in request.GET}

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        with service_errors():
            saved = services.payment_record(
                booking=data["booking"],
                actor=admin_actor(request),
                amount=data["amount"],
                currency=data["currency"],
                method=data["method"],
                reference=data.get("reference") or "",
                received_at=data.get("received_at"),
                reason=data.get("reason") or "",
            )
        obj.pk = saved.pk
        obj._state.adding = False


class InvoiceLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = InvoiceLine
    fk_name = "invoice"
    fields = (
        "position",
        "service_type",
        "description",
        "quantity",
        "unit_price",
        "tax_rate",
        "net",
        "tax",
        "gross",
    )
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    """Read-only: an issued document never changes (the database refuses it too)."""

    list_display = (
        "number",
        "kind",
        "booking",
        "recipient_name",
        "issued_at",
        "currency",
        "net",
        "tax",
        "total",
    )
    list_select_related = ("booking",)
    list_filter = ("kind", "year", "currency")
    search_fields = ("number", "booking__reference", "recipient_name", "customer_name")
    date_hierarchy = "issued_at"
    ordering = ("-issued_at", "-id")
    inlines = (InvoiceLineInline,)
    readonly_fields = (
        "number", "kind", "booking", "refers_to", "reason", "issued_at", "issued_by",
        "currency", "recipient_name", "recipient_email", "customer_name", "net", "tax",
        "total", "pdf_link",
    )  # fmt: skip
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # issued from a booking (its "Issue invoice" button) or the API

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="PDF")
    def pdf_link(self, invoice: Invoice) -> str:
        url = reverse("admin:billing_invoice_pdf", args=[invoice.pk])
        return format_html('<a href="{}">{}.pdf</a>', url, invoice.number)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="billing_invoice_pdf",
            ),
            path(
                "reconciliation/",
                self.admin_site.admin_view(self.reconciliation_view),
                name="billing_reconciliation",
            ),
            *super().get_urls(),
        ]

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        return pdf_response(get_object_or_404(Invoice, pk=pk))

    def reconciliation_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("billing.view_invoice"):
            return HttpResponse(status=403)
        report = reconcile.reconcile()
        if report.differences:
            self.message_user(
                request, f"{len(report.differences)} difference(s) found.", messages.WARNING
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Reconciliation",
            "report": report,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/billing/reconciliation.html", context)


@admin.register(CommissionEntry)
class CommissionEntryAdmin(admin.ModelAdmin):
    list_display = (
        "booked_at",
        "broker",
        "booking",
        "invoice",
        "description",
        "base",
        "rate",
        "amount",
        "currency",
    )
    list_select_related = ("broker", "booking", "invoice")
    list_filter = ("broker", "currency", "booked_at")
    search_fields = ("booking__reference", "invoice__number", "broker__name")
    date_hierarchy = "booked_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ProviderEvent)
class ProviderEventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "provider", "event_type", "event_id", "outcome")
    list_filter = ("provider", "event_type")
    search_fields = ("event_id",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Instalment)
class InstalmentAdmin(admin.ModelAdmin):
    list_display = ("booking", "kind", "amount", "currency", "due_date", "state_label", "paid_at")
    list_select_related = ("booking",)
    list_filter = ("kind", "due_date")
    search_fields = ("booking__reference",)

    @admin.display(description="state")
    def state_label(self, instalment: Instalment) -> str:
        return instalment.state

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by the schedule, from the booking's terms

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/payment-link/",
                self.admin_site.admin_view(self.payment_link_view),
                name="billing_instalment_payment_link",
            ),
            *super().get_urls(),
        ]

    def payment_link_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Make (or reuse) the instalment's link, and e-mail it if asked; the answer
        shows the link to copy. Refusals are the service's words."""
        from django.shortcuts import redirect

        instalment = get_object_or_404(Instalment.objects.select_related("booking"), pk=pk)
        booking_url = reverse("admin:bookings_booking_change", args=[instalment.booking_id])
        if not request.user.has_perm("billing.add_paymentlink"):
            self.message_user(request, "You may not make payment links.", messages.ERROR)
            return redirect(booking_url)
        form = PaymentLinkForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            actor = admin_actor(request)
            try:
                link = links.payment_link_open(
                    instalment=instalment, actor=actor, provider=form.cleaned_data["provider"]
                )
                sent = (
                    links.payment_link_send(payment_link=link, actor=actor)
                    if form.cleaned_data["send"]
                    else 0
                )
            except SERVICE_ERRORS as exc:
                for _field, message in error_messages(exc):
                    form.add_error(None, message)
            else:
                shown = link.url or link.instructions
                told = " and e-mailed" if sent else ""
                self.message_user(request, f"Payment link ready{told}: {shown}", messages.SUCCESS)
                return redirect(booking_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Payment link: {instalment.get_kind_display()} of {instalment.booking}",
            "opts": self.opts,
            "form": form,
            "instalment": instalment,
            "booking_url": booking_url,
        }
        return TemplateResponse(request, "admin/billing/payment_link.html", context)

"""Back office for offers and their lines.

Every write calls ``offers.services`` (see ``core.admin_kit`` for how). An offer
is edited only while it is a draft; after that it moves only by its transitions.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import (
    Count,
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from bookings.admin import TableTransitionsMixin, money, nowrap
from bookings.admin_dates import ServiceDatesMixin
from bookings.admin_forms import LocalOfferLineForm, ServiceModelForm
from bookings.models import MONEY, ZERO
from core.admin_kit import (
    AuditEntryInline,
    OptionalReasonForm,
    ServiceAdminMixin,
    Transition,
    TransitionForm,
    admin_actor,
    adopt,
    badge,
    calling,
    save_rows,
    save_through_services,
    service_errors,
)
from core.attention import AttentionFilter
from core.large_tables import LargeTableAdminMixin
from notifications.admin_inlines import NotificationInline
from notifications.formatting import format_when
from offers import services
from offers.forms import OfferAcceptForm
from offers.models import Offer, OfferLine
from offers.states import OFFER
from partners.admin import change_link

S = Offer.Status


class LeadTravellerForm(TransitionForm):
    """Who travels, for "accept for the client": prefilled from the offer's customer."""

    lead_name = OfferAcceptForm.base_fields["lead_name"]
    lead_email = OfferAcceptForm.base_fields["lead_email"]
    lead_phone = OfferAcceptForm.base_fields["lead_phone"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if len(self.objects) == 1 and not self.is_bound:
            offer = self.objects[0]
            self.initial = {
                "lead_name": offer.customer_name,
                "lead_email": offer.customer_email,
                "lead_phone": offer.customer_phone,
            }


OFFER_TONES = {
    S.DRAFT: "grey",
    S.SENT: "amber",
    S.ACCEPTED: "green",
    S.DECLINED: "red",
    S.EXPIRED: "grey",
    S.WITHDRAWN: "red",
}
OFFER_FORM_FIELDS = (
    "broker",
    "customer_name",
    "customer_email",
    "customer_phone",
    "currency",
    "valid_until",
    "notes",
)
LINE_FORM_FIELDS = (
    "service_type",
    "description",
    "start",
    "end",
    "timezone",
    "quantity",
    "unit_price",
    "unit_cost",
    "proposed_vendor",
)


def offer_badge(offer: Offer) -> str:
    return badge(offer.get_status_display(), OFFER_TONES[offer.status])


def _is_draft(offer: Offer | None) -> bool:
    return offer is None or offer.status == S.DRAFT


class ValidityFilter(admin.SimpleListFilter):
    title = "validity"
    parameter_name = "validity"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("soon", "Sent, runs out within 3 days"),
            ("due", "Sent, validity passed (expires at the next sweep)"),
            ("valid", "Still valid"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "soon":
            return queryset.filter(
                status=S.SENT, valid_until__gt=now, valid_until__lte=now + timedelta(days=3)
            )
        if self.value() == "due":
            return queryset.filter(status=S.SENT, valid_until__lte=now)
        if self.value() == "valid":
            return queryset.filter(valid_until__gt=now)
        return queryset


class OfferLineInline(admin.TabularInline):
    model = OfferLine
    form = LocalOfferLineForm
    fields = (*LINE_FORM_FIELDS, "line_total")
    readonly_fields = ("line_total",)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "proposed_vendor":
            # One vendor list for every row of the page, not one query per line.
            cached = getattr(request, "_proposed_vendor_choices", None)
            if cached is None:
                cached = list(field.choices)
                request._proposed_vendor_choices = cached  # type: ignore[attr-defined]
            field.choices = cached
        return field

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("proposed_vendor", "offer")

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 1 if obj is None else 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and _is_draft(obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and _is_draft(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and _is_draft(obj)

    @admin.display(description="total")
    def line_total(self, line: OfferLine) -> str:
        return money(line.total_price, line.offer.currency) if line.pk else ""


@admin.register(Offer)
class OfferAdmin(
    TableTransitionsMixin,
    ServiceDatesMixin,
    LargeTableAdminMixin,
    ServiceAdminMixin,
    admin.ModelAdmin,
):
    form = ServiceModelForm
    machine = OFFER
    stay_after_add = True
    transitions = (
        Transition(
            "send",
            "Send",
            calling(services.offer_send, "offer"),
            done="Sent",
            help="The broker or customer is emailed the offer with its lines and prices.",
        ),
        Transition(
            "accept",
            "Accept for the client",
            calling(services.offer_accept, "offer"),
            done="Accepted (the booking is made and awaits approval)",
            form=LeadTravellerForm,
            help="Record the client's acceptance: a booking pending approval is made from "
            "the lines, and proposed vendors are asked.",
        ),
        Transition(
            "decline",
            "Decline for the client",
            calling(services.offer_decline, "offer"),
            done="Declined",
            form=OptionalReasonForm,
        ),
        Transition(
            "withdraw",
            "Withdraw",
            calling(services.offer_withdraw, "offer"),
            done="Withdrawn",
            form=OptionalReasonForm,
            danger=True,
            help="A client who received the offer is told it is withdrawn.",
        ),
    )
    list_display = (
        "reference_code",
        "client",
        "broker",
        "status_badge",
        "service_dates",
        "valid_until",
        "line_count",
        "total",
        "booking_link",
        "created_at",
    )
    list_display_links = ("reference_code", "client")
    list_select_related = ("broker", "booking")
    list_filter = (
        AttentionFilter,
        "status",
        ValidityFilter,
        ("broker", admin.RelatedFieldListFilter),
        "valid_until",
        "created_at",
    )
    search_fields = (
        "reference",
        "customer_name",
        "customer_email",
        "broker__name",
        "broker__email",
        "booking__reference",
    )
    search_help_text = "Reference, customer or broker name or email, booking reference."
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    list_per_page = 100
    autocomplete_fields = ("broker",)
    view_on_site = False
    service_parent = "offer"
    inlines = (OfferLineInline, AuditEntryInline, NotificationInline)
    readonly_fields = (
        "reference",
        "status_badge",
        "booking_link",
        "total",
        "created_by",
        "created_at",
        "updated_at",
        "sent_at",
        "responded_at",
        "decline_reason",
    )

    def service_rows(self) -> QuerySet:
        return OfferLine.objects.all()

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Correlated subqueries: computed for the rows a page shows, not summed over
        # every offer before LIMIT (see bookings.models.live_items_figure).
        money_field = DecimalField(**MONEY)
        lines = OfferLine.objects.filter(offer=OuterRef("pk")).order_by().values("offer")

        def per_offer(value: Any, output: Any, default: Any) -> Coalesce:
            rows = lines.annotate(value=value).values("value")
            return Coalesce(
                Subquery(rows, output_field=output), Value(default), output_field=output
            )

        total = Sum(F("quantity") * F("unit_price"), output_field=money_field)
        return (
            super()
            .get_queryset(request)
            .annotate(
                total_sell=per_offer(total, money_field, ZERO),
                line_total_count=per_offer(Count("pk"), IntegerField(), 0),
            )
        )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        client = (
            "Client",
            {
                "fields": ("broker", "customer_name", "customer_email", "customer_phone"),
                "description": "A broker, or a direct customer's name and email.",
            },
        )
        terms = ("Terms", {"fields": ("currency", "valid_until", "notes")})
        if obj is None:
            return [client, terms]
        return [
            (
                "Offer",
                {"fields": (("reference", "status_badge"), "booking_link", "total")},
            ),
            client,
            terms,
            (
                "Timeline",
                {
                    "classes": ("collapse",),
                    "fields": (
                        ("created_at", "created_by"),
                        "sent_at",
                        "responded_at",
                        "decline_reason",
                        "updated_at",
                    ),
                },
            ),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if _is_draft(obj):
            return self.readonly_fields
        return (*self.readonly_fields, *OFFER_FORM_FIELDS)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # withdraw instead

    # ---- columns ---------------------------------------------------------------------

    @admin.display(description="reference", ordering="reference")
    def reference_code(self, offer: Offer) -> str:
        return nowrap(offer.reference)

    @admin.display(description="status", ordering="status")
    def status_badge(self, offer: Offer) -> str:
        return offer_badge(offer)

    @admin.display(description="customer", ordering="customer_name")
    def client(self, offer: Offer) -> str:
        return offer.customer_name or "—"

    # Neither the line count nor the total is sortable: ordering by a subquery computes
    # it for every offer before the first page.
    @admin.display(description="lines")
    def line_count(self, offer: Offer) -> int:
        return offer.line_total_count  # type: ignore[attr-defined]

    @admin.display(description="total")
    def total(self, offer: Offer) -> str:
        return money(offer.total_sell, offer.currency)  # type: ignore[attr-defined]

    @admin.display(description="booking")
    def booking_link(self, offer: Offer) -> str:
        return change_link(offer.booking) if offer.booking_id else "—"

    # ---- writes ------------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Offer, form: Any, change: bool) -> None:
        save_through_services(
            request,
            obj,
            form,
            change,
            fields=OFFER_FORM_FIELDS,
            create=lambda actor, data: services.offer_create(actor=actor, **data),
            update=lambda offer, actor, data: services.offer_update(
                offer=offer, actor=actor, **data
            ),
        )

    def formset_savers(self) -> dict[Any, Any]:
        return {OfferLine: save_line_rows}


def save_line_rows(request: HttpRequest, formset: Any) -> None:
    """Save the offer page's line rows through offer_line_add / _update / _remove."""
    save_rows(
        request,
        formset,
        noun="Line",
        fields=LINE_FORM_FIELDS,
        add=lambda offer, actor, data: services.offer_line_add(offer=offer, actor=actor, **data),
        update=lambda line, actor, data: services.offer_line_update(line=line, actor=actor, **data),
        remove=lambda line, actor: services.offer_line_remove(line=line, actor=actor),
    )


@admin.register(OfferLine)
class OfferLineAdmin(LargeTableAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    form = LocalOfferLineForm
    list_display = (
        "description",
        "offer_link",
        "offer_state",
        "service_type",
        "service_when",
        "quantity",
        "unit_price",
        "unit_cost",
        "line_total",
        "proposed_vendor",
    )
    list_select_related = ("offer", "proposed_vendor")

    @admin.display(description="when (local time)", ordering="start")
    def service_when(self, line: OfferLine) -> str:
        return format_when(line.start, line.end, line.timezone)
    list_filter = (
        "service_type",
        "offer__status",
        ("proposed_vendor", admin.RelatedFieldListFilter),
        "start",
    )
    search_fields = (
        "description",
        "offer__reference",
        "offer__customer_name",
        "offer__broker__name",
        "proposed_vendor__name",
    )
    date_hierarchy = "start"
    ordering = ("start", "id")
    autocomplete_fields = ("offer", "proposed_vendor")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("offer", "proposed_vendor")

    def object_label(self, line: OfferLine) -> str:
        return f"{line.offer.reference} · {line}"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("offer", *LINE_FORM_FIELDS)
        return ("offer_link", "offer_state", *LINE_FORM_FIELDS, "line_total")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        frozen = () if obj.offer.status == S.DRAFT else LINE_FORM_FIELDS
        return ("offer_link", "offer_state", "line_total", *frozen)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one line at a time, through the service
        return actions

    @admin.display(description="offer", ordering="offer__reference")
    def offer_link(self, line: OfferLine) -> str:
        return change_link(line.offer, line.offer.reference)

    @admin.display(description="offer status")
    def offer_state(self, line: OfferLine) -> str:
        return offer_badge(line.offer)

    @admin.display(description="total")
    def line_total(self, line: OfferLine) -> str:
        return money(line.total_price, line.offer.currency)

    def save_model(self, request: HttpRequest, obj: OfferLine, form: Any, change: bool) -> None:
        actor = admin_actor(request)
        data = {k: form.cleaned_data[k] for k in LINE_FORM_FIELDS if k in form.cleaned_data}
        with service_errors():
            if change:
                changed = {k: v for k, v in data.items() if k in form.changed_data}
                if changed:
                    services.offer_line_update(line=obj, actor=actor, **changed)
            else:
                adopt(
                    obj,
                    services.offer_line_add(offer=form.cleaned_data["offer"], actor=actor, **data),
                )

    def delete_model(self, request: HttpRequest, obj: OfferLine) -> None:
        with service_errors():
            services.offer_line_remove(line=obj, actor=admin_actor(request))

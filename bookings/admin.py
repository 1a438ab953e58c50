"""Back office for bookings and their items.

Every write calls ``bookings.services`` (see ``core.admin_kit`` for how); the
changelists read totals and item progress as annotations, so a page of bookings costs
the same few queries however many rows it shows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
)
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from bookings import services
from bookings.admin_dates import ServiceDatesMixin
from bookings.admin_forms import (
    AssignVendorForm,
    ConfirmForm,
    LocalServiceModelForm,
    ServiceModelForm,
)
from bookings.models import Booking, BookingItem, live_items_figure, overdue_q
from bookings.selectors import booking_totals
from bookings.states import BOOKING, ITEM
from core.admin_kit import (
    AuditEntryInline,
    OptionalReasonForm,
    ReasonForm,
    ServiceAdminMixin,
    Transition,
    admin_actor,
    adopt,
    badge,
    calling,
    save_rows,
    save_through_services,
    service_errors,
)
from core.attention import AttentionFilter
from core.large_tables import (
    DistinctValuesFilter,
    InArray,
    LargeTableAdminMixin,
    related_in,
)
from core.models import AuditEntry
from notifications.admin_inlines import NotificationInline
from notifications.formatting import format_moment, format_money, format_when
from partners.admin import change_link
from partners.models import Vendor
from partners.state_machine import Machine

S = Booking.Status
V = BookingItem.VendorStatus

BOOKING_TONES = {
    S.DRAFT: "grey",
    S.PENDING_APPROVAL: "amber",
    S.APPROVED: "blue",
    S.CONFIRMED: "green",
    S.COMPLETED: "darkgreen",
    S.CANCELLED: "red",
}
VENDOR_TONES = {
    V.UNASSIGNED: "grey",
    V.PENDING: "amber",
    V.ACCEPTED: "blue",
    V.DECLINED: "red",
    V.CONFIRMED: "green",
}
EDITABLE = set(services.EDITABLE_STATUSES)
OPEN = set(services.OPEN_STATUSES)
ITEM_FORM_FIELDS = services.ITEM_FIELDS
BOOKING_FORM_FIELDS = (
    "customer_name",
    "customer_email",
    "customer_phone",
    "broker",
    "currency",
    "notes",
)


def booking_badge(booking: Booking) -> str:
    return badge(booking.get_status_display(), BOOKING_TONES[booking.status])


def item_badge(item: BookingItem) -> str:
    if not item.is_live:
        return badge("Cancelled", "red")
    return badge(item.get_vendor_status_display(), VENDOR_TONES[item.vendor_status])


def money(amount: Any, currency: str) -> str:
    # Non-breaking, so a narrow column never splits the currency from the amount.
    return format_money(amount, currency).replace(" ", "\u00a0")


def nowrap(text: str) -> str:
    return format_html('<span style="white-space:nowrap">{}</span>', text)


# --- list filters -------------------------------------------------------------------


def _live_items(**conditions: Any) -> Exists:
    return Exists(
        BookingItem.objects.filter(booking=OuterRef("pk"), cancelled_at__isnull=True, **conditions)
    )


def _bookings_with_live_items(**conditions: Any) -> InArray:
    items = BookingItem.objects.filter(cancelled_at__isnull=True, **conditions).order_by()
    return InArray("pk", items.values("booking_id"))


def deadline_badge(item: BookingItem) -> str:
    """"Answer by Sat 10 May 2027, 10:00 WEST", red once overdue; the service's zone."""
    due = item.deadline if item.is_live else None
    if due is None:
        return "—"
    what = "Answer" if item.vendor_status == V.PENDING else "Confirm"
    text = f"{what} by {format_moment(due, item.timezone)}"
    if item.is_overdue():
        return format_html("{} {}", badge("Overdue", "red"), text)
    return text


class VendorDeadlineFilter(admin.SimpleListFilter):
    title = "vendor's deadline"
    parameter_name = "deadline"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("overdue", "Overdue (answer or confirmation)"),
            ("due24", "Due within 24 hours"),
            ("running", "A deadline running"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        value = self.value()
        if value == "overdue":
            return queryset.filter(overdue_q(now))
        running = Q(cancelled_at__isnull=True) & (
            Q(vendor_status=V.PENDING, respond_by__isnull=False)
            | Q(vendor_status=V.ACCEPTED, confirm_by__isnull=False)
        )
        if value == "running":
            return queryset.filter(running)
        if value == "due24":
            soon = now + timedelta(hours=24)
            return queryset.filter(running).filter(
                Q(vendor_status=V.PENDING, respond_by__gte=now, respond_by__lt=soon)
                | Q(vendor_status=V.ACCEPTED, confirm_by__gte=now, confirm_by__lt=soon)
            )
        return queryset


class ItemVendorStatusFilter(admin.SimpleListFilter):
    title = "an item's vendor status"
    parameter_name = "vendor_status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("needs_vendor", "Needs a vendor (unassigned or declined)"), *V.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "needs_vendor":
            return queryset.filter(_live_items(vendor_status__in=[V.UNASSIGNED, V.DECLINED]))
        if value in V.values:
            return queryset.filter(_live_items(vendor_status=value))
        return queryset


class ItemVendorFilter(admin.SimpleListFilter):
    title = "vendor"
    parameter_name = "vendor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in Vendor.objects.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(_live_items(vendor_id=int(value)))
        return queryset


class TravelDateFilter(admin.SimpleListFilter):
    title = "service dates"
    parameter_name = "travel"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("next7", "Starting in the next 7 days"),
            ("next30", "Starting in the next 30 days"),
            ("underway", "Under way now"),
            ("past", "All services over"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        value = self.value()
        # A window of dates holds few items of years of them: read those from the
        # items' start index first, rather than test every booking for one (EXISTS).
        if value in ("next7", "next30"):
            days = 7 if value == "next7" else 30
            return queryset.filter(
                _bookings_with_live_items(start__gte=now, start__lt=now + timedelta(days=days))
            )
        if value == "underway":
            return queryset.filter(_live_items(start__lte=now, end__gte=now))
        if value == "past":
            return queryset.filter(_live_items()).exclude(_live_items(end__gte=now))
        return queryset


class BookingStatusFilter(admin.SimpleListFilter):
    """The item's booking status, without joining the bookings: a rare status (drafts)
    reads its bookings from the status index first (see ``related_in``)."""

    title = "booking status"
    # The name Django's own filter on booking__status used: links and bookmarks keep working.
    parameter_name = "booking__status__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(S.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in S.values:
            return queryset.filter(
                related_in("booking_id", Booking.objects.filter(status=self.value()))
            )
        return queryset


class LiveFilter(admin.SimpleListFilter):
    title = "live or cancelled"
    parameter_name = "live"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Live"), ("no", "Cancelled")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(cancelled_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(cancelled_at__isnull=False)
        return queryset


# --- item transitions (shared by the item admin and the booking page's item rows) ----


class TableTransitionsMixin:
    """Buttons only for the moves the state table lets this staff user make now.

    Each ``Transition``'s name is the table's verb; the service checks the same row.
    """

    machine: Machine

    def transition_buttons(self, request: HttpRequest, obj: Any) -> list[dict[str, Any]]:
        actor = admin_actor(request)
        buttons = super().transition_buttons(request, obj)  # type: ignore[misc]
        return [b for b in buttons if self.machine.can(b["name"], obj, actor)]


ITEM_TRANSITIONS = (
    Transition(
        "assign_vendor",
        "Assign vendor",
        calling(services.item_assign_vendor, "item"),
        done="Vendor asked",
        form=AssignVendorForm,
    ),
    Transition(
        "accept",
        "Mark accepted",
        calling(services.item_accept, "item"),
        done="Marked accepted on the vendor's behalf",
        help="Record that the vendor accepted (for a vendor who answered by phone or mail).",
    ),
    Transition(
        "decline",
        "Mark declined",
        calling(services.item_decline, "item"),
        done="Marked declined on the vendor's behalf",
        form=ReasonForm,
        help="Record that the vendor declined; the item is then ready for another vendor.",
    ),
    Transition(
        "confirm",
        "Mark confirmed",
        calling(services.item_confirm, "item"),
        done="Marked confirmed on the vendor's behalf",
        form=ConfirmForm,
        help="Record the vendor's confirmation. An approved booking whose items are all "
        "confirmed confirms itself.",
    ),
    Transition(
        "cancel",
        "Cancel item",
        calling(services.item_cancel, "item"),
        done="Cancelled",
        form=OptionalReasonForm,
        danger=True,
        help="The item stops counting in the totals; a vendor who was asked is told it "
        "is withdrawn.",
    ),
    Transition(
        "remove",
        "Remove item",
        calling(services.item_remove, "item"),
        done="Removed",
        permission="delete",
        danger=True,
        help="Deletes an item no vendor was told about, from a booking not yet approved.",
    ),
)


# --- booking page inlines -----------------------------------------------------------


def _item_lines() -> tuple[Any, ...]:
    """The booking page's item fields, a few to a line: a row of every field is wider
    than a 1280 px screen. A form field not placed here gets a line of its own."""
    lines: list[tuple[str, ...]] = [
        ("service_type", "description"),
        ("start", "end", "timezone"),
        ("quantity", "unit_price", "unit_cost", "line_total"),
        ("zero_price_reason",),
    ]
    placed = {name for line in lines for name in line}
    lines += [(name,) for name in ITEM_FORM_FIELDS if name not in placed]
    lines += [("vendor_link", "vendor_state", "vendor_reference"), ("item_actions",)]
    return tuple(line if len(line) > 1 else line[0] for line in lines)


class BookingItemInline(admin.StackedInline):
    model = BookingItem
    form = LocalServiceModelForm
    fieldsets = ((None, {"fields": _item_lines(), "classes": ("item-lines",)}),)
    readonly_fields = (
        "line_total",
        "vendor_link",
        "vendor_state",
        "vendor_reference",
        "item_actions",
    )
    show_change_link = True
    request: HttpRequest | None = None

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Inline instances are made per request, so keeping it for the row links is safe.
        self.request = request
        return super().get_queryset(request).select_related("vendor", "booking")

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 1 if obj is None else 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and (obj is None or obj.status in EDITABLE)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.status in EDITABLE)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.status in (S.DRAFT, S.PENDING_APPROVAL))

    @admin.display(description="total")
    def line_total(self, item: BookingItem) -> str:
        if item.pk is None:
            return ""
        return money(item.total_price, item.booking.currency)

    @admin.display(description="vendor")
    def vendor_link(self, item: BookingItem) -> str:
        return change_link(item.vendor) if item.vendor_id else "—"

    @admin.display(description="vendor status")
    def vendor_state(self, item: BookingItem) -> str:
        return item_badge(item) if item.pk else ""

    @admin.display(description="actions")
    def item_actions(self, item: BookingItem) -> str:
        if item.pk is None or self.request is None:
            return ""
        item_admin = self.admin_site.get_model_admin(BookingItem)
        back = reverse("admin:bookings_booking_change", args=[item.booking_id])
        buttons = item_admin.transition_buttons(self.request, item)
        return format_html_join(
            " ",
            '<a class="button" style="padding:2px 6px;font-size:11px;white-space:nowrap" '
            'href="{}">{}</a>',
            ((item_admin.transition_url(item, b["name"], back), b["label"]) for b in buttons),
        )


class BookingHistoryInline(AuditEntryInline):
    """The booking's history and that of its items, in one list."""

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)

        class BookingHistoryFormSet(formset):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                if self.instance is not None and self.instance.pk:
                    # The item ids as a list, not a subquery: an OR with IN (subquery)
                    # is planned as a scan of the whole audit table, while two plain
                    # conditions are two probes of its (content type, object) index.
                    items = list(
                        BookingItem.objects.filter(booking_id=self.instance.pk).values_list(
                            "pk", flat=True
                        )
                    )
                    self.queryset = AuditEntry.objects.filter(
                        Q(
                            content_type=ContentType.objects.get_for_model(Booking),
                            object_id=self.instance.pk,
                        )
                        | Q(
                            content_type=ContentType.objects.get_for_model(BookingItem),
                            object_id__in=items,
                        )
                    ).order_by("-created_at", "-id")

        return BookingHistoryFormSet


# --- bookings -----------------------------------------------------------------------


@admin.register(Booking)
class BookingAdmin(
    TableTransitionsMixin,
    ServiceDatesMixin,
    LargeTableAdminMixin,
    ServiceAdminMixin,
    admin.ModelAdmin,
):
    form = ServiceModelForm
    machine = BOOKING
    stay_after_add = True
    transitions = (
        Transition(
            "submit",
            "Submit for approval",
            calling(services.booking_submit, "booking"),
            done="Submitted for approval",
        ),
        Transition(
            "approve",
            "Approve",
            calling(services.booking_approve, "booking"),
            done="Approved",
            permission="approve",
        ),
        Transition(
            "cancel",
            "Cancel booking",
            calling(services.booking_cancel, "booking"),
            done="Cancelled",
            form=ReasonForm,
            danger=True,
            help="The broker or customer and every vendor already asked are told.",
        ),
        Transition(
            "complete",
            "Mark completed",
            calling(services.booking_complete, "booking"),
            done="Completed",
        ),
    )
    list_display = (
        "reference_code",
        "customer_name",
        "broker",
        "status_badge",
        "service_dates",
        "items_progress",
        "sell",
        "margin",
        "commission",
        "created_at",
    )
    list_display_links = ("reference_code", "customer_name")
    list_select_related = ("broker",)
    service_parent = "booking"
    list_filter = (
        AttentionFilter,
        "status",
        ItemVendorStatusFilter,
        TravelDateFilter,
        ("broker", admin.RelatedFieldListFilter),
        ItemVendorFilter,
        "source",
        ("currency", DistinctValuesFilter),
        "created_at",
    )
    search_fields = (
        "reference",
        "customer_name",
        "customer_email",
        "customer_phone",
        "broker__name",
        "broker__email",
        "items__vendor__name",
        "items__vendor__email",
        "items__vendor_reference",
    )
    search_help_text = "Reference, customer, broker or vendor name or email, vendor reference."
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    list_per_page = 100
    autocomplete_fields = ("broker",)
    view_on_site = False
    inlines = (BookingItemInline, BookingHistoryInline, NotificationInline)
    readonly_fields = (
        "reference",
        "status_badge",
        "source",
        "commission_rate",
        "offer_link",
        "totals",
        "created_by",
        "created_at",
        "submitted_at",
        "approved_at",
        "approved_by",
        "confirmed_at",
        "completed_at",
        "cancelled_at",
        "cancel_reason",
    )

    def service_rows(self) -> QuerySet:
        return BookingItem.objects.live()

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Subqueries, computed for the page's rows only (see live_items_figure).
        count = IntegerField()
        return (
            super()
            .get_queryset(request)
            .with_totals()
            .annotate(
                live_count=live_items_figure(Count("pk"), count, 0),
                confirmed_count=live_items_figure(Count("pk"), count, 0, vendor_status=V.CONFIRMED),
                to_assign_count=live_items_figure(
                    Count("pk"), count, 0, vendor_status__in=[V.UNASSIGNED, V.DECLINED]
                ),
            )
        )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        customer = (
            "Lead customer",
            {"fields": ("customer_name", "customer_email", "customer_phone")},
        )
        if obj is None:
            return [customer, ("Booking", {"fields": ("broker", "currency", "notes")})]
        return [
            (
                "Booking",
                {
                    "fields": (
                        ("reference", "status_badge"),
                        ("broker", "commission_rate"),
                        ("currency", "source"),
                        "offer_link",
                    )
                },
            ),
            customer,
            ("Totals of the live items", {"fields": ("totals",)}),
            ("Notes", {"fields": ("notes",)}),
            (
                "Timeline",
                {
                    "classes": ("collapse",),
                    "fields": (
                        ("created_at", "created_by"),
                        "submitted_at",
                        ("approved_at", "approved_by"),
                        "confirmed_at",
                        "completed_at",
                        ("cancelled_at", "cancel_reason"),
                    ),
                },
            ),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(self.readonly_fields)
        if obj is not None and obj.status != S.DRAFT:
            readonly += ["broker", "currency"]  # fixed once the booking leaves draft
        if obj is not None and obj.status not in OPEN:
            readonly += ["customer_name", "customer_email", "customer_phone", "notes"]
        return readonly

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # cancel instead: the history and the vendors' messages stay

    def has_approve_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("bookings.approve_booking")

    # ---- columns ---------------------------------------------------------------------

    @admin.display(description="reference", ordering="reference")
    def reference_code(self, booking: Booking) -> str:
        return nowrap(booking.reference)

    @admin.display(description="status", ordering="status")
    def status_badge(self, booking: Booking) -> str:
        return booking_badge(booking)

    @admin.display(description="vendors")
    def items_progress(self, booking: Booking) -> str:
        live = booking.live_count  # type: ignore[attr-defined]
        if not live:
            return "no items"
        text = f"{booking.confirmed_count}/{live} confirmed"  # type: ignore[attr-defined]
        todo = booking.to_assign_count  # type: ignore[attr-defined]
        if todo and booking.status in EDITABLE:
            return format_html("{} · {}", text, badge(f"{todo} need a vendor", "amber"))
        return text

    # Not sortable: ordering a million bookings by a sum of their items would compute
    # every sum before the first page (a stored, indexed total would be needed).
    @admin.display(description="sell")
    def sell(self, booking: Booking) -> str:
        return money(booking_totals(booking=booking).sell, booking.currency)

    @admin.display(description="margin")
    def margin(self, booking: Booking) -> str:
        return money(booking_totals(booking=booking).margin, booking.currency)

    @admin.display(description="commission")
    def commission(self, booking: Booking) -> str:
        if not booking.broker_id:
            return "—"
        return money(booking_totals(booking=booking).commission, booking.currency)

    @admin.display(description="totals")
    def totals(self, booking: Booking) -> str:
        totals = booking_totals(booking=booking)
        currency = booking.currency
        percent = f" ({totals.margin / totals.sell:.0%})" if totals.sell else ""
        rows = [
            ("Sell", money(totals.sell, currency)),
            ("Vendor cost", money(totals.cost, currency)),
            ("Margin", money(totals.margin, currency) + percent),
            (
                f"Broker commission ({booking.commission_rate}%)",
                money(totals.commission, currency),
            ),
            ("Margin after commission", money(totals.margin - totals.commission, currency)),
        ]
        body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        return format_html('<table class="totals">{}</table>', body)

    @admin.display(description="from offer")
    def offer_link(self, booking: Booking) -> str:
        try:
            offer = booking.offer  # type: ignore[attr-defined]
        except ObjectDoesNotExist:
            return "—"
        return change_link(offer)

    # ---- writes ------------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Booking, form: Any, change: bool) -> None:
        save_through_services(
            request,
            obj,
            form,
            change,
            fields=BOOKING_FORM_FIELDS,
            create=lambda actor, data: services.booking_create(actor=actor, **data),
            update=lambda booking, actor, data: services.booking_update(
                booking=booking, actor=actor, **data
            ),
        )

    def formset_savers(self) -> dict[Any, Any]:
        return {BookingItem: save_item_rows}


def save_item_rows(request: HttpRequest, formset: Any) -> None:
    """Save the booking page's item rows through item_add / item_update / item_remove."""
    save_rows(
        request,
        formset,
        noun="Item",
        fields=ITEM_FORM_FIELDS,
        add=lambda booking, actor, data: services.item_add(booking=booking, actor=actor, **data),
        update=lambda item, actor, data: services.item_update(item=item, actor=actor, **data),
        remove=lambda item, actor: services.item_remove(item=item, actor=actor),
    )


# --- items --------------------------------------------------------------------------


@admin.register(BookingItem)
class BookingItemAdmin(
    TableTransitionsMixin, LargeTableAdminMixin, ServiceAdminMixin, admin.ModelAdmin
):
    form = LocalServiceModelForm
    machine = ITEM
    transitions = ITEM_TRANSITIONS
    list_display = (
        "description",
        "booking_link",
        "service_type",
        "service_when",
        "quantity",
        "sell",
        "vendor",
        "vendor_state",
        "deadline_state",
        "vendor_reference",
    )
    list_select_related = ("booking", "vendor")
    list_filter = (
        AttentionFilter,
        VendorDeadlineFilter,
        "vendor_status",
        LiveFilter,
        "service_type",
        ("vendor", admin.RelatedFieldListFilter),
        BookingStatusFilter,
        "start",
    )
    search_fields = (
        "description",
        "vendor_reference",
        "booking__reference",
        "booking__customer_name",
        "booking__customer_email",
        "booking__broker__name",
        "vendor__name",
        "vendor__email",
    )
    search_help_text = (
        "Description, booking reference, customer, broker or vendor, vendor reference."
    )
    date_hierarchy = "start"
    ordering = ("start", "id")
    list_per_page = 100
    autocomplete_fields = ("booking",)
    inlines = (AuditEntryInline,)
    detail_readonly = (
        "booking_link",
        "booking_state",
        "sell",
        "vendor",
        "vendor_state",
        "vendor_reference",
        "decline_reason",
        "assigned_at",
        "responded_at",
        "deadline_state",
        "cancelled_at",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("booking", "vendor")

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if lookup == BookingStatusFilter.parameter_name:
            return True  # a filter of its own (BookingStatusFilter), not a lookup
        return super().lookup_allowed(lookup, value, request)

    def object_label(self, item: BookingItem) -> str:
        return f"{item.booking.reference} · {item}"

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [(None, {"fields": ("booking", *ITEM_FORM_FIELDS)})]
        return [
            ("Booking", {"fields": (("booking_link", "booking_state"),)}),
            (
                "Service",
                {
                    "fields": (
                        "service_type",
                        "description",
                        ("start", "end", "timezone"),
                        ("quantity", "unit_price", "unit_cost"),
                        "sell",
                    )
                },
            ),
            (
                "Vendor",
                {
                    "fields": (
                        ("vendor", "vendor_state"),
                        "vendor_reference",
                        "decline_reason",
                        ("assigned_at", "responded_at"),
                        "deadline_state",
                    )
                },
            ),
            (
                "Record",
                {"classes": ("collapse",), "fields": ("cancelled_at", "created_at", "updated_at")},
            ),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        frozen = (
            not obj.is_live
            or obj.vendor_status == V.CONFIRMED
            or obj.booking.status not in EDITABLE
        )
        return (*self.detail_readonly, *(ITEM_FORM_FIELDS if frozen else ()))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        # Bulk deletion would skip the rules; "Remove item" goes through item_remove.
        actions.pop("delete_selected", None)
        return actions

    # ---- columns ---------------------------------------------------------------------

    @admin.display(description="booking", ordering="booking__reference")
    def booking_link(self, item: BookingItem) -> str:
        return change_link(item.booking, item.booking.reference)

    @admin.display(description="booking status")
    def booking_state(self, item: BookingItem) -> str:
        return booking_badge(item.booking)

    @admin.display(description="total")
    def sell(self, item: BookingItem) -> str:
        return money(item.total_price, item.booking.currency)

    @admin.display(description="vendor status", ordering="vendor_status")
    def vendor_state(self, item: BookingItem) -> str:
        return item_badge(item)

    @admin.display(description="when (local time)", ordering="start")
    def service_when(self, item: BookingItem) -> str:
        return format_when(item.start, item.end, item.timezone)

    @admin.display(description="vendor's deadline")
    def deadline_state(self, item: BookingItem) -> str:
        return deadline_badge(item)

    # ---- writes ------------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: BookingItem, form: Any, change: bool) -> None:
        actor = admin_actor(request)
        data = {k: form.cleaned_data[k] for k in ITEM_FORM_FIELDS if k in form.cleaned_data}
        with service_errors():
            if change:
                changed = {k: v for k, v in data.items() if k in form.changed_data}
                if changed:
                    services.item_update(item=obj, actor=actor, **changed)
            else:
                booking = form.cleaned_data["booking"]
                adopt(obj, services.item_add(booking=booking, actor=actor, **data))

    def delete_model(self, request: HttpRequest, obj: BookingItem) -> None:
        with service_errors():
            services.item_remove(item=obj, actor=admin_actor(request))

"""Back office for vendors, brokers, their portal accounts, invitations and API keys.

Every write calls ``partners.services``; see ``core.admin_kit`` for how.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from core.admin_kit import (
    AuditEntryInline,
    ReadOnlyInlineMixin,
    ServiceAdminMixin,
    Transition,
    admin_actor,
    adopt,
    badge,
    calling,
    save_through_services,
    service_errors,
)
from notifications.admin_inlines import NotificationInline
from partners import services
from partners.admin_forms import (
    ApiKeyAddForm,
    BrokerAddForm,
    BrokerForm,
    InviteForm,
    VendorAddForm,
    VendorForm,
)
from partners.models import (
    ApiKey,
    Broker,
    Channel,
    Invitation,
    PortalAccount,
    ServiceType,
    Vendor,
)

INVITATION_TONES = {"open": "amber", "accepted": "green", "replaced": "grey", "expired": "red"}


def active_badge(is_active: bool) -> str:
    return badge("Active", "green") if is_active else badge("Inactive", "grey")


def change_link(obj: Any, text: str | None = None) -> str:
    if obj is None:
        return "—"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text or str(obj))


def partner_kind(obj: Any) -> str:
    return "vendor" if obj.vendor_id else "broker"


# --- list filters -------------------------------------------------------------------


class ServiceTypeFilter(admin.SimpleListFilter):
    title = "service type"
    parameter_name = "service_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(ServiceType.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value not in ServiceType.values:
            return queryset
        # JSON list stored as text on every backend: match the quoted element.
        return queryset.filter(service_types__icontains=f'"{value}"')


class PartnerKindFilter(admin.SimpleListFilter):
    title = "partner"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("vendor", "Vendors"), ("broker", "Brokers")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "vendor":
            return queryset.filter(vendor__isnull=False)
        if self.value() == "broker":
            return queryset.filter(broker__isnull=False)
        return queryset


class InvitationStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(state, state.capitalize()) for state in INVITATION_TONES]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        unused = Q(accepted_at__isnull=True, revoked_at__isnull=True)
        states = {
            "accepted": Q(accepted_at__isnull=False),
            "replaced": Q(accepted_at__isnull=True, revoked_at__isnull=False),
            "expired": unused & Q(expires_at__lte=now),
            "open": unused & Q(expires_at__gt=now),
        }
        condition = states.get(self.value() or "")
        return queryset.filter(condition) if condition is not None else queryset


class ApiKeyStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


# --- inlines on the partner pages ---------------------------------------------------


class PortalAccountInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = PortalAccount
    verbose_name_plural = "Portal accounts"
    fields = ("user_link", "user_email", "user_state", "last_login", "created_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user")

    @admin.display(description="user")
    def user_link(self, account: PortalAccount) -> str:
        return change_link(account.user, account.user.get_username())

    @admin.display(description="email")
    def user_email(self, account: PortalAccount) -> str:
        return account.user.email

    @admin.display(description="login")
    def user_state(self, account: PortalAccount) -> str:
        return active_badge(account.user.is_active)

    @admin.display(description="last login")
    def last_login(self, account: PortalAccount) -> Any:
        return account.user.last_login or "never"


class InvitationInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Invitation
    verbose_name_plural = "Invitations"
    fields = ("email", "state_badge", "created_at", "invited_by", "expires_at", "accepted_at")
    readonly_fields = fields
    ordering = ("-created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("created_by")

    @admin.display(description="state")
    def state_badge(self, invitation: Invitation) -> str:
        return badge(invitation.state.capitalize(), INVITATION_TONES[invitation.state])

    @admin.display(description="invited by")
    def invited_by(self, invitation: Invitation) -> str:
        return invitation.created_by.get_username() if invitation.created_by else "system"


# --- vendors and brokers ------------------------------------------------------------


def _is_active(partner: Any) -> bool:
    return bool(partner.is_active)


def _is_inactive(partner: Any) -> bool:
    return not partner.is_active


PARTNER_TRANSITIONS = (
    Transition(
        "invite",
        "Invite / re-invite",
        calling(services.partner_invite, "partner"),
        done="Invitation sent",
        form=InviteForm,
        when=_is_active,
        help="An email with a single-use link to set a portal password; it expires in a week.",
    ),
    Transition(
        "deactivate",
        "Deactivate",
        calling(services.partner_deactivate, "partner"),
        done="Deactivated",
        when=_is_active,
        danger=True,
        help="The partner's portal users and API keys stop working. Nothing is deleted; "
        "activate it again at any time.",
    ),
    Transition(
        "activate",
        "Activate",
        calling(services.partner_activate, "partner"),
        done="Activated",
        when=_is_inactive,
    ),
)


class PartnerAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """What the vendor and broker pages share."""

    add_form: Any
    editable_fields: tuple[str, ...]
    transitions = PARTNER_TRANSITIONS
    search_fields = ("name", "email", "phone")
    ordering = ("name",)
    list_per_page = 50
    readonly_fields = ("state", "created_at", "updated_at", "deactivated_at")
    inlines = (PortalAccountInline, InvitationInline, AuditEntryInline, NotificationInline)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: bookings and items keep pointing at partners

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [(None, {"fields": (*self.editable_fields, "send_invitation")})]
        return [
            (None, {"fields": self.editable_fields}),
            ("State", {"fields": ("state", "created_at", "updated_at", "deactivated_at")}),
        ]

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return super().get_inline_instances(request, obj) if obj is not None else []

    @admin.display(description="state", ordering="is_active")
    def state(self, partner: Any) -> str:
        return active_badge(partner.is_active)

    def create(self, *, actor: Any, **fields: Any) -> Any:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        partner = save_through_services(
            request,
            obj,
            form,
            change,
            fields=self.editable_fields,
            create=lambda actor, data: self.create(actor=actor, **data),
            update=lambda partner, actor, data: services.partner_update(
                partner=partner, actor=actor, **data
            ),
        )
        if partner is not None and form.cleaned_data.get("send_invitation"):
            with service_errors():
                invitation, _token = services.partner_invite(
                    partner=partner, actor=admin_actor(request)
                )
            self.message_user(request, f"Invitation sent to {invitation.email}.", messages.SUCCESS)


@admin.register(Vendor)
class VendorAdmin(PartnerAdmin):
    form = VendorForm
    add_form = VendorAddForm
    editable_fields = (
        "name",
        "email",
        "phone",
        "service_types",
        "notify_by",
        "timezone",
        "response_hours",
    )
    list_display = (
        "name",
        "email",
        "phone",
        "services",
        "channels",
        "state",
        "open_items",
        "portal_users",
        "created_at",
    )
    list_filter = ("is_active", ServiceTypeFilter, "created_at")

    def create(self, *, actor: Any, **fields: Any) -> Any:
        return services.vendor_create(actor=actor, **fields)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_item_count=Count(
                    "items",
                    filter=Q(
                        items__cancelled_at__isnull=True,
                        items__vendor_status__in=["pending", "accepted"],
                    ),
                    distinct=True,
                ),
                account_count=Count("accounts", distinct=True),
            )
        )

    @admin.display(description="supplies")
    def services(self, vendor: Vendor) -> str:
        return vendor.get_service_types_display() or "—"

    @admin.display(description="notify by")
    def channels(self, vendor: Vendor) -> str:
        labels = dict(Channel.choices)
        return ", ".join(labels.get(channel, channel) for channel in vendor.notify_by)

    @admin.display(description="open items", ordering="open_item_count")
    def open_items(self, vendor: Vendor) -> int:
        return vendor.open_item_count  # type: ignore[attr-defined]

    @admin.display(description="portal users", ordering="account_count")
    def portal_users(self, vendor: Vendor) -> int:
        return vendor.account_count  # type: ignore[attr-defined]


@admin.register(Broker)
class BrokerAdmin(PartnerAdmin):
    form = BrokerForm
    add_form = BrokerAddForm
    editable_fields = (
        "name",
        "email",
        "phone",
        "commission_rate",
        "deposit_percent",
        "deposit_due_days",
        "balance_due_days",
    )
    list_display = (
        "name",
        "email",
        "phone",
        "commission_rate",
        "state",
        "open_bookings",
        "portal_users",
        "created_at",
    )
    list_filter = ("is_active", "created_at")

    def create(self, *, actor: Any, **fields: Any) -> Any:
        return services.broker_create(actor=actor, **fields)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_booking_count=Count(
                    "bookings",
                    filter=~Q(bookings__status__in=["completed", "cancelled"]),
                    distinct=True,
                ),
                account_count=Count("accounts", distinct=True),
            )
        )

    @admin.display(description="open bookings", ordering="open_booking_count")
    def open_bookings(self, broker: Broker) -> int:
        return broker.open_booking_count  # type: ignore[attr-defined]

    @admin.display(description="portal users", ordering="account_count")
    def portal_users(self, broker: Broker) -> int:
        return broker.account_count  # type: ignore[attr-defined]


# --- portal accounts, invitations, API keys -----------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the services write; staff look, and act through transitions only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PortalAccount)
class PortalAccountAdmin(ReadOnlyAdmin):
    """Made when an invitation is accepted. To stop a login, deactivate the user or
    the partner."""

    list_display = ("user", "email", "kind", "partner_link", "login", "created_at")
    list_select_related = ("user", "vendor", "broker")
    list_filter = (PartnerKindFilter, "created_at")
    search_fields = ("user__username", "user__email", "vendor__name", "broker__name")
    fields = ("user_link", "email", "kind", "partner_link", "login", "created_at")
    readonly_fields = fields
    ordering = ("-created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user", "vendor", "broker")

    @admin.display(description="user")
    def user_link(self, account: PortalAccount) -> str:
        return change_link(account.user, account.user.get_username())

    @admin.display(description="email", ordering="user__email")
    def email(self, account: PortalAccount) -> str:
        return account.user.email

    @admin.display(description="kind")
    def kind(self, account: PortalAccount) -> str:
        return partner_kind(account)

    @admin.display(description="partner")
    def partner_link(self, account: PortalAccount) -> str:
        return change_link(account.partner)

    @admin.display(description="login")
    def login(self, account: PortalAccount) -> str:
        return active_badge(account.user.is_active)


def _resend(invitation: Invitation, actor: Any, data: dict[str, Any]) -> Any:
    return services.partner_invite(partner=invitation.partner, actor=actor, email=invitation.email)


def _not_accepted(invitation: Invitation) -> bool:
    return invitation.accepted_at is None


@admin.register(Invitation)
class InvitationAdmin(ServiceAdminMixin, ReadOnlyAdmin):
    transitions = (
        Transition(
            "resend",
            "Send again",
            _resend,
            done="Invitation sent again",
            permission="invite",
            when=_not_accepted,
            help="A new link replaces the old one, which stops working.",
        ),
    )
    list_display = (
        "email",
        "partner_link",
        "kind",
        "state_badge",
        "created_at",
        "invited_by",
        "expires_at",
        "accepted_at",
    )
    list_select_related = ("vendor", "broker", "created_by")
    list_filter = (InvitationStateFilter, PartnerKindFilter, "created_at")
    search_fields = ("email", "vendor__name", "broker__name")
    date_hierarchy = "created_at"
    fields = (
        "email",
        "partner_link",
        "state_badge",
        "created_at",
        "invited_by",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("vendor", "broker", "created_by", "accepted_by")
        )

    def has_invite_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        user = request.user
        if obj is not None:
            return user.has_perm(f"partners.change_{obj.partner._meta.model_name}")
        return user.has_perm("partners.change_vendor") or user.has_perm("partners.change_broker")

    @admin.display(description="partner")
    def partner_link(self, invitation: Invitation) -> str:
        return change_link(invitation.partner)

    @admin.display(description="kind")
    def kind(self, invitation: Invitation) -> str:
        return partner_kind(invitation)

    @admin.display(description="state")
    def state_badge(self, invitation: Invitation) -> str:
        return badge(invitation.state.capitalize(), INVITATION_TONES[invitation.state])

    @admin.display(description="invited by")
    def invited_by(self, invitation: Invitation) -> str:
        return invitation.created_by.get_username() if invitation.created_by else "system"


def _key_active(key: ApiKey) -> bool:
    return key.revoked_at is None


@admin.register(ApiKey)
class ApiKeyAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Keys are made by ``api_key_create``; the secret is shown once, then only its prefix."""

    transitions = (
        Transition(
            "revoke",
            "Revoke",
            calling(services.api_key_revoke, "key"),
            done="Revoked",
            when=_key_active,
            danger=True,
            help="The key stops working at once and for good.",
        ),
    )
    form = ApiKeyAddForm
    autocomplete_fields = ("user", "vendor", "broker")
    list_display = (
        "name",
        "key_prefix",
        "owner_link",
        "kind",
        "state",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    )
    list_select_related = ("user", "vendor", "broker", "created_by")
    list_filter = (ApiKeyStateFilter, "created_at", "last_used_at")
    search_fields = (
        "name",
        "prefix",
        "user__username",
        "user__email",
        "vendor__name",
        "broker__name",
    )
    date_hierarchy = "created_at"
    detail_fields = (
        "name",
        "key_prefix",
        "owner_link",
        "kind",
        "state",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: the history keeps the key's row

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.detail_fields if obj is not None else ("name", "user", "vendor", "broker")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.detail_fields if obj is not None else ()

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super().get_queryset(request).select_related("user", "vendor", "broker", "created_by")
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Nothing on a key is edited; it is only revoked.
        extra = {"show_save": False, "show_save_and_continue": False, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            return
        data = form.cleaned_data
        with service_errors():
            key, raw = services.api_key_create(
                actor=admin_actor(request),
                name=data.get("name") or "",
                user=data.get("user"),
                vendor=data.get("vendor"),
                broker=data.get("broker"),
            )
        adopt(obj, key)
        self.message_user(
            request,
            f"Copy this API key now; it is shown only once and cannot be recovered: {raw}",
            messages.WARNING,
        )

    @admin.display(description="key")
    def key_prefix(self, key: ApiKey) -> str:
        return f"{services.API_KEY_PREFIX}_{key.prefix}_…"

    @admin.display(description="owner")
    def owner_link(self, key: ApiKey) -> str:
        return change_link(key.owner)

    @admin.display(description="kind")
    def kind(self, key: ApiKey) -> str:
        return "staff user" if key.user_id else partner_kind(key)

    @admin.display(description="state", ordering="revoked_at")
    def state(self, key: ApiKey) -> str:
        return badge("Active", "green") if key.revoked_at is None else badge("Revoked", "red")

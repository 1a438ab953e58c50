"""``/api/v1/vendors/`` and ``/api/v1/brokers/``: staff manage partners.

A partner's own key may read its own record (nothing else: another partner is a
404); creating, changing and inviting need the staff permissions the services check.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.fields import PhoneNumbersMixin
from core.api.filters import ApiFilterSet
from core.api.viewsets import ApiViewSet, detail_url
from partners import services
from partners.models import Broker, Channel, Invitation, ServiceType, Vendor

PARTNER_FIELDS = ("id", "name", "email", "phone", "is_active", "created_at", "updated_at")
READ_ONLY = ("id", "created_at", "updated_at")


class VendorSerializer(PhoneNumbersMixin, serializers.ModelSerializer):
    service_types = serializers.ListField(
        child=serializers.ChoiceField(choices=ServiceType.choices), required=False
    )
    notify_by = serializers.ListField(
        child=serializers.ChoiceField(choices=Channel.choices), min_length=1, required=False
    )

    class Meta:
        model = Vendor
        fields = (*PARTNER_FIELDS, "service_types", "notify_by", "timezone", "response_hours")
        read_only_fields = READ_ONLY


class BrokerSerializer(PhoneNumbersMixin, serializers.ModelSerializer):
    class Meta:
        model = Broker
        fields = (
            *PARTNER_FIELDS,
            "commission_rate",
            "deposit_percent",
            "deposit_due_days",
            "balance_due_days",
        )
        read_only_fields = READ_ONLY


class InvitationSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)

    class Meta:
        model = Invitation
        fields = ("id", "email", "created_at", "expires_at", "state")
        read_only_fields = fields


class InviteSerializer(serializers.Serializer):
    email = serializers.EmailField(
        required=False, help_text="Whom to invite; the partner's contact email if left out."
    )


class VendorFilter(ApiFilterSet):
    class Meta:
        model = Vendor
        fields = {"is_active": ["exact"], "name": ["icontains"], "email": ["iexact"]}


class BrokerFilter(ApiFilterSet):
    class Meta:
        model = Broker
        fields = {"is_active": ["exact"], "name": ["icontains"], "email": ["iexact"]}


class _PartnerViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    ApiViewSet,
):
    model: type[Vendor] | type[Broker]
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ("name", "created_at", "updated_at", "id")
    ordering = ("name", "id")
    action_permissions = {"invite": []}  # partner_invite checks change_<partner>

    def get_queryset(self) -> QuerySet[Any]:
        queryset = self.model.objects.all()
        actor = self.actor
        if actor.is_partner:
            own = actor.vendor if self.model is Vendor else actor.broker
            return queryset.filter(pk=own.pk) if own is not None else queryset.none()
        return queryset

    def perform_create(self, serializer: serializers.ModelSerializer) -> None:
        fields = dict(serializer.validated_data)
        active = fields.pop("is_active", True)
        with transaction.atomic():
            create = services.vendor_create if self.model is Vendor else services.broker_create
            partner = create(actor=self.actor, **fields)
            if not active:
                partner = services.partner_deactivate(partner=partner, actor=self.actor)
        serializer.instance = partner

    def perform_update(self, serializer: serializers.ModelSerializer) -> None:
        fields = dict(serializer.validated_data)
        active = fields.pop("is_active", None)
        partner = serializer.instance
        with transaction.atomic():
            if fields or active is None:
                partner = services.partner_update(partner=partner, actor=self.actor, **fields)
            if active is not None and active != partner.is_active:
                change = services.partner_activate if active else services.partner_deactivate
                partner = change(partner=partner, actor=self.actor)
        serializer.instance = partner

    @extend_schema(request=InviteSerializer, responses={201: InvitationSerializer})
    @action(detail=True, methods=["post"])
    def invite(self, request: Request, pk: str | None = None) -> Response:
        """Invite someone to the partner's portal; the link goes by email only."""
        partner = self.get_object()
        data = InviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, _token = services.partner_invite(
            partner=partner, actor=self.actor, email=data.validated_data.get("email")
        )
        # The invitation is part of the partner; there is no URL of its own.
        return Response(
            InvitationSerializer(invitation).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": detail_url(request, f"{self.basename}-detail", partner.pk)},
        )


class VendorViewSet(_PartnerViewSet):
    """Vendors (suppliers). Staff with the partners permissions; a vendor's key sees itself."""

    model = Vendor
    queryset = Vendor.objects.all()
    serializer_class = VendorSerializer
    filterset_class = VendorFilter


class BrokerViewSet(_PartnerViewSet):
    """Brokers (resellers). Staff with the partners permissions; a broker's key sees itself."""

    model = Broker
    queryset = Broker.objects.all()
    serializer_class = BrokerSerializer
    filterset_class = BrokerFilter

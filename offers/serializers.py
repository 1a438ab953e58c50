"""What the API shows of offers and lines, and what it accepts.

Brokers see prices and their commission, never our costs or the vendors we propose.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bookings.models import ZERO
from bookings.rules import MAX_ITEMS_PER_BOOKING
from bookings.selectors import commission_for
from bookings.serializers import (
    BROKER,
    SERVICE_CHECKED,
    STAFF,
    ApiModelSerializer,
    BrokerTotalsSerializer,
    LocalTimesInput,
    ServiceTimeField,
    TotalsSchema,
    TotalsSerializer,
    actions_field,
    schema_serializer,
    totals_dict,
)
from offers.models import Offer, OfferLine
from partners.models import Broker, Vendor

LINE_FIELDS: dict[str, tuple[str, ...]] = {
    STAFF: (
        "id",
        "service_type",
        "description",
        "start",
        "end",
        "quantity",
        "unit_price",
        "unit_cost",
        "proposed_vendor",
        "timezone",
    ),
    BROKER: (
        "id",
        "service_type",
        "description",
        "start",
        "end",
        "timezone",
        "quantity",
        "unit_price",
    ),
}
OFFER_FIELDS = (
    "reference",
    "status",
    "broker",
    "customer_name",
    "customer_email",
    "customer_phone",
    "currency",
    "valid_until",
    "notes",
    "booking",
    "decline_reason",
    "sent_at",
    "responded_at",
    "created_at",
    "updated_at",
    "lines",
    "totals",
)


class LineSerializer(ApiModelSerializer):
    proposed_vendor = serializers.IntegerField(
        source="proposed_vendor_id", read_only=True, allow_null=True
    )
    start = ServiceTimeField(read_only=True, help_text="In the service's own offset (timezone).")
    end = ServiceTimeField(read_only=True, help_text="In the service's own offset (timezone).")
    timezone = serializers.CharField(
        read_only=True, help_text="Where the service happens (IANA name, e.g. Europe/Lisbon)."
    )

    class Meta:
        model = OfferLine
        fields = LINE_FIELDS[STAFF]
        read_only_fields = fields


class BrokerLineSerializer(LineSerializer):
    class Meta(LineSerializer.Meta):
        fields = LINE_FIELDS[BROKER]
        read_only_fields = fields


def offer_totals(offer: Offer, kind: str) -> dict[str, str]:
    """Totals of the (prefetched) lines; commission at the broker's current rate."""
    sell = cost = ZERO
    for line in offer.lines.all():
        sell += line.quantity * line.unit_price
        cost += line.quantity * line.unit_cost
    rate = offer.broker.commission_rate if offer.broker_id else Decimal(0)
    return totals_dict(sell, cost, commission_for(sell, rate), kind)


class OfferSerializer(ApiModelSerializer):
    """An offer as staff see it; ``booking`` is the reference of the booking it became."""

    broker = serializers.IntegerField(source="broker_id", read_only=True, allow_null=True)
    booking = serializers.CharField(source="booking.reference", read_only=True, allow_null=True)
    customer_email = serializers.CharField(read_only=True)  # may be blank: no email format
    lines = LineSerializer(many=True, read_only=True)
    totals = serializers.SerializerMethodField()
    kind = STAFF

    class Meta:
        model = Offer
        fields = OFFER_FIELDS
        read_only_fields = fields

    @extend_schema_field(TotalsSerializer)
    def get_totals(self, offer: Offer) -> dict[str, str]:
        return offer_totals(offer, self.kind)


class BrokerOfferSerializer(OfferSerializer):
    lines = BrokerLineSerializer(many=True, read_only=True)
    kind = BROKER

    @extend_schema_field(BrokerTotalsSerializer)
    def get_totals(self, offer: Offer) -> dict[str, str]:
        return offer_totals(offer, self.kind)


OFFER_SERIALIZERS: dict[str, type[OfferSerializer]] = {
    STAFF: OfferSerializer,
    BROKER: BrokerOfferSerializer,
}


# --- input -------------------------------------------------------------------------


class LineInputSerializer(LocalTimesInput, ApiModelSerializer):
    """A line to add. ``start`` and ``end`` without an offset are read where the line's
    service happens (its ``timezone``, else its proposed vendor's, else the default),
    as an item's are."""

    vendor_field = "proposed_vendor"
    proposed_vendor = serializers.PrimaryKeyRelatedField(
        queryset=Vendor.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = OfferLine
        fields = (
            "service_type",
            "description",
            "start",
            "end",
            "quantity",
            "unit_price",
            "unit_cost",
            "proposed_vendor",
            "timezone",
        )
        extra_kwargs = {**SERVICE_CHECKED, "timezone": {"required": False}}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return self.localize(attrs)


class OfferUpdateSerializer(ApiModelSerializer):
    broker = serializers.PrimaryKeyRelatedField(
        queryset=Broker.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Offer
        fields = (
            "broker",
            "customer_name",
            "customer_email",
            "customer_phone",
            "currency",
            "valid_until",
            "notes",
        )


class OfferInputSerializer(OfferUpdateSerializer):
    lines = LineInputSerializer(
        many=True,
        required=False,
        max_length=MAX_ITEMS_PER_BOOKING,
        error_messages={"max_length": f"An offer holds at most {MAX_ITEMS_PER_BOOKING} lines."},
    )

    class Meta(OfferUpdateSerializer.Meta):
        fields = (*OfferUpdateSerializer.Meta.fields, "lines")


class AcceptSerializer(serializers.Serializer):
    """Who travels. Left out, the offer's customer; an offer made to a broker without a
    customer needs ``lead_name`` and an email or a phone."""

    lead_name = serializers.CharField(required=False, allow_blank=True)
    lead_email = serializers.CharField(required=False, allow_blank=True)
    lead_phone = serializers.CharField(required=False, allow_blank=True)


class OptionalReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True)


# --- the OpenAPI schema (see bookings.serializers.schema_serializer) ------------------

LineSchema = schema_serializer("OfferLine", {STAFF: LineSerializer, BROKER: BrokerLineSerializer})
OfferSchema = schema_serializer(
    "Offer",
    OFFER_SERIALIZERS,
    nested={"lines": LineSchema(many=True, read_only=True), "totals": TotalsSchema(read_only=True)},
    extra={"actions": actions_field("offer")},
)

"""What the events feed and the webhook endpoints show, and what they accept."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from events import registry
from events.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


class EventSerializer(serializers.Serializer):
    """For the schema: the feed renders ``events.feed.event_document`` (the same shape
    a webhook's body has)."""

    id = serializers.UUIDField(help_text="Stable: the same in the feed and every webhook.")
    type = serializers.CharField(help_text="`booking.approved`, `booking_item.confirmed`, ...")
    occurred_at = serializers.DateTimeField()
    object = serializers.DictField(
        help_text="The object changed: `type` and the `id` the API knows it by "
        "(a booking's or an offer's reference, an item's number)."
    )
    data = serializers.DictField(
        help_text="The object's state after the change, as the caller sees it in the API "
        "(a broker's has no costs, a vendor's no prices and only its own items)."
    )


class FeedPageSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    cursor = serializers.CharField(
        help_text="Where the next page starts: pass it as `after`. When nothing is new it "
        "is the cursor you gave: poll again with it."
    )
    next = serializers.CharField(help_text="This feed's URL with `after` set to `cursor`.")
    has_more = serializers.BooleanField(help_text="More events are ready now.")


class WebhookSerializer(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active", read_only=True)
    owner = serializers.CharField(source="owner_kind", read_only=True)
    event_types = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = (
            "id",
            "url",
            "event_types",
            "description",
            "active",
            "owner",
            "failing_since",
            "disabled_at",
            "disabled_reason",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        allow_null=True,
        help_text="The signing secret, shown this once (null in an Idempotency-Key replay): "
        "keep it to verify `Webhook-Signature`.",
    )

    class Meta(WebhookSerializer.Meta):
        fields = (*WebhookSerializer.Meta.fields, "secret")
        read_only_fields = fields


def _type_field(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=registry.event_types()),
        allow_empty=False,
        max_length=100,
        **kwargs,
    )


class WebhookInputSerializer(serializers.Serializer):
    url = serializers.URLField(
        max_length=500, help_text="HTTPS, at a public address (HTTP only in development)."
    )
    event_types = _type_field(help_text="The event types to send.")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class WebhookUpdateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500, required=False)
    event_types = _type_field(required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    active = serializers.BooleanField(
        required=False, help_text="true turns a disabled endpoint on again."
    )


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = (
            "number",
            "started_at",
            "finished_at",
            "outcome",
            "status_code",
            "response_ms",
            "response_body",
            "error",
        )
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    event = serializers.UUIDField(source="event.id", read_only=True)
    event_type = serializers.CharField(source="event.type", read_only=True)
    log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "event",
            "event_type",
            "status",
            "attempts",
            "max_attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
            "failed_at",
            "log",
        )
        read_only_fields = fields

"""``/api/v1/notifications/``: the outbox, read only, for staff.

Partners have no notifications endpoint: their keys get a 403 on the list and a 404
on any row, like any other object that is not theirs.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from rest_framework import mixins, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

from core.api.filters import ApiFilterSet, UtcIsoDateTimeFilter
from core.api.viewsets import ApiViewSet
from notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = (
            "id",
            "kind",
            "channel",
            "status",
            "recipient_name",
            "recipient",
            "subject",
            "body_text",
            "whatsapp_template",
            "reference",
            "attempts",
            "max_attempts",
            "last_error",
            "interrupted_at",
            "possible_duplicate",
            "next_attempt_at",
            "created_at",
            "updated_at",
            "sent_at",
            "delivered_at",
            "read_at",
            "failed_at",
        )
        read_only_fields = fields


class NotificationFilter(ApiFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Notification.Status.choices)
    channel = django_filters.ChoiceFilter(choices=Notification.Channel.choices)
    kind = django_filters.CharFilter()
    reference = django_filters.CharFilter()
    possible_duplicate = django_filters.BooleanFilter(
        help_text="Sent again after an interrupted send: the recipient may have two copies."
    )
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Notification
        fields = ("status", "channel", "kind", "reference", "possible_duplicate")


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The notification outbox (email and WhatsApp), newest first."""

    serializer_class = NotificationSerializer
    queryset = Notification.objects.all()
    filterset_class = NotificationFilter
    ordering_fields = ("created_at", "updated_at", "id", "status")
    ordering = ("-created_at", "-id")

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.actor.is_partner and self.action == "list":
            raise PermissionDenied("Notifications are for staff only.")

    def get_queryset(self) -> QuerySet[Notification]:
        if self.actor.is_partner:
            return Notification.objects.none()
        return Notification.objects.all()

"""``/api/v1/``: payments, invoices and credit notes, commission statements.

Thin like the rest of the API: a booking or document is fetched through a selector
that scopes it to the caller (another broker's is a 404 before anything runs), then a
service acts with the caller's Actor.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from billing import documents, links, selectors, services
from billing.models import CommissionEntry, Instalment, Invoice, InvoiceLine, Payment, PaymentLink
from bookings import selectors as booking_selectors
from bookings.models import Booking
from core.api.viewsets import ApiViewSet
from partners.models import Broker

_ERRORS = {
    400: OpenApiResponse(description="Invalid input: messages per field."),
    403: OpenApiResponse(description="The key lacks the permission."),
    404: OpenApiResponse(description="No such object, or not the caller's."),
    409: OpenApiResponse(description="Not allowed in the object's state."),
}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: _ERRORS[code] for code in codes}


class PaymentSerializer(serializers.ModelSerializer):
    booking = serializers.CharField(source="booking.reference", read_only=True)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)

    class Meta:
        model = Payment
        fields = (
            "id",
            "booking",
            "amount",
            "currency",
            "method",
            "reference",
            "reason",
            "received_at",
            "provider",
            "created_at",
        )
        read_only_fields = fields


class PaymentInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField(max_length=3)
    method = serializers.ChoiceField(choices=Payment.Method.choices)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    received_at = serializers.DateTimeField(required=False)
    reason = serializers.CharField(
        required=False, allow_blank=True, help_text="Required for a refund (a negative amount)."
    )


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
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
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    booking = serializers.CharField(source="booking.reference", read_only=True)
    refers_to = serializers.CharField(source="refers_to.number", read_only=True, default=None)
    lines = InvoiceLineSerializer(many=True, read_only=True)

    class Meta:
        model = Invoice
        fields = (
            "number",
            "kind",
            "booking",
            "refers_to",
            "reason",
            "issued_at",
            "currency",
            "recipient_name",
            "lines",
            "net",
            "tax",
            "total",
        )
        read_only_fields = fields


class PaymentLinkInputSerializer(serializers.Serializer):
    instalment = serializers.IntegerField()
    provider = serializers.CharField(required=False, allow_blank=True)


class PaymentLinkSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentLink
        fields = (
            "id",
            "instalment",
            "provider",
            "url",
            "instructions",
            "amount",
            "currency",
            "status",
        )
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="Payments and refunds (a broker sees its own bookings')"),
    retrieve=extend_schema(
        summary="A payment or refund", responses={200: PaymentSerializer, **_errors(404)}
    ),
)
class PaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = PaymentSerializer
    permission_model = Payment
    extra_query_params = {"booking"}
    ordering_fields = ["received_at", "created_at", "amount"]
    ordering = ["-received_at", "-id"]

    def get_queryset(self) -> QuerySet[Payment]:
        queryset = selectors.payments_visible(actor=self.actor)
        reference = self.request.query_params.get("booking")
        return queryset.filter(booking__reference=reference) if reference else queryset


class BookingMoneyViewSet(ApiViewSet):
    """``/bookings/{reference}/payments/``, ``/invoice/`` and ``/payment-links/``."""

    permission_model = Payment
    queryset = Payment.objects.none()  # only for the schema: each action fetches its own
    extra_query_params = {"booking_payments": {"page", "page_size"}}
    serializer_class = PaymentSerializer
    action_permissions = {
        "booking_payments": ["billing.view_payment"],
        "record_payment": ["billing.add_payment"],
        "issue_invoice": ["billing.add_invoice"],
        "create_link": ["billing.add_paymentlink"],
    }

    def _booking(self) -> Booking:
        return booking_selectors.booking_get_visible(
            actor=self.actor, reference=self.kwargs["reference"]
        )

    @extend_schema(
        summary="A booking's payments and refunds",
        responses={200: PaymentSerializer(many=True), **_errors(403, 404)},
    )
    def booking_payments(self, request: Request, reference: str) -> Response:
        booking = self._booking()
        page = self.paginate_queryset(booking.payments.order_by("-received_at", "-id")) or []
        return self.get_paginated_response(PaymentSerializer(page, many=True).data)

    @extend_schema(
        summary="Record a payment, or a refund as a negative amount with a reason (staff)",
        request=PaymentInputSerializer,
        responses={201: PaymentSerializer, **_errors(400, 403, 404)},
    )
    def record_payment(self, request: Request, reference: str) -> Response:
        booking = self._booking()
        data = _valid(PaymentInputSerializer, request.data)
        payment = services.payment_record(booking=booking, actor=self.actor, **data)
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Invoice everything sold and not yet invoiced (409 when nothing is)",
        request=None,
        responses={201: InvoiceSerializer, **_errors(403, 404, 409)},
    )
    def issue_invoice(self, request: Request, reference: str) -> Response:
        invoice = services.invoice_issue(booking=self._booking(), actor=self.actor)
        invoice = Invoice.objects.prefetch_related("lines").get(pk=invoice.pk)
        return Response(InvoiceSerializer(invoice).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="A payment link for an instalment (staff, or the booking's broker)",
        request=PaymentLinkInputSerializer,
        responses={201: PaymentLinkSerializer, **_errors(400, 403, 404, 409)},
    )
    def create_link(self, request: Request, reference: str) -> Response:
        booking = self._booking()
        data = _valid(PaymentLinkInputSerializer, request.data)
        instalment = Instalment.objects.filter(booking=booking, pk=data["instalment"]).first()
        if instalment is None:
            raise ValidationError({"instalment": ["No such instalment on this booking."]})
        link = links.payment_link_create(
            instalment=instalment, actor=self.actor, provider=data.get("provider") or ""
        )
        return Response(PaymentLinkSerializer(link).data, status=status.HTTP_201_CREATED)


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> Any:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema_view(
    list=extend_schema(
        summary="Invoices and credit notes (a broker sees its own bookings')",
        parameters=[
            OpenApiParameter("booking", str, description="A booking reference"),
            OpenApiParameter("kind", str, enum=["invoice", "credit_note"]),
        ],
    ),
    retrieve=extend_schema(summary="An invoice or credit note"),
)
class InvoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = InvoiceSerializer
    permission_model = Invoice
    extra_query_params = {"list": {"booking", "kind"}}
    lookup_field = "number"
    lookup_value_regex = "[A-Za-z0-9-]{1,30}"
    ordering_fields = ["issued_at", "number"]
    ordering = ["-issued_at", "-id"]
    http_method_names = ["get", "put", "patch", "delete", "head", "options"]
    action_permissions = {
        "update": ["billing.view_invoice"],
        "partial_update": ["billing.view_invoice"],
        "destroy": ["billing.view_invoice"],
    }

    def get_queryset(self) -> QuerySet[Invoice]:
        queryset = selectors.invoices_visible(actor=self.actor)
        params = self.request.query_params
        if params.get("booking"):
            queryset = queryset.filter(booking__reference=params["booking"])
        if params.get("kind"):
            queryset = queryset.filter(kind=params["kind"])
        return queryset

    def _invoice(self) -> Invoice:
        return selectors.invoice_get_visible(actor=self.actor, number=self.kwargs["number"])

    @extend_schema(
        summary="Issued documents never change: always 409",
        request=None,
        responses=_errors(404, 409),
    )
    def update(self, request: Request, number: str) -> Response:
        services.invoice_refuse_change(invoice=self._invoice())
        raise AssertionError("unreachable")  # pragma: no cover

    @extend_schema(
        summary="Issued documents never change: always 409",
        request=None,
        responses=_errors(404, 409),
    )
    def partial_update(self, request: Request, number: str) -> Response:
        return self.update(request, number)

    @extend_schema(
        summary="Issued documents are never deleted: always 409", responses=_errors(404, 409)
    )
    def destroy(self, request: Request, number: str) -> Response:
        return self.update(request, number)

    @extend_schema(
        summary="The document as PDF",
        responses={(200, "application/pdf"): bytes, **_errors(404)},
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, number: str) -> HttpResponse:
        invoice = self._invoice()
        return pdf_response(invoice)


def pdf_response(invoice: Invoice) -> HttpResponse:
    response = HttpResponse(documents.invoice_pdf(invoice=invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{documents.invoice_filename(invoice)}"'
    return response


class StatementQuerySerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM, e.g. 2027-05")
    broker = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="Staff only: one broker"
    )

    def validate_month(self, value: str) -> str:
        if len(value) != 7 or selectors.parse_month(value) is None:
            raise serializers.ValidationError("Give a month as YYYY-MM, e.g. 2027-05.")
        return value


class StatementEntrySerializer(serializers.Serializer):
    date = serializers.DateField()
    booking = serializers.CharField()
    document = serializers.CharField()
    description = serializers.CharField()
    base = serializers.DecimalField(max_digits=12, decimal_places=2)
    rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)


class StatementSerializer(serializers.Serializer):
    broker = serializers.IntegerField()
    broker_name = serializers.CharField()
    month = serializers.CharField()
    currency = serializers.CharField()
    opening_balance = serializers.DecimalField(max_digits=12, decimal_places=2)
    entries = StatementEntrySerializer(many=True)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    closing_balance = serializers.DecimalField(max_digits=12, decimal_places=2)


class BrokerStatementsSerializer(serializers.Serializer):
    broker = serializers.IntegerField()
    broker_name = serializers.CharField()
    month = serializers.CharField()
    statements = StatementSerializer(many=True, help_text="One per currency.")


@extend_schema_view(
    list=extend_schema(
        summary="Monthly commission statements (a broker key: its own; staff: any)",
        description="One result per broker (a page of brokers by name), each with a "
        "statement per currency: opening balance, the month's entries, closing balance.",
        parameters=[StatementQuerySerializer],
        responses={200: BrokerStatementsSerializer(many=True), **_errors(400, 404)},
    )
)
class CommissionStatementViewSet(mixins.ListModelMixin, ApiViewSet):
    permission_model = CommissionEntry
    serializer_class = BrokerStatementsSerializer
    extra_query_params = {"month", "broker"}
    ordering_fields = ["name", "id"]
    ordering = ["name", "id"]

    def get_queryset(self) -> QuerySet[Broker]:
        if getattr(self, "swagger_fake_view", False):
            return Broker.objects.none()
        brokers = selectors.brokers_visible(actor=self.actor)
        if self.actor.is_partner:
            return brokers
        query = self._query()
        if "broker" in query:
            return brokers.filter(pk=query["broker"])
        return brokers.filter(pk__in=CommissionEntry.objects.values("broker_id"))

    def _query(self) -> dict[str, Any]:
        return _valid(StatementQuerySerializer, self.request.query_params)

    def list(self, request: Request) -> Response:
        query = self._query()
        month = selectors.parse_month(query["month"])
        assert month is not None  # noqa: S101 - the serializer checked its shape
        if self.actor.is_partner and query.get("broker") not in (
            None,
            self.actor.broker and self.actor.broker.pk,
        ):
            return Response({"detail": "Not found.", "code": "not_found"}, status=404)
        brokers = self.paginate_queryset(self.filter_queryset(self.get_queryset())) or []
        return self.get_paginated_response(
            [
                {
                    "broker": broker.pk,
                    "broker_name": broker.name,
                    "month": query["month"],
                    "statements": [
                        statement.as_dict()
                        for statement in selectors.commission_statements(broker=broker, month=month)
                    ],
                }
                for broker in brokers
            ]
        )

from django.urls import path
from rest_framework.routers import SimpleRouter

from billing.api import (
    BookingMoneyViewSet,
    CommissionStatementViewSet,
    InvoiceViewSet,
    PaymentViewSet,
)

router = SimpleRouter()
router.register("payments", PaymentViewSet, basename="api-payment")
router.register("invoices", InvoiceViewSet, basename="api-invoice")
router.register(
    "commission-statements", CommissionStatementViewSet, basename="api-commission-statement"
)

REFERENCE = "bookings/<str:reference>/"

urlpatterns = [
    path(
        REFERENCE + "payments/",
        BookingMoneyViewSet.as_view(
            {"get": "booking_payments", "post": "record_payment"}, basename="api-booking"
        ),
        name="api-booking-payments",
    ),
    path(
        REFERENCE + "invoice/",
        BookingMoneyViewSet.as_view({"post": "issue_invoice"}, basename="api-booking"),
        name="api-booking-invoice",
    ),
    path(
        REFERENCE + "payment-links/",
        BookingMoneyViewSet.as_view({"post": "create_link"}, basename="api-booking"),
        name="api-booking-payment-links",
    ),
    *router.urls,
]

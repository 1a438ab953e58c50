"""``/api/v1/``: partners and notifications here, bookings and offers from their apps."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from notifications.api import NotificationViewSet
from partners.api import BrokerViewSet, VendorViewSet

router = SimpleRouter(trailing_slash=True)
router.register("vendors", VendorViewSet, basename="vendor")
router.register("brokers", BrokerViewSet, basename="broker")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = [
    path("", include(router.urls)),
    path("", include("bookings.api_urls")),
    path("", include("offers.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

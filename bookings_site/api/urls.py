"""``/api/v1/``: partners and notifications here, bookings and offers from their apps."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from notifications.api import NotificationViewSet
from partners.api import BrokerViewSet, VendorViewSet

router = SimpleRouter(trailing_slash=True)
router.register("vendors", VendorViewSet, basename="vendor")
router.register("brokers", BrokerViewSet, basename="broker")
router.register("notifications", NotificationViewSet, basename="notification")


@csrf_exempt  # it changes nothing; a 403 CSRF page would hide the 404
def not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Any other path under /api/v1/: a JSON 404 like the API's own, not an HTML page."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


urlpatterns = [
    path("", include(router.urls)),
    path("", include("bookings.api_urls")),
    path("", include("offers.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Last: whatever matched nothing above.
    re_path(r"^", not_found),
]

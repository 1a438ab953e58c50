"""``/api/v1/``: partners and notifications here, bookings and offers from their apps."""

from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, ResolverMatch, include, path, re_path, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from events.api import EventDetailView, EventFeedView, WebhookViewSet
from notifications.api import NotificationViewSet
from partners.api import BrokerViewSet, VendorViewSet

router = SimpleRouter(trailing_slash=True)
router.register("vendors", VendorViewSet, basename="vendor")
router.register("brokers", BrokerViewSet, basename="broker")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("webhooks", WebhookViewSet, basename="webhook")


@csrf_exempt  # it changes nothing; a 403 CSRF page would hide the 404
def not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Any other path under /api/v1/: a JSON 404 like the API's own, not an HTML page.

    It also stands in for CommonMiddleware's APPEND_SLASH redirect (which would drop a
    POST's body): a path that exists with a trailing slash says so.
    """
    detail = "Not found."
    if not request.path.endswith("/"):
        match = resolve_or_none(request.path + "/")
        if match is not None and match.func is not not_found:
            detail = f"Not found. Paths end with a slash: {request.path}/"
    return JsonResponse({"detail": detail, "code": "not_found"}, status=404)


def resolve_or_none(path: str) -> ResolverMatch | None:
    try:
        return resolve(path)
    except Resolver404:
        return None


urlpatterns = [
    path("", include(router.urls)),
    path("events/", EventFeedView.as_view(), name="event-feed"),
    path("events/<uuid:event_id>/", EventDetailView.as_view(), name="event-detail"),
    path("", include("bookings.api_urls")),
    path("", include("offers.api_urls")),
    path("", include("billing.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Last: whatever matched nothing above.
    re_path(r"^", not_found),
]

from rest_framework.routers import SimpleRouter

from bookings.api import BookingItemViewSet, BookingViewSet

router = SimpleRouter()
router.register("bookings", BookingViewSet, basename="api-booking")
router.register("booking-items", BookingItemViewSet, basename="api-bookingitem")

urlpatterns = router.urls

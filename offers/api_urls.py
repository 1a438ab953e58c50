from rest_framework.routers import SimpleRouter

from offers.api import OfferViewSet

router = SimpleRouter()
router.register("offers", OfferViewSet, basename="api-offer")

urlpatterns = router.urls

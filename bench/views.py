"""The raw baseline of the API throughput ratio.

50 rows of one table through ``.values()`` as a ``JsonResponse``: what Django and
the database give with no serializer, no authentication and no nesting. The columns
are the booking's own fields that the API list shows (not all 25 columns, whose many
timestamps would make the baseline slower and the ratio flatter than it is).
Present only under BENCH settings, never cached.
"""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from bookings.models import Booking

FIELDS = (
    "id",
    "reference",
    "status",
    "broker_id",
    "customer_name",
    "customer_email",
    "customer_phone",
    "currency",
    "notes",
    "created_at",
    "updated_at",
)


@never_cache
def baseline(request: HttpRequest) -> JsonResponse:
    rows = list(Booking.objects.order_by("-created_at", "-id").values(*FIELDS)[:50])
    return JsonResponse({"count": len(rows), "results": rows})

"""Health endpoints for load balancers and orchestrators.

``/healthz``: the process answers (liveness; touches nothing else, so a database
outage does not get every web process restarted).
``/readyz``: this process can do useful work (readiness): the database answers and
the notification outbox is moving, i.e. the oldest notification that is due is
younger than ``READYZ_MAX_OUTBOX_LAG`` seconds. Otherwise 503 with the reason.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from notifications.models import Notification

logger = logging.getLogger(__name__)

DEFAULT_MAX_OUTBOX_LAG = 300  # seconds


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    max_lag = getattr(settings, "READYZ_MAX_OUTBOX_LAG", DEFAULT_MAX_OUTBOX_LAG)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        oldest_due = (
            Notification.objects.filter(
                status=Notification.Status.PENDING, next_attempt_at__lte=timezone.now()
            )
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first()
        )
    except DatabaseError as exc:
        # The reason is for the operator's probe; the details (host, port, driver
        # message) go to the log, not to whoever can reach the endpoint.
        logger.error("readyz: database unavailable: %s", exc.__class__.__name__, exc_info=True)
        return JsonResponse({"status": "unavailable", "reason": "database unavailable"}, status=503)
    lag = (timezone.now() - oldest_due).total_seconds() if oldest_due else 0.0
    body = {
        "status": "ok",
        "database": "ok",
        "outbox_lag_seconds": round(lag, 1),
        "check_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if lag > max_lag:
        body.update(
            status="unavailable",
            reason=(
                f"notification outbox stuck: oldest due notification waiting {lag:.0f}s "
                f"(limit {max_lag}s)"
            ),
        )
        return JsonResponse(body, status=503)
    return JsonResponse(body)

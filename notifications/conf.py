"""The delivery knobs, read from settings at call time (so tests can override them).

``bookings_site/settings.py`` sets each from the environment; the defaults here only
matter for a settings module that leaves one out.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings

DEFAULT_BACKENDS = {
    "email": "notifications.backends.email.EmailBackend",
    "whatsapp": "notifications.backends.whatsapp.ConsoleBackend",
}


def backend_path(channel: str) -> str:
    backends = {**DEFAULT_BACKENDS, **getattr(settings, "NOTIFICATION_BACKENDS", {})}
    return backends[channel]


def max_attempts() -> int:
    return int(getattr(settings, "NOTIFICATION_MAX_ATTEMPTS", 8))


def retry_delay(attempt: int, *, retry_after: float | None = None) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1-based).

    Doubles from NOTIFICATION_RETRY_DELAY up to NOTIFICATION_RETRY_MAX_DELAY, with
    +-20 % jitter so rows that failed together (a provider outage) do not all come
    back in the same second. A provider's Retry-After is honoured as a minimum.
    """
    base = float(getattr(settings, "NOTIFICATION_RETRY_DELAY", 60.0))
    cap = float(getattr(settings, "NOTIFICATION_RETRY_MAX_DELAY", 3600.0))
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    delay *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return timedelta(seconds=delay)


def claim_stale_after() -> timedelta:
    default = settings.Q_CLUSTER.get("timeout", 60) + 30
    return timedelta(seconds=float(getattr(settings, "NOTIFICATION_CLAIM_STALE_AFTER", default)))


def sweep_grace() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "NOTIFICATION_SWEEP_GRACE", 30.0)))


def retention_days() -> int:
    return int(getattr(settings, "NOTIFICATION_RETENTION_DAYS", 90))

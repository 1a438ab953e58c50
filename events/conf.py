"""Webhook knobs, read from settings at call time (tests override them).

``bookings_site/settings.py`` sets each from the environment.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings


def allow_private_targets() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False))


def allow_http() -> bool:
    return bool(settings.DEBUG) or allow_private_targets()


def max_attempts() -> int:
    return int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 12))


def retry_delay(attempt: int, *, retry_after: float | None = None) -> timedelta:
    """After failed attempt ``attempt`` (1-based): doubling from WEBHOOK_RETRY_DELAY up
    to WEBHOOK_RETRY_MAX_DELAY, +-20 % jitter; a receiver's Retry-After is a minimum."""
    base = float(getattr(settings, "WEBHOOK_RETRY_DELAY", 30.0))
    cap = float(getattr(settings, "WEBHOOK_RETRY_MAX_DELAY", 3600.0))
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    delay *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return timedelta(seconds=delay)


def disable_after() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "WEBHOOK_DISABLE_AFTER", 3 * 24 * 3600)))


def connect_timeout() -> float:
    return float(getattr(settings, "WEBHOOK_CONNECT_TIMEOUT", 3.05))


def read_timeout() -> float:
    return float(getattr(settings, "WEBHOOK_READ_TIMEOUT", 10.0))


def claim_stale_after() -> timedelta:
    default = settings.Q_CLUSTER.get("timeout", 60) + 30
    return timedelta(seconds=float(getattr(settings, "WEBHOOK_CLAIM_STALE_AFTER", default)))


def sweep_grace() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "WEBHOOK_SWEEP_GRACE", 30.0)))


def staff_group() -> str:
    return str(getattr(settings, "WEBHOOK_STAFF_GROUP", "Partner managers"))


def retention() -> timedelta | None:
    """How long events (and their webhook delivery log) are kept; None: for ever."""
    days = float(getattr(settings, "EVENTS_RETENTION_DAYS", 90))
    return timedelta(days=days) if days > 0 else None


RESPONSE_BODY_LIMIT = 2000

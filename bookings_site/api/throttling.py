"""A per-key (or per-user) rate limit: a fixed-window counter in the default cache.

DRF's ``SimpleRateThrottle`` keeps a list of every request's timestamp and rewrites
it on each request (1,200 floats at the default rate); a counter costs one ``add`` and
one ``incr``. The window may admit up to twice the rate across its boundary, which is
fine for protecting the service. The counters live in ``API_THROTTLE_CACHE`` (see
settings: Redis when there is one, else per process, never the database cache).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from bookings_site.api.actors import owner_token

PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"1200/min"`` -> (1200, 60)."""
    try:
        count, period = rate.split("/")
        return int(count), PERIODS[period.strip().lower()]
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"API_RATE_LIMIT {rate!r} is not like '1200/min'.") from exc


def counter_cache() -> BaseCache:
    """``API_THROTTLE_CACHE`` if configured (tests replace CACHES), else the default."""
    alias = getattr(settings, "API_THROTTLE_CACHE", "default")
    return caches[alias if alias in settings.CACHES else "default"]


class ApiRateThrottle(BaseThrottle):
    scope = "api"

    def __init__(self) -> None:
        self.wait_seconds: float | None = None

    def get_ident_key(self, request: Request) -> str:
        return owner_token(request) or f"ip:{self.get_ident(request)}"

    def allow_request(self, request: Request, view: Any) -> bool:
        rate = getattr(settings, "API_RATE_LIMIT", "")
        if not rate:
            return True
        limit, period = parse_rate(rate)
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.scope}:{self.get_ident_key(request)}:{period}:{window}"
        cache = counter_cache()
        cache.add(key, 0, timeout=period + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=period + 1)
            count = 1
        if count <= limit:
            return True
        self.wait_seconds = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        return self.wait_seconds

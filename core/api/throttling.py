"""A per-key (or per-user) rate limit: a fixed-window counter.

DRF's ``SimpleRateThrottle`` keeps a list of every request's timestamp and rewrites
it on each request (1,200 floats at the default rate); a counter costs one increment.
A fixed window may admit up to twice the rate across its boundary, which is fine for
protecting the service.

The counters live in the cache named by ``API_THROTTLE_CACHE`` (Redis in production
when there is one: shared by every worker) or, when that is empty, in this process's
memory (the limit then applies per worker process). Never the database cache: it
would add four queries, two of them writes, to every request.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from core.api.actors import owner_token

PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
MAX_LOCAL_COUNTERS = 100_000

_local: dict[str, tuple[int, int]] = {}
_local_lock = threading.Lock()


def parse_rate(rate: str) -> tuple[int, int]:
    """``"1200/min"`` -> (1200, 60)."""
    try:
        count, period = rate.split("/")
        return int(count), PERIODS[period.strip().lower()]
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"API_RATE_LIMIT {rate!r} is not like '1200/min'.") from exc


def reset_counters() -> None:
    with _local_lock:
        _local.clear()


def _count_locally(ident: str, window: int) -> int:
    with _local_lock:
        seen_window, count = _local.get(ident, (window, 0))
        count = count + 1 if seen_window == window else 1
        if len(_local) >= MAX_LOCAL_COUNTERS:
            _local.clear()
        _local[ident] = (window, count)
        return count


def _count_in_cache(alias: str, ident: str, window: int, period: int) -> int:
    cache = caches[alias]
    key = f"throttle:{ident}:{period}:{window}"
    cache.add(key, 0, timeout=period + 1)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=period + 1)
        return 1


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
        ident = f"{self.scope}:{self.get_ident_key(request)}"
        alias = getattr(settings, "API_THROTTLE_CACHE", "")
        if alias:
            count = _count_in_cache(alias, ident, window, period)
        else:
            count = _count_locally(ident, window)
        if count <= limit:
            return True
        self.wait_seconds = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        return self.wait_seconds

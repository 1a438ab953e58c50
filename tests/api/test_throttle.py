"""The per-key rate limit: 429 with Retry-After, counted per key (or user)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from core.api.throttling import parse_rate, reset_counters
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/vendors/"


@pytest.fixture(autouse=True, params=["", "default"], ids=["in-process", "cache"])
def _limit(settings: Any, request: Any) -> None:
    """Every test runs with the counters in this process and in the cache."""
    cache.clear()
    reset_counters()
    settings.API_RATE_LIMIT = "3/hour"
    settings.API_THROTTLE_CACHE = request.param


def test_past_the_limit_is_429_with_retry_after(superuser_client: Any) -> None:
    for _ in range(3):
        assert superuser_client.get(URL).status_code == 200
    response = superuser_client.get(URL)
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 3600


def test_each_key_has_its_own_budget(make_key: Any, superuser: Any) -> None:
    _, first = make_key(user=superuser)
    _, second = make_key(user=superuser)
    for _ in range(3):
        key_client(first).get(URL)
    assert key_client(first).get(URL).status_code == 429
    assert key_client(second).get(URL).status_code == 200


def test_partner_keys_are_limited_too(vendor_client: Any) -> None:
    for _ in range(3):
        assert vendor_client.get(URL).status_code == 200
    assert vendor_client.get(URL).status_code == 429


def test_empty_rate_turns_the_limit_off(superuser_client: Any, settings: Any) -> None:
    settings.API_RATE_LIMIT = ""
    for _ in range(5):
        assert superuser_client.get(URL).status_code == 200


def test_rate_parsing() -> None:
    assert parse_rate("1200/min") == (1200, 60)
    assert parse_rate("5/s") == (5, 1)
    with pytest.raises(ImproperlyConfigured):
        parse_rate("lots")

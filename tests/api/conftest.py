"""Fixtures for the API tests: clients holding a staff, broker or vendor key.

``make_key(user=... | vendor=... | broker=...)`` makes a key through
``partners.services.api_key_create`` and returns (ApiKey, raw key);
``key_client(raw)`` gives a DRF test client sending ``Authorization: Api-Key <raw>``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from core.domain import SYSTEM
from partners.api_auth import forget_keys
from partners.models import ApiKey
from partners.services import api_key_create
from tests import factories

KeyMaker = Callable[..., tuple[ApiKey, str]]


@pytest.fixture(autouse=True)
def _api_settings(settings: Any) -> Iterator[None]:
    # The rate limit and the per-process key memory have their own tests; elsewhere
    # they must not interfere (a test revoking a key expects the next call to fail).
    settings.API_RATE_LIMIT = ""
    settings.API_KEY_CACHE_SECONDS = 0
    forget_keys()
    yield
    forget_keys()


def key_client(raw: str | None = None) -> APIClient:
    client = APIClient()
    if raw is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def make_key(db: None) -> KeyMaker:
    def make(**owner: Any) -> tuple[ApiKey, str]:
        owner.setdefault("name", "test key")
        return api_key_create(actor=SYSTEM, **owner)

    return make


@pytest.fixture
def staff_with_perms(db: None) -> Callable[..., Any]:
    """A staff user holding exactly the given ``app_label.codename`` permissions."""

    def make(perms: Iterable[str] = (), **fields: Any) -> Any:
        user = factories.StaffFactory(**fields)
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return user

    return make


@pytest.fixture
def staff_client(
    make_key: KeyMaker, staff_with_perms: Callable[..., Any]
) -> Callable[..., APIClient]:
    """``staff_client(["partners.view_vendor", ...])``: a client with a staff key holding
    just those permissions (``superuser=True`` for all)."""

    def make(perms: Iterable[str] = (), *, superuser: bool = False) -> APIClient:
        user = factories.SuperuserFactory() if superuser else staff_with_perms(perms)
        _, raw = make_key(user=user)
        client = key_client(raw)
        client.user = user  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
def superuser_client(staff_client: Callable[..., APIClient]) -> APIClient:
    return staff_client(superuser=True)


@pytest.fixture
def broker_client(make_key: KeyMaker, broker: Any) -> APIClient:
    _, raw = make_key(broker=broker)
    return key_client(raw)


@pytest.fixture
def other_broker_client(make_key: KeyMaker, other_broker: Any) -> APIClient:
    _, raw = make_key(broker=other_broker)
    return key_client(raw)


@pytest.fixture
def vendor_client(make_key: KeyMaker, vendor: Any) -> APIClient:
    _, raw = make_key(vendor=vendor)
    return key_client(raw)


@pytest.fixture
def other_vendor_client(make_key: KeyMaker, other_vendor: Any) -> APIClient:
    _, raw = make_key(vendor=other_vendor)
    return key_client(raw)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()

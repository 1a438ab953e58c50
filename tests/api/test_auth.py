"""Api-Key and session authentication, actors and the 401 / 403 semantics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIClient

from core.api.actors import api_actor, caller_broker, caller_vendor, is_staff_caller
from core.domain import SYSTEM
from partners import api_auth as authentication
from partners.api_auth import (
    ApiKeyAuthentication,
    CsrfSessionAuthentication,
    forget_keys,
)
from partners.models import ApiKey
from partners.services import api_key_revoke, partner_deactivate
from tests import factories
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/vendors/"


def _request(raw: str | None = None, **extra: Any) -> Request:
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {raw}"} if raw else {}
    django_request = RequestFactory().get(URL, **headers, **extra)
    return Request(
        django_request, authenticators=[ApiKeyAuthentication(), CsrfSessionAuthentication()]
    )


def test_no_credentials_is_401_with_www_authenticate(anon_client: APIClient) -> None:
    response = anon_client.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Api-Key realm="api"'
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "header",
    [
        "Api-Key bk_deadbeef_nope",
        "Api-Key nonsense",
        "Api-Key",
        "Api-Key a b",
        "Api-Key " + "x" * 500,
    ],
)
def test_malformed_or_unknown_key_is_401(header: str, superuser: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Api-Key")


def test_right_prefix_wrong_secret_is_401(make_key: Any, superuser: Any) -> None:
    _, raw = make_key(user=superuser)
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert key_client(forged).get(URL).status_code == 401
    assert key_client(raw).get(URL).status_code == 200


def test_keyword_is_case_insensitive(make_key: Any, superuser: Any) -> None:
    _, raw = make_key(user=superuser)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"api-key {raw}")
    assert client.get(URL).status_code == 200


def test_revoked_key_is_401(make_key: Any, superuser: Any) -> None:
    key, raw = make_key(user=superuser)
    client = key_client(raw)
    assert client.get(URL).status_code == 200
    api_key_revoke(key=key, actor=SYSTEM)
    assert client.get(URL).status_code == 401


def test_key_of_inactive_user_is_401(make_key: Any) -> None:
    user = factories.SuperuserFactory()
    _, raw = make_key(user=user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert key_client(raw).get(URL).status_code == 401


@pytest.mark.parametrize("kind", ["vendor", "broker"])
def test_key_of_inactive_partner_is_401(kind: str, make_key: Any, vendor: Any, broker: Any) -> None:
    partner = vendor if kind == "vendor" else broker
    _, raw = make_key(**{kind: partner})
    client = key_client(raw)
    assert client.get(URL).status_code == 200
    partner_deactivate(partner=partner, actor=SYSTEM)
    assert client.get(URL).status_code == 401


def test_last_used_at_is_written_at_most_once_a_minute(
    make_key: Any, superuser: Any, django_assert_num_queries: Any
) -> None:
    key, raw = make_key(user=superuser)
    assert key.last_used_at is None
    client = key_client(raw)
    client.get(URL)
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    client.get(URL)
    key.refresh_from_db()
    assert key.last_used_at == first  # no second write within the minute
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    forget_keys()  # as if a minute had passed in this process too
    client.get(URL)
    key.refresh_from_db()
    assert key.last_used_at > first - timedelta(minutes=1)


def test_authentication_costs_one_query_once_last_used_is_fresh(
    make_key: Any, superuser: Any, django_assert_num_queries: Any
) -> None:
    key, raw = make_key(user=superuser)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    request = _request(raw)
    with django_assert_num_queries(1):
        user, auth = ApiKeyAuthentication().authenticate(request)  # type: ignore[misc]
    assert user == superuser
    assert auth.pk == key.pk


def test_staff_key_acts_as_its_user(make_key: Any, agent: Any) -> None:
    _, raw = make_key(user=agent)
    request = _request(raw)
    assert request.user == agent
    actor = api_actor(request)
    assert actor is not None and actor.user == agent and actor.via == "api"
    assert not actor.is_partner
    assert is_staff_caller(request)
    assert caller_vendor(request) is None and caller_broker(request) is None


def test_vendor_key_is_a_vendor_actor_without_a_user(make_key: Any, vendor: Any) -> None:
    key, raw = make_key(vendor=vendor)
    request = _request(raw)
    assert request.user.is_authenticated
    assert not request.user.has_perm("partners.view_vendor")
    assert request.auth.pk == key.pk
    actor = api_actor(request)
    assert actor is not None and actor.vendor == vendor and actor.user is None
    assert caller_vendor(request) == vendor
    assert not is_staff_caller(request)
    assert key.prefix in str(actor)


def test_broker_key_is_a_broker_actor(make_key: Any, broker: Any) -> None:
    _, raw = make_key(broker=broker)
    request = _request(raw)
    actor = api_actor(request)
    assert actor is not None and actor.broker == broker and actor.vendor is None
    assert caller_broker(request) == broker


def test_key_of_non_staff_user_without_partner_is_403(make_key: Any) -> None:
    # Keys are made only for staff (api_key_create); this one's user left the staff.
    user = factories.StaffFactory()
    _, raw = make_key(user=user)
    user.is_staff = False
    user.save(update_fields=["is_staff"])
    response = key_client(raw).get(URL)
    assert response.status_code == 403


def test_portal_user_session_acts_for_their_partner(vendor_user: Any, vendor: Any) -> None:
    client = APIClient()
    client.force_login(vendor_user)
    response = client.get(URL)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [vendor.pk]
    django_request = RequestFactory().get(URL)
    django_request.user = vendor_user
    actor = api_actor(Request(django_request, authenticators=[CsrfSessionAuthentication()]))
    assert actor is not None and actor.vendor == vendor and actor.user == vendor_user


def test_session_write_needs_csrf(partner_manager: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(partner_manager)
    assert client.get(URL).status_code == 200
    response = client.post(URL, {"name": "No token", "email": "n@example.com"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_staff_session_without_csrf_header_is_refused_but_key_is_not(
    partner_manager: Any, make_key: Any
) -> None:
    _, raw = make_key(user=partner_manager)
    client = key_client(raw)
    client.handler.enforce_csrf_checks = True
    response = client.post(URL, {"name": "With key", "email": "k@example.com"}, format="json")
    assert response.status_code == 201


def test_key_parser_rejects_other_schemes() -> None:
    assert authentication.parse_key("Bearer abc") is None
    assert authentication.parse_key("Api-Key abc") == "abc"


# --- the per-process key memory ---------------------------------------------------------


@pytest.fixture
def remembering(settings: Any) -> None:
    settings.API_KEY_CACHE_SECONDS = 10


def test_remembered_key_authenticates_without_a_query(
    remembering: None, make_key: Any, agent: Any, django_assert_num_queries: Any
) -> None:
    key, raw = make_key(user=agent)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    with django_assert_num_queries(3):  # the key with its user, and the user's permissions
        first_user, first_key = ApiKeyAuthentication().authenticate(_request(raw))  # type: ignore[misc]
    with django_assert_num_queries(0):
        user, again = ApiKeyAuthentication().authenticate(_request(raw))  # type: ignore[misc]
    assert user == agent and again.pk == key.pk
    # fresh instances each time: nothing leaks between requests
    assert user is not first_user and again is not first_key
    assert again.user is user and again.prefix == key.prefix
    # the staff user's permissions come along (the Agents role's), without a query
    with django_assert_num_queries(0):
        assert user.has_perm("bookings.view_booking")
        assert not user.has_perm("bookings.approve_booking")
    user._perm_cache.add("x.y")
    _, third = ApiKeyAuthentication().authenticate(_request(raw))  # type: ignore[misc]
    assert "x.y" not in third.user._perm_cache


def test_staff_list_request_costs_only_its_own_queries_once_remembered(
    remembering: None, staff_client: Any, django_assert_num_queries: Any
) -> None:
    client = staff_client(["partners.view_vendor"])
    factories.VendorFactory()
    client.get(URL)
    with django_assert_num_queries(2):  # count and page; no key, no permission queries
        assert client.get(URL).status_code == 200


def test_remembered_partner_key_rebuilds_its_partner(
    remembering: None, make_key: Any, vendor: Any, django_assert_num_queries: Any
) -> None:
    _, raw = make_key(vendor=vendor)
    ApiKeyAuthentication().authenticate(_request(raw))
    with django_assert_num_queries(0):
        request = _request(raw)
        actor = api_actor(request)
    assert actor is not None and actor.vendor == vendor and actor.vendor.name == vendor.name


def test_wrong_secret_is_never_served_from_memory(
    remembering: None, make_key: Any, superuser: Any
) -> None:
    _, raw = make_key(user=superuser)
    assert key_client(raw).get(URL).status_code == 200
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert key_client(forged).get(URL).status_code == 401


def test_revocation_is_seen_once_the_memory_expires(
    remembering: None, make_key: Any, superuser: Any, monkeypatch: Any
) -> None:
    key, raw = make_key(user=superuser)
    client = key_client(raw)
    assert client.get(URL).status_code == 200
    api_key_revoke(key=key, actor=SYSTEM)
    assert client.get(URL).status_code == 200  # still remembered: the documented price
    later = authentication.time.monotonic() + 11
    monkeypatch.setattr(authentication.time, "monotonic", lambda: later)
    assert client.get(URL).status_code == 401


def test_memory_off_checks_every_time(settings: Any, make_key: Any, superuser: Any) -> None:
    settings.API_KEY_CACHE_SECONDS = 0
    key, raw = make_key(user=superuser)
    client = key_client(raw)
    assert client.get(URL).status_code == 200
    api_key_revoke(key=key, actor=SYSTEM)
    assert client.get(URL).status_code == 401

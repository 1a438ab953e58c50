"""Input meant to break the server is a 4xx, never a 500: JSON nested a thousand levels
deep on every API endpoint that takes a body and on the signed webhook, NUL bytes in
paths and filters, and bodies larger than the bound."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from bookings.models import Booking
from bookings.rules import MAX_ITEMS_PER_BOOKING
from events.models import WebhookEndpoint
from notifications.models import Notification
from tests import factories
from tests.api.test_bookings import item_payload

pytestmark = pytest.mark.django_db

DEEP = 1000
DEEP_ARRAY = b"[" * DEEP + b"]" * DEEP
DEEP_IN_A_FIELD = b'{"customer_name": "Ann", "notes": ' + b"[" * DEEP + b"]" * DEEP + b"}"
BODY_METHODS = ("post", "patch", "put")


def api_body_endpoints() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(url name, basename, method, kwargs) of every API route that takes a body."""
    found = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                actions = getattr(pattern.callback, "actions", None)
                if not actions or not (prefix + str(pattern.pattern)).startswith("api/v1/"):
                    continue
                basename = pattern.callback.initkwargs.get("basename", "")
                kwargs = tuple(pattern.pattern.regex.groupindex)
                for method in actions:
                    if method in BODY_METHODS and "format" not in kwargs:
                        found.append((pattern.name, basename, method, kwargs))

    walk(get_resolver().url_patterns, "")
    return found


ENDPOINTS = api_body_endpoints()


@pytest.fixture
def objects(broker: Any, vendor: Any) -> dict[str, Any]:
    booking = factories.BookingFactory(broker=broker)
    item = factories.BookingItemFactory(booking=booking)
    offer = factories.OfferFactory(broker=broker)
    notification = Notification.objects.create(
        kind="booking_approved", channel="email", recipient="a@example.com", dedupe_key="t:1"
    )
    webhook = WebhookEndpoint.objects.create(
        owner_kind="broker",
        broker_id=broker.pk,
        owner_label=broker.name,
        url="https://hooks.example.com/in",
        event_types=["booking.approved"],
        secret_encrypted="-",
    )
    return {
        "api-booking": booking.reference,
        "api-offer": offer.reference,
        "api-bookingitem": item.pk,
        "vendor": vendor.pk,
        "broker": broker.pk,
        "notification": notification.pk,
        "webhook": webhook.pk,
        "api-invoice": "2027-000001",
    }


def test_the_list_of_body_endpoints_is_complete() -> None:
    names = {(name, method) for name, _, method, _ in ENDPOINTS}
    assert ("api-booking-list", "post") in names
    assert ("api-booking-detail", "patch") in names
    assert ("api-booking-items", "post") in names
    assert ("api-offer-list", "post") in names
    assert ("vendor-list", "post") in names
    assert len(ENDPOINTS) >= 20


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_IN_A_FIELD], ids=["array", "in a field"])
@pytest.mark.parametrize(("name", "basename", "method", "kwargs"), ENDPOINTS)
def test_deeply_nested_json_is_a_400_on_every_endpoint_with_a_body(
    superuser_client: Any,
    objects: dict[str, Any],
    name: str,
    basename: str,
    method: str,
    kwargs: tuple[str, ...],
    body: bytes,
) -> None:
    url = reverse(name, kwargs={key: objects[basename] for key in kwargs})
    response = getattr(superuser_client, method)(url, data=body, content_type="application/json")
    # A route that reads no body ignores it (and answers for its own reasons); one that
    # reads it refuses it. Never a 500.
    assert response.status_code < 500, (url, response.status_code)
    if response.status_code == 400:
        assert response.json()


def test_deeply_nested_json_names_what_is_wrong(superuser_client: Any) -> None:
    for body in (DEEP_ARRAY, DEEP_IN_A_FIELD, b"[" * 100_000):
        response = superuser_client.post(
            "/api/v1/bookings/", data=body, content_type="application/json"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "parse_error"
        assert "nested" in response.json()["detail"]


def test_idempotent_deep_json_is_a_400_too(superuser_client: Any) -> None:
    response = superuser_client.post(
        "/api/v1/bookings/",
        data=DEEP_IN_A_FIELD,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="deep-1",
    )
    assert response.status_code == 400


def test_deeply_nested_json_on_the_signed_webhook_is_a_400(client: Client, settings: Any) -> None:
    settings.WHATSAPP_APP_SECRET = "test-app-secret"
    for body in (DEEP_ARRAY, b'{"entry": ' + DEEP_ARRAY + b"}"):
        signature = hmac.new(b"test-app-secret", body, hashlib.sha256).hexdigest()
        response = client.post(
            "/webhooks/whatsapp/",
            data=body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=f"sha256={signature}",
        )
        assert response.status_code == 400


# --- NUL bytes -----------------------------------------------------------------------


def test_nul_in_a_portal_path_is_a_4xx(client: Client, broker_user: Any) -> None:
    client.force_login(broker_user)
    for path in ("/portal/bookings/%00/", "/portal/offers/%00/", "/portal/bookings/BK%00X/"):
        assert client.get(path).status_code in (400, 404), path


def test_nul_in_an_admin_filter_is_a_4xx(client: Client, superuser: Any) -> None:
    client.force_login(superuser)
    for url in (
        "/admin/bookings/booking/?status__exact=%00",
        "/admin/bookings/booking/?q=%00",
        "/admin/offers/offer/?status__exact=%00",
        "/admin/notifications/notification/?status__exact=%00",
    ):
        assert client.get(url).status_code in (400, 404), url


def test_nul_in_an_api_path_or_filter_is_a_4xx_with_the_error_shape(
    superuser_client: Any,
) -> None:
    for url in ("/api/v1/bookings/%00/", "/api/v1/bookings/?reference=%00", "/api/v1/offers/%00/"):
        response = superuser_client.get(url)
        assert response.status_code in (400, 404), url
        assert "detail" in response.json()


# --- the bound on a request's body -----------------------------------------------------


def test_a_body_over_the_bound_is_a_413_before_it_is_read(
    superuser_client: Any, settings: Any
) -> None:
    settings.MAX_REQUEST_BODY_BYTES = 10_000
    big = b'{"customer_name": "Ann", "notes": "' + b"x" * 20_000 + b'"}'
    response = superuser_client.post("/api/v1/bookings/", data=big, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert "10000 bytes" in response.json()["detail"]


def test_the_default_bound_refuses_a_body_django_alone_would_let_the_parser_read(
    superuser_client: Any,
) -> None:
    # 3 MB of valid JSON: DATA_UPLOAD_MAX_MEMORY_SIZE never saw it, as DRF's parser
    # reads the stream itself.
    big = b'{"customer_name": "Ann", "notes": "' + b"x" * 3_000_000 + b'"}'
    response = superuser_client.post("/api/v1/bookings/", data=big, content_type="application/json")
    assert response.status_code == 413


def test_a_form_post_over_the_bound_is_a_413(client: Client, settings: Any) -> None:
    settings.MAX_REQUEST_BODY_BYTES = 10_000
    response = client.post("/accounts/login/", {"username": "x" * 20_000, "password": "y"})
    assert response.status_code == 413


# --- the work one request can cause ------------------------------------------------------


def test_a_booking_of_6000_items_is_refused_at_once(broker_client: Any) -> None:
    """It was accepted after 42 s of work; each item here is as short as valid input gets."""
    item = item_payload()
    for count, status in ((6000, 413), (MAX_ITEMS_PER_BOOKING + 1, 400)):
        started = time.monotonic()
        response = broker_client.post(
            "/api/v1/bookings/",
            {"customer_name": "Ann", "items": [item] * count},
            format="json",
        )
        assert response.status_code == status, (count, response.status_code)
        assert time.monotonic() - started < 2
    assert f"at most {MAX_ITEMS_PER_BOOKING} items" in str(response.json()["fields"]["items"])
    assert not Booking.objects.exists()

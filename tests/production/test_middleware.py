"""Request ids, the portal's Content-Security-Policy and API compression."""

from __future__ import annotations

import gzip
import logging
import re

import brotli
import orjson
import pytest
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory

from bookings_site.logging import ContextFilter, request_id_var
from bookings_site.middleware import (
    ApiCompressionMiddleware,
    ContentSecurityPolicyMiddleware,
    _accepted_encodings,
)

ROWS = {"results": [{"reference": f"BK-{i:04d}", "status": "confirmed"} for i in range(100)]}


def test_request_id_is_made_when_missing(client) -> None:
    response = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert client.get("/healthz")["X-Request-ID"] != response["X-Request-ID"]


def test_valid_incoming_request_id_is_kept(client) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a9b2c:01"})
    assert response["X-Request-ID"] == "lb-7f3a9b2c:01"


@pytest.mark.parametrize("bad", ["short", "has spaces in it", "x" * 200, "new\nline-injected"])
def test_invalid_incoming_request_id_is_replaced(client, bad: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": bad})
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.parametrize("path", ["/portal/", "/portal/items/1/", "/accounts/password_reset/"])
def test_portal_and_account_pages_carry_the_csp(path: str) -> None:
    request = RequestFactory().get(path)
    response = ContentSecurityPolicyMiddleware(lambda r: HttpResponse("page"))(request)
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_portal_views_get_the_csp_through_the_stack(client) -> None:
    assert "default-src 'self'" in client.get("/portal/")["Content-Security-Policy"]


def test_api_and_health_do_not_carry_the_portal_csp(client) -> None:
    assert "Content-Security-Policy" not in client.get("/healthz")
    request = RequestFactory().get("/api/v1/bookings/")
    response = ContentSecurityPolicyMiddleware(lambda r: JsonResponse({}))(request)
    assert not response.has_header("Content-Security-Policy")


def test_log_lines_of_a_request_carry_its_id_even_after_the_middleware(client, caplog) -> None:
    # Django logs "Not Found" after the middleware chain has returned.
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/no-such-page/", headers={"X-Request-ID": "trace-0000042"})
    assert response.status_code == 404
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert ContextFilter().filter(record) and record.request_id == "trace-0000042"
    assert request_id_var.get() == "-"  # cleared once the response was closed


def _api_response(request_path: str = "/api/v1/bookings/", **headers: str) -> HttpResponse:
    request = RequestFactory().get(request_path, headers=headers)
    middleware = ApiCompressionMiddleware(lambda r: JsonResponse(ROWS))
    return middleware(request)


def test_api_json_is_brotli_compressed_when_accepted() -> None:
    response = _api_response(**{"Accept-Encoding": "gzip, deflate, br"})
    assert response["Content-Encoding"] == "br"
    assert orjson.loads(brotli.decompress(response.content)) == ROWS
    assert int(response["Content-Length"]) == len(response.content)
    assert "Accept-Encoding" in response["Vary"]


def test_api_json_is_gzip_compressed_when_only_gzip_is_accepted() -> None:
    response = _api_response(**{"Accept-Encoding": "gzip"})
    assert response["Content-Encoding"] == "gzip"
    assert orjson.loads(gzip.decompress(response.content)) == ROWS


@pytest.mark.parametrize("accept", ["", "identity", "br;q=0, gzip;q=0"])
def test_api_json_is_plain_when_compression_is_not_accepted(accept: str) -> None:
    response = _api_response(**{"Accept-Encoding": accept})
    assert not response.has_header("Content-Encoding")
    assert orjson.loads(response.content) == ROWS
    assert "Accept-Encoding" in response["Vary"]


def test_api_json_with_a_session_cookie_is_not_compressed() -> None:
    # Cookie-authenticated responses can be driven cross-site: BREACH territory.
    response = _api_response(**{"Accept-Encoding": "br", "Cookie": "sessionid=abc"})
    assert not response.has_header("Content-Encoding")


def test_html_pages_are_never_compressed() -> None:
    request = RequestFactory().get("/portal/", headers={"Accept-Encoding": "br, gzip"})
    html = "<form><input name=csrfmiddlewaretoken value=secret></form>" * 50
    response = ApiCompressionMiddleware(lambda r: HttpResponse(html))(request)
    assert not response.has_header("Content-Encoding")
    request = RequestFactory().get("/api/v1/docs/", headers={"Accept-Encoding": "br"})
    response = ApiCompressionMiddleware(lambda r: HttpResponse(html))(request)
    assert not response.has_header("Content-Encoding")


def test_strong_etag_becomes_weak_when_compressed() -> None:
    def view(request):
        response = JsonResponse(ROWS)
        response["ETag"] = '"abc"'
        return response

    request = RequestFactory().get("/api/v1/bookings/", headers={"Accept-Encoding": "br"})
    assert ApiCompressionMiddleware(view)(request)["ETag"] == 'W/"abc"'


def test_accept_encoding_parsing() -> None:
    assert _accepted_encodings("gzip;q=1.0, br; q=0.5, *;q=0") == {"gzip", "br"}
    assert _accepted_encodings("BR") == {"br"}
    assert _accepted_encodings("gzip;q=abc") == set()


@pytest.mark.django_db
def test_real_api_bookings_list_is_compressed_when_asked(client) -> None:
    """The whole stack: the API's own list view, its renderer and this middleware."""
    from core.domain import Actor
    from partners.services import api_key_create
    from tests.factories import BookingFactory, BookingItemFactory, BrokerFactory

    broker = BrokerFactory()
    for booking in BookingFactory.create_batch(5, broker=broker):
        BookingItemFactory.create_batch(2, booking=booking)
    _, key = api_key_create(actor=Actor(via="system", label="test"), broker=broker, name="t")
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {key}"}

    plain = client.get("/api/v1/bookings/?page_size=50", **auth)
    assert plain.status_code == 200
    assert not plain.has_header("Content-Encoding")
    assert len(orjson.loads(plain.content)["results"]) == 5

    br = client.get("/api/v1/bookings/?page_size=50", HTTP_ACCEPT_ENCODING="br", **auth)
    assert br.status_code == 200
    assert br["Content-Encoding"] == "br"
    assert "Accept-Encoding" in br["Vary"]
    assert len(br.content) < len(plain.content)
    assert orjson.loads(brotli.decompress(br.content)) == orjson.loads(plain.content)

    gz = client.get("/api/v1/bookings/?page_size=50", HTTP_ACCEPT_ENCODING="gzip", **auth)
    assert gz["Content-Encoding"] == "gzip"
    assert orjson.loads(gzip.decompress(gz.content)) == orjson.loads(plain.content)

"""Schemathesis against the live schema: every operation, in-process through WSGI.

Generated requests are sent with a superuser's key to the Django WSGI app in this
process (same database connection, so the test's data is visible). Checks: no 5xx,
and status codes, content types, headers and bodies as the schema documents them.
Examples are bounded (``API_FUZZ_EXAMPLES`` per operation, derandomized so CI is
repeatable) to keep the run well under a minute.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import DatabaseError, close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bookings.services import booking_submit
from core.domain import SYSTEM, Actor
from events.services import webhook_register
from partners.services import api_key_create
from tests import factories

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "6"))
PARTNER_EXAMPLES = int(os.environ.get("API_FUZZ_PARTNER_EXAMPLES", "3"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
_wsgi = get_wsgi_application()


def _app_one_transaction_per_request(environ: Any, start_response: Any) -> Any:
    """Each request in a savepoint, as each runs in its own transaction in production:
    a statement PostgreSQL refused (answered 400) rolls back that request alone, not
    the test's whole transaction."""
    savepoint = transaction.savepoint()
    body = list(_wsgi(environ, start_response))
    try:
        transaction.savepoint_commit(savepoint)
    except DatabaseError:
        transaction.savepoint_rollback(savepoint)
    return body


schema.app = _app_one_transaction_per_request


@pytest.fixture
def fuzz_world(db: None, settings: Any) -> Iterator[dict[str, str]]:
    """Keys for a superuser, a broker and a vendor, and a few rows for them to find.

    Requests go through the real WSGI handler, whose request signals would close the
    database connection the test's transaction lives in (Django's test client unhooks
    them the same way).
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    settings.ALLOWED_HOSTS = ["localhost"]
    settings.API_RATE_LIMIT = ""
    user = factories.SuperuserFactory(username="fuzzer")
    vendor = factories.VendorFactory()
    broker = factories.BrokerFactory()
    booking = factories.BookingFactory(broker=broker)
    factories.BookingItemFactory(booking=booking, vendor=vendor)
    factories.OfferFactory(broker=broker)
    keys = {}
    for kind, owner in (("staff", {"user": user}), ("broker", {"broker": broker})):
        keys[kind] = api_key_create(actor=SYSTEM, name="schemathesis", **owner)[1]
    keys["vendor"] = api_key_create(actor=SYSTEM, name="schemathesis", vendor=vendor)[1]
    # A webhook with a delivery in its log; generated URLs are not looked up in DNS.
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    webhook_register(
        actor=Actor(broker=broker, via="api"),
        url="https://hooks.example.com/in",
        event_types=["booking.submitted"],
    )
    booking_submit(booking=booking, actor=SYSTEM)
    try:
        yield keys
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _call(case: Any, raw: str) -> None:
    # identity: the WSGI client would hand the checks brotli bytes (ApiCompressionMiddleware)
    headers = {"Authorization": f"Api-Key {raw}", "Accept-Encoding": "identity"}
    case.call_and_validate(headers=headers, checks=CHECKS)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, fuzz_world: dict[str, str]) -> None:
    """A superuser's key: schemathesis's coverage cases (boundaries, wrong types, missing
    fields, unexpected methods) and EXAMPLES generated ones per operation."""
    _call(case, fuzz_world["staff"])


@schema.parametrize()
@settings(
    max_examples=PARTNER_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.parametrize("caller", ["broker", "vendor"])
def test_api_conforms_for_partner_keys(case: Any, fuzz_world: dict[str, str], caller: str) -> None:
    """Brokers and vendors see narrower objects; the schema must still describe them."""
    _call(case, fuzz_world[caller])


# --- the integrator's flow, every response checked against the schema --------------------


def _as_schemathesis_response(response: Any, method: str, path: str) -> Response:
    request = requests.Request(method=method, url=f"http://testserver{path}").prepare()
    return Response(
        status_code=response.status_code,
        headers={name: [value] for name, value in response.headers.items()},
        content=response.content,
        request=request,
        elapsed=0.0,
        message=response.reason_phrase,
        encoding="utf-8",
        http_version="1.1",
        verify=False,
    )


class SchemaCheckingClient(APIClient):
    """An APIClient that fails on any response the OpenAPI schema does not describe."""

    checked: list[str]

    def request(self, **kwargs: Any) -> Any:
        response = super().request(**kwargs)
        method, path = kwargs["REQUEST_METHOD"], kwargs["PATH_INFO"]
        operation = schema.find_operation_by_path(method, path)
        assert operation is not None, f"{method} {path} is not in the schema"
        operation.validate_response(_as_schemathesis_response(response, method, path))
        self.checked.append(f"{method} {operation.path} {response.status_code}")
        return response


def test_integrator_flow_matches_the_schema(
    monkeypatch: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    """tests/api/test_flow.py's whole flow again, each response validated by schemathesis."""
    from tests.api import test_flow

    checked: list[str] = []

    def checking_client(raw: str | None = None) -> APIClient:
        client = SchemaCheckingClient()
        client.checked = checked
        if raw is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        return client

    monkeypatch.setattr(test_flow, "key_client", checking_client)
    test_flow.test_integrator_flow(django_capture_on_commit_callbacks)
    operations = {line.rsplit(" ", 1)[0] for line in checked}
    assert len(checked) >= 10
    for expected in (
        "POST /api/v1/vendors/",
        "POST /api/v1/brokers/",
        "POST /api/v1/bookings/",
        "POST /api/v1/bookings/{reference}/submit/",
        "POST /api/v1/bookings/{reference}/approve/",
        "POST /api/v1/offers/{reference}/accept/",
    ):
        assert expected in operations, (expected, sorted(operations))

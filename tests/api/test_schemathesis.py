"""Schemathesis against the live schema: every operation, in-process through WSGI.

Generated requests are sent with a superuser's key to the Django WSGI app in this
process (same database connection, so the test's data is visible). Checks: no 5xx,
and status codes, content types, headers and bodies as the schema documents them.
Examples are bounded (``API_FUZZ_EXAMPLES`` per operation, derandomized so CI is
repeatable) to keep the run well under a minute.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from partners.domain import SYSTEM
from partners.services import api_key_create
from tests import factories

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "6"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()


@pytest.fixture
def fuzz_key(db: None, settings: Any) -> str:
    settings.ALLOWED_HOSTS = ["localhost"]
    settings.API_RATE_LIMIT = ""
    user = factories.SuperuserFactory(username="fuzzer")
    # Something to find: a few rows the detail and action endpoints can hit.
    vendor = factories.VendorFactory()
    broker = factories.BrokerFactory()
    booking = factories.BookingFactory(broker=broker)
    factories.BookingItemFactory(booking=booking, vendor=vendor)
    factories.OfferFactory(broker=broker)
    _, raw = api_key_create(actor=SYSTEM, user=user, name="schemathesis")
    return raw


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, fuzz_key: str) -> None:
    # identity: the WSGI client would hand the checks brotli bytes (ApiCompressionMiddleware)
    headers = {"Authorization": f"Api-Key {fuzz_key}", "Accept-Encoding": "identity"}
    case.call_and_validate(headers=headers, checks=CHECKS)

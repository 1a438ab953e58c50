"""The OpenAPI document: valid, complete, and documenting auth, errors and idempotency."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

COMMON_ERRORS = {"400", "401", "403", "404", "429"}
IDEMPOTENT_ERRORS = {"409", "422"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method.upper(), op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if method in {"get", "post", "patch", "put", "delete"}
    ]


def test_schema_is_valid_openapi(schema: dict[str, Any]) -> None:
    validate_schema(schema)  # raises on any violation of the OpenAPI 3 JSON schema
    assert schema["openapi"].startswith("3.")


def test_generation_has_no_warnings() -> None:
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert yaml.safe_load(out.getvalue())["paths"]


def test_every_contract_resource_is_documented(schema: dict[str, Any]) -> None:
    paths = set(schema["paths"])
    for expected in [
        "/api/v1/vendors/",
        "/api/v1/vendors/{id}/",
        "/api/v1/vendors/{id}/invite/",
        "/api/v1/brokers/",
        "/api/v1/brokers/{id}/",
        "/api/v1/brokers/{id}/invite/",
        "/api/v1/notifications/",
        "/api/v1/notifications/{id}/",
        "/api/v1/events/",
        "/api/v1/events/{event_id}/",
        "/api/v1/webhooks/",
        "/api/v1/webhooks/{id}/",
        "/api/v1/webhooks/{id}/deliveries/",
        "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver/",
    ]:
        assert expected in paths
    assert not any(p.startswith("/api/v1/schema") or p.startswith("/api/v1/docs") for p in paths)


def test_api_key_scheme_is_documented_and_required(schema: dict[str, Any]) -> None:
    scheme = schema["components"]["securitySchemes"]["ApiKeyAuth"]
    assert scheme == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": scheme["description"],
    }
    for path, method, op in _operations(schema):
        assert {"ApiKeyAuth": []} in op["security"], (method, path)
        assert {} not in op["security"], f"{method} {path} must not be anonymous"


def test_every_operation_documents_its_errors(schema: dict[str, Any]) -> None:
    for path, method, op in _operations(schema):
        codes = set(op["responses"])
        assert codes >= COMMON_ERRORS, (method, path, codes)
        assert "Retry-After" in op["responses"]["429"]["headers"]
        if method in {"POST", "PATCH"}:
            assert codes >= IDEMPOTENT_ERRORS, (method, path, codes)


def test_post_and_patch_document_the_idempotency_header(schema: dict[str, Any]) -> None:
    for path, method, op in _operations(schema):
        headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
        assert ("Idempotency-Key" in headers) == (method in {"POST", "PATCH"}), (method, path)


# Cursor-paged, in commit order: no page numbers and no other ordering.
CURSOR_FEEDS = {"/api/v1/events/"}


def test_list_operations_document_paging_and_ordering(schema: dict[str, Any]) -> None:
    for path, method, op in _operations(schema):
        if method != "GET" or "{" in path or path in CURSOR_FEEDS:
            continue
        names = {p["name"] for p in op.get("parameters", [])}
        assert {"page", "page_size"} <= names, path
        assert "ordering" in names, path
        props = schema["components"]["schemas"][
            op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        ]["properties"]
        assert {"count", "next", "previous", "results"} <= set(props), path


def test_schema_and_docs_are_served_without_a_cdn(client: Any) -> None:
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content)["info"]["title"] == "Bookings API"
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()


def test_the_event_feed_documents_its_cursor(schema: dict[str, Any]) -> None:
    op = schema["paths"]["/api/v1/events/"]["get"]
    assert {"after", "types", "limit"} <= {p["name"] for p in op["parameters"]}
    page = schema["components"]["schemas"][
        op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    ]
    assert {"results", "cursor", "next", "has_more"} <= set(page["properties"])
    created = schema["paths"]["/api/v1/webhooks/"]["post"]["responses"]["201"]
    ref = created["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert "secret" in schema["components"]["schemas"][ref]["properties"]

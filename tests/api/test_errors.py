"""The API's one error shape (core.api.errors.exception_handler)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404
from rest_framework import exceptions

from core.api.errors import exception_handler
from core.domain import DomainError, InvalidTransition, NotPermitted, ValidationFailed
from partners.models import Vendor


def _handle(exc: Exception) -> tuple[int, Any, Any]:
    response = exception_handler(exc, {})
    assert response is not None
    return response.status_code, response.data, response


def test_validation_failed_names_its_field() -> None:
    status, data, _ = _handle(ValidationFailed("Bad email.", field="email"))
    assert (status, data) == (
        400,
        {"detail": "email: Bad email.", "code": "invalid", "fields": {"email": ["Bad email."]}},
    )


def test_validation_failed_without_field_is_non_field_error() -> None:
    status, data, _ = _handle(ValidationFailed("Nope."))
    assert (status, data) == (
        400,
        {"detail": "Nope.", "code": "invalid", "fields": {"non_field_errors": ["Nope."]}},
    )


def test_not_permitted_is_403_with_code() -> None:
    status, data, _ = _handle(NotPermitted("You may not."))
    assert (status, data) == (403, {"detail": "You may not.", "code": "not_permitted"})


def test_invalid_transition_is_409_with_code() -> None:
    status, data, _ = _handle(InvalidTransition("Already approved.", code="already_approved"))
    assert (status, data) == (409, {"detail": "Already approved.", "code": "already_approved"})


def test_other_domain_error_is_409() -> None:
    status, data, _ = _handle(DomainError("Rule."))
    assert (status, data["code"]) == (409, "domain_error")


def test_django_validation_error_per_field_and_all() -> None:
    exc = DjangoValidationError({"name": ["Taken."], "__all__": ["Clash."]})
    status, data, _ = _handle(exc)
    assert status == 400
    assert data["fields"] == {"name": ["Taken."], "non_field_errors": ["Clash."]}
    assert data["detail"] == "name: Taken. (and 1 more field)"
    status, data, _ = _handle(DjangoValidationError("Plain."))
    assert (status, data["fields"], data["detail"]) == (
        400,
        {"non_field_errors": ["Plain."]},
        "Plain.",
    )


@pytest.mark.parametrize("exc", [Http404("x"), Vendor.DoesNotExist("x")])
def test_missing_is_404(exc: Exception) -> None:
    status, data, _ = _handle(exc)
    assert (status, data) == (404, {"detail": "Not found.", "code": "not_found"})


def test_throttled_is_429_with_retry_after() -> None:
    status, data, response = _handle(exceptions.Throttled(wait=12.2))
    assert status == 429
    assert data["code"] == "throttled"
    assert response["Retry-After"] == "13"


def test_database_errors_are_4xx_not_500() -> None:
    assert _handle(IntegrityError("dup"))[0] == 409
    assert _handle(DataError("overflow"))[0] == 400


def test_drf_validation_error_keeps_field_messages() -> None:
    status, data, _ = _handle(exceptions.ValidationError({"email": ["Enter a valid email."]}))
    assert (status, data["fields"]) == (400, {"email": ["Enter a valid email."]})
    assert data["detail"] == "email: Enter a valid email."
    status, data, _ = _handle(exceptions.ValidationError("Flat."))
    assert (status, data["fields"], data["code"]) == (
        400,
        {"non_field_errors": ["Flat."]},
        "invalid",
    )


def test_unknown_exception_is_left_to_django() -> None:
    assert exception_handler(RuntimeError("boom"), {}) is None


@pytest.mark.django_db
def test_malformed_json_is_400(superuser_client: Any) -> None:
    response = superuser_client.generic(
        "POST", "/api/v1/vendors/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.django_db
def test_unsupported_media_type_is_415(superuser_client: Any) -> None:
    response = superuser_client.generic(
        "POST", "/api/v1/vendors/", "name=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415


@pytest.mark.django_db
def test_unknown_page_is_404(superuser_client: Any) -> None:
    response = superuser_client.get("/api/v1/vendors/?page=99")
    assert response.status_code == 404


@pytest.mark.django_db
def test_bad_filter_value_is_400(superuser_client: Any) -> None:
    response = superuser_client.get("/api/v1/vendors/?updated_since=yesterday")
    assert response.status_code == 400
    assert "updated_since" in response.json()["fields"]


@pytest.mark.django_db
def test_invalid_transition_through_endpoint_is_409(superuser_client: Any) -> None:
    vendor = Vendor.objects.create(name="Sleepy", email="s@example.com", is_active=False)
    response = superuser_client.post(f"/api/v1/vendors/{vendor.pk}/invite/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_overflowing_number_is_400() -> None:
    status, data, _ = _handle(OverflowError("Python int too large to convert to SQLite INTEGER"))
    assert (status, data["code"]) == (400, "invalid")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here/", "/api/v1/vendors/1/x/", "/api/v1/a%0Ab/"]
)
def test_unknown_api_path_is_a_json_404(superuser_client: Any, path: str) -> None:
    response = superuser_client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    posted = superuser_client.patch(path, {}, format="json")  # no CSRF page either
    assert posted.status_code == 404
    assert posted["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_missing_trailing_slash_is_a_404_that_says_so(superuser_client: Any) -> None:
    response = superuser_client.post("/api/v1/vendors", {"name": "x"}, format="json")
    assert response.status_code == 404
    assert response.json()["detail"] == "Not found. Paths end with a slash: /api/v1/vendors/"
    assert superuser_client.get("/api/v1/nowhere").json()["detail"] == "Not found."

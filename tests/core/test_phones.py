"""Phone numbers as people write them, in every door, stored in E.164."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from core.domain import SYSTEM, ValidationFailed
from core.phones import format_phone, normalize_phone
from partners.models import Vendor
from partners.services import api_key_create
from tests import factories


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+44 20 7946 0000", "+442079460000"),
        ("+351 912 345 678", "+351912345678"),
        ("+351-912-345-678", "+351912345678"),
        ("0044 (0)20 7946 0000", "+442079460000"),
        ("+351912345678", "+351912345678"),
        ("", ""),
    ],
)
def test_international_forms_are_stored_in_e164(typed, stored):
    assert normalize_phone(typed) == stored


def test_a_national_number_is_read_in_the_default_region(settings):
    settings.PHONE_DEFAULT_REGION = "PT"
    assert normalize_phone("912 345 678") == "+351912345678"
    settings.PHONE_DEFAULT_REGION = "GB"
    assert normalize_phone("020 7946 0000") == "+442079460000"


def test_a_national_number_without_a_region_asks_for_the_country_code(settings):
    settings.PHONE_DEFAULT_REGION = ""
    with pytest.raises(ValidationFailed, match="country code") as caught:
        normalize_phone("912 345 678", field="customer_phone")
    assert caught.value.field == "customer_phone"


@pytest.mark.parametrize(
    "garbage", ["call me", "+1", "+351 12", "12345", "+999 123 456 789", "x" * 50]
)
def test_garbage_is_refused(settings, garbage):
    settings.PHONE_DEFAULT_REGION = "PT"
    with pytest.raises(ValidationFailed):
        normalize_phone(garbage)


def test_numbers_are_shown_as_people_write_them():
    assert format_phone("+442079460000") == "+44 20 7946 0000"


@pytest.mark.django_db
def test_api_takes_a_number_as_written_and_refuses_garbage():
    _, raw = api_key_create(actor=SYSTEM, name="t", user=factories.SuperuserFactory())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    response = client.post(
        "/api/v1/vendors/",
        {"name": "Lisbon Walks", "email": "walks@example.com", "phone": "+351 912 345 678"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["phone"] == "+351912345678"
    assert Vendor.objects.get(name="Lisbon Walks").phone == "+351912345678"

    response = client.post(
        "/api/v1/vendors/",
        {"name": "Nowhere", "email": "n@example.com", "phone": "call me"},
        format="json",
    )
    assert response.status_code == 400
    assert "phone" in str(response.json())
    assert not Vendor.objects.filter(name="Nowhere").exists()


@pytest.mark.django_db
def test_admin_takes_a_number_as_written_and_refuses_garbage(client: Client):
    client.force_login(factories.SuperuserFactory())
    url = reverse("admin:partners_vendor_add")
    data = {
        "name": "Sintra Tours",
        "email": "sintra@example.com",
        "phone": "+44 20 7946 0000",
        "notify_by": ["email"],
        "timezone": "Europe/Lisbon",
        "response_hours": 24,
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Vendor.objects.get(name="Sintra Tours").phone == "+442079460000"

    response = client.post(url, {**data, "name": "Bad Phone", "phone": "12345"})
    assert response.status_code == 200
    assert "phone" in response.context["adminform"].form.errors
    assert not Vendor.objects.filter(name="Bad Phone").exists()


@pytest.mark.django_db
def test_portal_profile_takes_a_number_as_written(client: Client, settings):
    settings.PHONE_DEFAULT_REGION = "PT"
    vendor = factories.VendorFactory()
    client.force_login(factories.PortalAccountFactory(vendor=vendor).user)
    url = reverse("portal:profile")
    response = client.post(
        url, {"email": vendor.email, "phone": "912 345 678", "notify_by": ["email"]}
    )
    assert response.status_code == 302
    vendor.refresh_from_db()
    assert vendor.phone == "+351912345678"

    response = client.post(
        url, {"email": vendor.email, "phone": "not a number", "notify_by": ["email"]}
    )
    assert response.status_code == 200
    assert "valid phone number" in response.content.decode()
    vendor.refresh_from_db()
    assert vendor.phone == "+351912345678"

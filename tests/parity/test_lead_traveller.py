"""Accepting an offer asks who travels: prefilled from the offer's customer, required
when the offer names none, and never the broker's company name."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from bookings.models import Booking
from core.domain import Actor
from core.models import AuditEntry
from notifications.models import Notification
from offers import services as os_
from offers.models import Offer
from partners.services import api_key_create
from tests import factories

pytestmark = pytest.mark.django_db
SYSTEM = Actor(via="system", label="lead")


def sent_offer(broker: Any, **customer: Any) -> Offer:
    start = timezone.now() + timedelta(days=30)
    offer = os_.offer_create(
        actor=SYSTEM,
        broker=broker,
        valid_until=timezone.now() + timedelta(days=5),
        lines=[
            {
                "service_type": "transfer",
                "description": "Airport transfer",
                "start": start,
                "end": start + timedelta(hours=1),
                "quantity": 1,
                "unit_price": Decimal("80.00"),
                "unit_cost": Decimal("50.00"),
            }
        ],
        **customer,
    )
    return os_.offer_send(offer=offer, actor=SYSTEM)


@pytest.fixture
def portal(broker: Any) -> Client:
    client = Client()
    client.force_login(factories.PortalAccountFactory(broker=broker).user)
    return client


@pytest.fixture
def broker_api(broker: Any) -> APIClient:
    _, raw = api_key_create(actor=SYSTEM, name="lead", broker=broker)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def nothing_changed(offer: Offer, audit_before: int) -> None:
    offer.refresh_from_db()
    assert offer.status == Offer.Status.SENT
    assert not Booking.objects.exists()
    assert AuditEntry.objects.count() == audit_before
    assert not Notification.objects.filter(kind="offer_accepted").exists()


def test_the_portal_asks_who_travels_and_refuses_an_offer_without_one(
    portal: Client, broker: Any
) -> None:
    offer = sent_offer(broker)
    url = reverse("portal:offer-accept", args=[offer.reference])
    page = portal.get(url)
    assert 'name="lead_name"' in page.content.decode()
    assert page.context["form"]["lead_name"].value() in ("", None)
    before = AuditEntry.objects.count()
    response = portal.post(url, {"lead_name": "", "lead_email": "", "lead_phone": ""})
    assert response.context["form"].errors["lead_name"] == [
        "Tell us who travels: the lead traveller's name."
    ]
    response = portal.post(url, {"lead_name": "Jon Berg", "lead_email": "", "lead_phone": ""})
    assert "email or phone" in response.context["form"].errors["lead_email"][0]
    nothing_changed(offer, before)

    response = portal.post(url, {"lead_name": "Jon Berg", "lead_phone": "+47 912 34 567"})
    assert response.status_code == 302
    booking = Offer.objects.get(pk=offer.pk).booking
    assert (booking.customer_name, booking.customer_phone) == ("Jon Berg", "+4791234567")
    assert broker.name not in booking.customer_name


def test_the_portal_prefills_the_offers_customer(portal: Client, broker: Any) -> None:
    offer = sent_offer(broker, customer_name="Ingrid Nilsen", customer_email="ingrid@example.com")
    url = reverse("portal:offer-accept", args=[offer.reference])
    form = portal.get(url).context["form"]
    assert form["lead_name"].value() == "Ingrid Nilsen"
    assert form["lead_email"].value() == "ingrid@example.com"
    # Accepted as prefilled: the offer's customer travels.
    response = portal.post(url, {"lead_name": "Ingrid Nilsen", "lead_email": "ingrid@example.com"})
    assert response.status_code == 302
    booking = Offer.objects.get(pk=offer.pk).booking
    assert (booking.customer_name, booking.customer_email) == (
        "Ingrid Nilsen",
        "ingrid@example.com",
    )


def test_the_api_asks_who_travels(broker_api: APIClient, broker: Any) -> None:
    offer = sent_offer(broker)
    url = f"/api/v1/offers/{offer.reference}/accept/"
    before = AuditEntry.objects.count()
    response = broker_api.post(url, {}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "lead_name": ["Tell us who travels: the lead traveller's name."]
    }
    response = broker_api.post(
        url, {"lead_name": "Jon\r\nBerg", "lead_email": "jon@example.com"}, format="json"
    )
    assert response.status_code == 400
    assert "single line" in response.json()["fields"]["lead_name"][0]
    response = broker_api.post(
        url, {"lead_name": "Jon Berg", "lead_email": "not an email"}, format="json"
    )
    assert response.status_code == 400 and "lead_email" in response.json()["fields"]
    nothing_changed(offer, before)

    response = broker_api.post(
        url, {"lead_name": "Jon Berg", "lead_email": "jon@example.com"}, format="json"
    )
    assert response.status_code == 200, response.content
    booking = Booking.objects.get(reference=response.json()["booking"])
    assert (booking.customer_name, booking.customer_email) == ("Jon Berg", "jon@example.com")


def test_the_api_takes_the_offers_customer_when_no_one_is_named(
    broker_api: APIClient, broker: Any
) -> None:
    offer = sent_offer(broker, customer_name="Ingrid Nilsen", customer_email="ingrid@example.com")
    response = broker_api.post(f"/api/v1/offers/{offer.reference}/accept/", {}, format="json")
    assert response.status_code == 200
    booking = Booking.objects.get(reference=response.json()["booking"])
    assert booking.customer_name == "Ingrid Nilsen" != broker.name

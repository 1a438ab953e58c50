"""A broker's "Notes for us" are ours: staff read them; a vendor never sees them, on its
item page, in the API or in its messages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from bookings import services as bs
from bookings.models import Booking
from core.domain import Actor
from notifications.models import Notification
from partners.services import api_key_create
from tests import factories

pytestmark = pytest.mark.django_db
SECRET = "Pays late, push for a deposit"


def local(dt: Any) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def test_a_brokers_notes_for_us_never_reach_the_vendor(
    broker: Any, vendor: Any, superuser: Any
) -> None:
    vendor.notify_by = ["email", "whatsapp"]
    vendor.save()
    portal = Client()
    portal.force_login(factories.PortalAccountFactory(broker=broker).user)
    start = timezone.now() + timedelta(days=40)
    page = portal.get(reverse("portal:booking-request"))
    assert "suppliers never see it" in page.content.decode()
    response = portal.post(
        reverse("portal:booking-request"),
        {
            "customer_name": "Ingrid Nilsen",
            "currency": "EUR",
            "notes": SECRET,
            "items-TOTAL_FORMS": "1",
            "items-INITIAL_FORMS": "0",
            "items-0-service_type": "accommodation",
            "items-0-description": "Suite",
            "items-0-start": local(start),
            "items-0-end": local(start + timedelta(days=2)),
            "items-0-quantity": "1",
        },
    )
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert booking.notes == SECRET  # staff read it in the admin
    bs.booking_submit(booking=booking, actor=Actor(broker=broker, via="portal"))
    item = booking.items.get()
    bs.item_assign_vendor(item=item, vendor=vendor, actor=Actor(user=superuser, via="admin"))

    vendor_portal = Client()
    vendor_portal.force_login(factories.PortalAccountFactory(vendor=vendor).user)
    html = vendor_portal.get(reverse("portal:item-detail", args=[item.pk])).content.decode()
    assert "Suite" in html and SECRET not in html
    _, raw = api_key_create(actor=Actor(), name="v", vendor=vendor)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert SECRET not in api.get(f"/api/v1/booking-items/{item.pk}/").content.decode()
    told = Notification.objects.filter(recipient__in=[vendor.email, vendor.phone])
    assert {n.channel for n in told} == {"email", "whatsapp"}
    for row in told:
        stored = (
            f"{row.subject} {row.body_text} {row.body_html} {row.whatsapp_params} {row.context}"
        )
        assert SECRET not in stored
    admin = Client()
    admin.force_login(superuser)
    page = admin.get(reverse("admin:bookings_booking_change", args=[booking.pk]))
    assert SECRET in page.content.decode()

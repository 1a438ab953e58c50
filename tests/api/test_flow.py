"""The integrator's whole flow, every call through the API with keys: create a vendor and
a broker, create and submit a booking, assign and confirm its items, approve it, and
accept an offer. Keys for the partners come from ``manage.py create_api_key``, as an
integrator would be given them. tests/api/test_schemathesis.py replays this flow with
every response validated against the published OpenAPI schema."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from bookings.models import Booking
from notifications.models import Notification
from partners.roles import APPROVERS, PARTNER_MANAGERS
from tests import factories
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db


def _key_for(**owner: Any) -> Any:
    out = StringIO()
    flag, value = next(iter(owner.items()))
    call_command("create_api_key", f"--{flag}", str(value), "--name", "flow", stdout=out)
    return key_client(out.getvalue().strip().splitlines()[-1])


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content)
    return response.json()


def _when(days: float) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


def test_integrator_flow(django_capture_on_commit_callbacks: Any) -> None:
    staff = factories.StaffFactory(username="integrator", groups=[APPROVERS, PARTNER_MANAGERS])
    ops = _key_for(user=staff.username)

    # Partners.
    vendor = _ok(
        ops.post(
            "/api/v1/vendors/",
            {
                "name": "Hotel Atlântico",
                "email": "desk@atlantico.example",
                "phone": "+351912000111",
                "service_types": ["accommodation"],
                "notify_by": ["email", "whatsapp"],
            },
            format="json",
        ),
        201,
    )
    broker = _ok(
        ops.post(
            "/api/v1/brokers/",
            {
                "name": "Lisbon Trips",
                "email": "ops@lisbontrips.example",
                "commission_rate": "12.50",
            },
            format="json",
        ),
        201,
    )
    broker_api = _key_for(broker=broker["id"])
    vendor_api = _key_for(vendor=vendor["id"])

    # The broker requests a booking (replayed safely with its Idempotency-Key) and submits it.
    payload = {
        "customer_name": "Maria Costa",
        "customer_email": "maria@example.com",
        "items": [
            {
                "service_type": "accommodation",
                "description": "Two nights, double room",
                "start": _when(30),
                "end": _when(32),
                "quantity": 2,
            }
        ],
    }
    first = broker_api.post(
        "/api/v1/bookings/", payload, format="json", HTTP_IDEMPOTENCY_KEY="flow-booking-1"
    )
    booking = _ok(first, 201)
    replay = broker_api.post(
        "/api/v1/bookings/", payload, format="json", HTTP_IDEMPOTENCY_KEY="flow-booking-1"
    )
    assert replay.status_code == 201 and replay.json() == booking
    assert Booking.objects.count() == 1
    assert booking["broker"] == broker["id"]
    # Unpriced until staff price it: a broker never sets a price.
    assert booking["totals"] == {"sell": "0.00", "commission": "0.00"}
    reference = booking["reference"]
    item_id = booking["items"][0]["id"]
    assert _ok(broker_api.post(f"/api/v1/bookings/{reference}/submit/"))["status"] == (
        "pending_approval"
    )

    # Staff price the item and hand it to the vendor.
    _ok(
        ops.patch(
            f"/api/v1/booking-items/{item_id}/",
            {"unit_price": "140.00", "unit_cost": "95.00"},
            format="json",
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        assigned = _ok(
            ops.post(
                f"/api/v1/booking-items/{item_id}/assign-vendor/",
                {"vendor": vendor["id"]},
                format="json",
            )
        )
    assert assigned["vendor_status"] == "pending"

    # The vendor finds it, accepts and confirms it.
    waiting = _ok(vendor_api.get("/api/v1/booking-items/", {"vendor_status": "pending"}))
    assert [i["id"] for i in waiting["results"]] == [item_id]
    assert waiting["results"][0]["unit_cost"] == "95.00"
    assert "unit_price" not in waiting["results"][0]
    _ok(vendor_api.post(f"/api/v1/booking-items/{item_id}/accept/"))
    confirmed = _ok(
        vendor_api.post(
            f"/api/v1/booking-items/{item_id}/confirm/", {"vendor_reference": "ATL-7781"}
        )
    )
    assert confirmed["vendor_status"] == "confirmed"

    # Approval: every item is already confirmed, so the booking confirms itself.
    approved = _ok(ops.post(f"/api/v1/bookings/{reference}/approve/"))
    assert approved["status"] == "confirmed"
    assert approved["totals"] == {
        "sell": "280.00",
        "cost": "190.00",
        "margin": "90.00",
        "commission": "35.00",
    }
    seen = _ok(broker_api.get(f"/api/v1/bookings/{reference}/"))
    assert seen["status"] == "confirmed"
    assert "cost" not in seen["totals"]

    # An offer: staff make and send it, the broker accepts, the booking appears.
    offer = _ok(
        ops.post(
            "/api/v1/offers/",
            {
                "broker": broker["id"],
                "valid_until": _when(10),
                "lines": [
                    {
                        "service_type": "transfer",
                        "description": "Airport to hotel",
                        "start": _when(30),
                        "end": _when(30.05),
                        "quantity": 1,
                        "unit_price": "60.00",
                        "unit_cost": "40.00",
                        "proposed_vendor": vendor["id"],
                    }
                ],
            },
            format="json",
        ),
        201,
    )
    offer_url = f"/api/v1/offers/{offer['reference']}/"
    assert _ok(broker_api.get("/api/v1/offers/"))["count"] == 0  # a draft is not theirs yet
    assert _ok(ops.post(f"{offer_url}send/"))["status"] == "sent"
    assert [o["reference"] for o in _ok(broker_api.get("/api/v1/offers/"))["results"]] == [
        offer["reference"]
    ]
    accepted = _ok(
        broker_api.post(
            f"{offer_url}accept/",
            {"lead_name": "Jon Berg", "lead_email": "jon@example.com"},
            format="json",
        )
    )
    assert accepted["status"] == "accepted"
    from_offer = _ok(broker_api.get(f"/api/v1/bookings/{accepted['booking']}/"))
    assert from_offer["status"] == "pending_approval"
    assert [i["description"] for i in from_offer["items"]] == ["Airport to hotel"]

    # Everyone who had to be told was.
    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert {"item_assigned", "booking_approved", "offer_sent", "offer_accepted"} <= kinds

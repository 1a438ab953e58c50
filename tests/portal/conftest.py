"""Fixtures for the portal tests: logged-in clients and a small world built by services.

Amounts, names and contacts are distinctive so a test can search the rendered HTML
for them: a vendor's page must never contain ``SELL`` or ``COMMISSION``, a broker's
never ``COST`` or the vendor's name, email or phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bookings import services as bs
from bookings.models import Booking, BookingItem
from core.domain import Actor
from core.models import AuditEntry
from notifications.models import Notification
from offers import services as os_
from offers.models import Offer
from partners.models import Broker, Invitation, PortalAccount, Vendor
from tests import factories

SELL = Decimal("987.65")  # unit price of the vendor's item
COST = Decimal("123.45")  # unit cost of the vendor's item
OFFER_SELL = Decimal("555.55")
OFFER_COST = Decimal("222.22")
VENDOR_NAME = "Quinta Secreta Lda"
VENDOR_EMAIL = "reservas@quinta-secreta.example"
VENDOR_PHONE = "+351911222333"
OTHER_VENDOR_NAME = "Transportes Rivais SA"


@dataclass
class World:
    vendor: Vendor
    other_vendor: Vendor
    broker: Broker
    other_broker: Broker
    booking: Booking  # the broker's, pending approval
    item: BookingItem  # with the vendor, pending its answer
    other_item: BookingItem  # same booking, with the other vendor
    draft: Booking  # the broker's draft request
    other_booking: Booking  # the other broker's, with an item for the other vendor
    other_vendor_item: BookingItem
    offer: Offer  # sent to the broker
    draft_offer: Offer  # staff work in progress for the broker
    other_offer: Offer  # sent to the other broker
    accepted_item: BookingItem | None = None  # made by the fixtures that need one


def when(days: int, hours: int = 0) -> Any:
    return timezone.now() + timedelta(days=days, hours=hours)


def line(**extra: Any) -> dict[str, Any]:
    data = {
        "service_type": "accommodation",
        "description": "Double room, garden view",
        "start": when(30),
        "end": when(32),
        "quantity": 2,
        "unit_price": SELL,
        "unit_cost": COST,
    }
    data.update(extra)
    return data


@pytest.fixture
def world(agent: Any, superuser: Any) -> World:
    staff = Actor(user=superuser, via="admin")
    vendor = factories.VendorFactory(name=VENDOR_NAME, email=VENDOR_EMAIL, phone=VENDOR_PHONE)
    other_vendor = factories.VendorFactory(name=OTHER_VENDOR_NAME)
    broker = factories.BrokerFactory(name="Nordic Travel AS", commission_rate=Decimal("10"))
    other_broker = factories.BrokerFactory(name="Rival Tours Ltd")

    booking = bs.booking_create(
        actor=staff,
        broker=broker,
        customer_name="Ana Lead",
        notes="Two vegetarians in the group.",
        items=[
            line(vendor=vendor),
            line(
                service_type="transfer",
                description="Airport pickup, minivan",
                unit_price=Decimal("40.00"),
                unit_cost=Decimal("25.00"),
                vendor=other_vendor,
            ),
        ],
    )
    bs.booking_submit(booking=booking, actor=staff)
    item = booking.items.get(vendor=vendor)
    other_item = booking.items.get(vendor=other_vendor)

    draft = bs.booking_create(
        actor=Actor(broker=broker, via="portal"),
        customer_name="Draft Customer",
        items=[{k: v for k, v in line().items() if k not in ("unit_price", "unit_cost")}],
    )
    other_booking = bs.booking_create(
        actor=staff,
        broker=other_broker,
        customer_name="Rival Customer",
        items=[line(description="Rival suite", vendor=other_vendor)],
    )
    bs.booking_submit(booking=other_booking, actor=staff)  # vendors are asked on submission
    offer = os_.offer_create(
        actor=staff,
        broker=broker,
        customer_name="Offer Customer",
        valid_until=when(7),
        lines=[
            {
                **line(unit_price=OFFER_SELL, unit_cost=OFFER_COST),
                "description": "Sunset cruise for two",
                "service_type": "activity",
                "proposed_vendor": vendor,
            }
        ],
    )
    os_.offer_send(offer=offer, actor=staff)
    draft_offer = os_.offer_create(
        actor=staff, broker=broker, valid_until=when(7), lines=[line(description="Draft line")]
    )
    other_offer = os_.offer_create(
        actor=staff, broker=other_broker, valid_until=when(7), lines=[line(description="Rival")]
    )
    os_.offer_send(offer=other_offer, actor=staff)
    return World(
        vendor=vendor,
        other_vendor=other_vendor,
        broker=broker,
        other_broker=other_broker,
        booking=booking,
        item=item,
        other_item=other_item,
        draft=draft,
        other_booking=other_booking,
        other_vendor_item=other_booking.items.get(),
        offer=offer,
        draft_offer=draft_offer,
        other_offer=other_offer,
    )


def portal_user(**partner: Any) -> Any:
    return factories.PortalAccountFactory(**partner).user


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def vendor_client(world: World) -> Client:
    return client_for(portal_user(vendor=world.vendor))


@pytest.fixture
def broker_client(world: World) -> Client:
    return client_for(portal_user(broker=world.broker))


@pytest.fixture
def other_vendor_client(world: World) -> Client:
    return client_for(portal_user(vendor=world.other_vendor))


@pytest.fixture
def other_broker_client(world: World) -> Client:
    return client_for(portal_user(broker=world.other_broker))


def snapshot() -> dict[str, Any]:
    """Everything a portal action could change, to prove a refused one changed nothing."""
    return {
        "bookings": sorted(Booking.objects.values_list("pk", "status", "updated_at")),
        "items": sorted(
            BookingItem.objects.values_list(
                "pk", "vendor_id", "vendor_status", "vendor_reference", "updated_at"
            )
        ),
        "offers": sorted(Offer.objects.values_list("pk", "status", "booking_id", "updated_at")),
        "vendors": sorted(Vendor.objects.values_list("pk", "email", "phone", "notify_by")),
        "brokers": sorted(Broker.objects.values_list("pk", "email", "phone")),
        "audit": AuditEntry.objects.count(),
        "notifications": Notification.objects.count(),
        "accounts": PortalAccount.objects.count(),
        "invitations": sorted(Invitation.objects.values_list("pk", "accepted_at")),
    }

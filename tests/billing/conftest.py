"""Fixtures for money: staff who may approve and keep the accounts, approved bookings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from bookings import services as booking_services
from core.domain import Actor
from partners.roles import ACCOUNTS, APPROVERS
from tests import factories
from tests.api.conftest import (  # noqa: F401 - the API's client fixtures, shared
    _api_settings,
    broker_client,
    key_client,
    make_key,
    other_broker_client,
    staff_client,
    staff_with_perms,
    superuser_client,
    vendor_client,
)


@pytest.fixture(autouse=True)
def _billing_settings(settings: Any) -> None:
    settings.BILLING_DEPOSIT_PERCENT = 30.0
    settings.BILLING_DEPOSIT_DUE_DAYS = 7
    settings.BILLING_BALANCE_DUE_DAYS = 30
    settings.BILLING_TAX_RATE = "20"
    settings.BILLING_TAX_RATES = {"accommodation": "10"}


@pytest.fixture
def accountant(db: None) -> Any:
    return factories.StaffFactory(username="accounts", groups=[ACCOUNTS, APPROVERS])


@pytest.fixture
def accounts_client(make_key: Any, accountant: Any) -> Any:  # noqa: F811 - the fixture, by name
    _, raw = make_key(user=accountant)
    return key_client(raw)


@pytest.fixture
def staff(accountant: Any) -> Actor:
    return Actor(user=accountant, via="admin")


def make_booking(
    actor: Actor,
    *,
    broker: Any = None,
    days_ahead: int = 60,
    items: tuple[tuple[str, int, str], ...] = (
        ("accommodation", 2, "150.00"),
        ("transfer", 1, "80.00"),
    ),
    approve: bool = True,
) -> Any:
    """A booking with ``items`` (service type, quantity, unit price), submitted and approved."""
    start = timezone.now() + timedelta(days=days_ahead)
    booking = booking_services.booking_create(
        actor=actor,
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        broker=broker,
        items=[
            {
                "service_type": kind,
                "description": f"{kind} service",
                "start": start + timedelta(hours=n),
                "end": start + timedelta(hours=n + 2),
                "quantity": quantity,
                "unit_price": Decimal(price),
                "unit_cost": Decimal("10.00"),
            }
            for n, (kind, quantity, price) in enumerate(items)
        ],
    )
    if approve:
        booking_services.booking_submit(booking=booking, actor=actor)
        booking = booking_services.booking_approve(booking=booking, actor=actor)
    booking.refresh_from_db()
    return booking

"""Fixtures shared by every test folder."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from core.domain import Actor
from partners.roles import AGENTS, APPROVERS, PARTNER_MANAGERS
from tests import factories


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Tests marked ``postgres`` need PostgreSQL's row locks and real concurrency."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def agent(db: None) -> Any:
    return factories.StaffFactory(username="agent", groups=[AGENTS])


@pytest.fixture
def approver(db: None) -> Any:
    return factories.StaffFactory(username="approver", groups=[APPROVERS])


@pytest.fixture
def partner_manager(db: None) -> Any:
    return factories.StaffFactory(username="partners", groups=[PARTNER_MANAGERS])


@pytest.fixture
def superuser(db: None) -> Any:
    return factories.SuperuserFactory(username="root")


@pytest.fixture
def agent_actor(agent: Any) -> Actor:
    return Actor(user=agent, via="admin")


@pytest.fixture
def approver_actor(approver: Any) -> Actor:
    return Actor(user=approver, via="admin")


@pytest.fixture
def vendor(db: None) -> Any:
    return factories.VendorFactory()


@pytest.fixture
def other_vendor(db: None) -> Any:
    return factories.VendorFactory()


@pytest.fixture
def broker(db: None) -> Any:
    return factories.BrokerFactory()


@pytest.fixture
def other_broker(db: None) -> Any:
    return factories.BrokerFactory()


@pytest.fixture
def vendor_user(vendor: Any) -> Any:
    return factories.PortalAccountFactory(vendor=vendor).user


@pytest.fixture
def broker_user(broker: Any) -> Any:
    return factories.PortalAccountFactory(broker=broker).user

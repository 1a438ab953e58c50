"""Webhook targets on loopback are allowed here (production refuses them); a real
receiver runs in a thread."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from events import delivery
from tests.events.standins import WebhookReceiver


@pytest.fixture(autouse=True)
def _webhook_settings(settings: Any) -> Iterator[None]:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_READ_TIMEOUT = 1.0
    settings.WEBHOOK_CONNECT_TIMEOUT = 1.0
    yield
    delivery._sessions.clear()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


# The API tests' key fixtures (a staff, broker or vendor key and its client).
from tests.api.conftest import (  # noqa: E402, F401
    _api_settings,
    broker_client,
    make_key,
    other_broker_client,
    other_vendor_client,
    staff_client,
    staff_with_perms,
    superuser_client,
    vendor_client,
)

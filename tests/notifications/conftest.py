"""Fixtures for the outbox tests: the stand-ins on loopback and the settings that use them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from notifications.backends import reset_backends
from tests.notifications.standins import CloudApiStandIn, SmtpStandIn

WHATSAPP_SETTINGS = {
    "WHATSAPP_PHONE_NUMBER_ID": "1234567890",
    "WHATSAPP_ACCESS_TOKEN": "test-access-token",
    "WHATSAPP_CONNECT_TIMEOUT": 2.0,
    "WHATSAPP_READ_TIMEOUT": 5.0,
}


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers", "redis: needs Redis (REDIS_TEST_URL); skipped without it, failed in CI"
    )


@pytest.fixture(autouse=True)
def _fresh_backends() -> Iterator[None]:
    """Backends are kept per process; no test sees another's connection or session."""
    reset_backends()
    yield
    reset_backends()


@pytest.fixture
def smtp_server() -> Iterator[SmtpStandIn]:
    server = SmtpStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_settings(settings: Any, smtp_server: SmtpStandIn) -> SmtpStandIn:
    """Django's SMTP email backend pointed at the aiosmtpd stand-in (what EMAIL_URL sets)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    return smtp_server


@pytest.fixture
def cloud_api() -> Iterator[CloudApiStandIn]:
    server = CloudApiStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def whatsapp_settings(settings: Any, cloud_api: CloudApiStandIn) -> CloudApiStandIn:
    """The Cloud API backend pointed at the stand-in (what WHATSAPP_API_URL sets)."""
    settings.WHATSAPP_API_URL = cloud_api.url
    for name, value in WHATSAPP_SETTINGS.items():
        setattr(settings, name, value)
    settings.NOTIFICATION_BACKENDS = {
        **settings.NOTIFICATION_BACKENDS,
        "whatsapp": "notifications.backends.whatsapp.CloudApiBackend",
    }
    return cloud_api

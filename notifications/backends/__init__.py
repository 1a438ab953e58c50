"""Channel backends: how a notification leaves the building, one class per channel.

Chosen by dotted path in ``settings.NOTIFICATION_BACKENDS`` (like ``EMAIL_BACKEND``).
A backend's ``send`` returns the provider's message id, or raises
``TransientDeliveryError`` (try again later) or ``PermanentDeliveryError`` (trying
again cannot help). One instance is kept per process, so a backend may hold a
connection or an HTTP session across tasks; the process id is part of the key, so a
forked worker never reuses its parent's sockets.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from notifications import conf
from notifications.backends.base import (
    BaseBackend,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)

__all__ = [
    "BaseBackend",
    "DeliveryError",
    "PermanentDeliveryError",
    "TransientDeliveryError",
    "get_backend",
    "reset_backends",
]

_instances: dict[tuple[str, int], BaseBackend] = {}


def get_backend(channel: str) -> BaseBackend:
    path = conf.backend_path(channel)
    key = (path, os.getpid())
    backend = _instances.get(key)
    if backend is None:
        backend = import_string(path)()
        _instances[key] = backend
    return backend


def reset_backends() -> None:
    """Close and forget every backend of this process (settings changed, tests)."""
    for backend in _instances.values():
        backend.close()
    _instances.clear()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    # A backend reads its settings (SMTP host, API URL, token) when it is created.
    if setting.startswith(("EMAIL_", "NOTIFICATION_", "WHATSAPP_", "DEFAULT_FROM_EMAIL")):
        reset_backends()

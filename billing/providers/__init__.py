"""Payment providers: how a customer pays an instalment online, one class per provider.

Chosen by name from ``settings.BILLING_PAYMENT_PROVIDERS`` (name -> dotted path), like
the notification channel backends. ``manual`` (bank transfer) needs nothing outside;
``card`` speaks a Stripe-Checkout-shaped API: create a checkout session for an amount,
send the customer to its URL, and learn of the payment from a signed webhook.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from billing.providers.base import (
    BaseProvider,
    LinkRequest,
    ProviderError,
    SignatureError,
    WebhookEvent,
)

__all__ = [
    "BaseProvider",
    "LinkRequest",
    "ProviderError",
    "SignatureError",
    "WebhookEvent",
    "get_provider",
    "provider_names",
]

_instances: dict[tuple[str, int], BaseProvider] = {}


def provider_names() -> list[str]:
    return list(settings.BILLING_PAYMENT_PROVIDERS)


def get_provider(name: str) -> BaseProvider:
    """The provider called ``name``; ``KeyError`` if the site has none by that name."""
    path = settings.BILLING_PAYMENT_PROVIDERS[name]
    key = (path, os.getpid())
    provider = _instances.get(key)
    if provider is None:
        provider = import_string(path)(name=name)
        _instances[key] = provider
    return provider


def reset_providers() -> None:
    for provider in _instances.values():
        provider.close()
    _instances.clear()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("BILLING_"):
        reset_providers()

"""What every payment provider implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


class ProviderError(Exception):
    """The provider could not make a link (down, refused, misconfigured); nothing was made."""


class SignatureError(Exception):
    """A webhook whose signature is missing, wrong or too old: it is not the provider's."""


@dataclass(frozen=True)
class LinkRequest:
    instalment_id: int
    booking_reference: str
    description: str
    amount: Decimal
    currency: str
    customer_email: str
    success_url: str
    cancel_url: str


@dataclass(frozen=True)
class Link:
    session_id: str = ""
    url: str = ""
    instructions: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    """A verified event: ``kind`` is ``paid``, ``expired`` or ``ignored``."""

    event_id: str
    event_type: str
    kind: str
    created: datetime | None = None
    session_id: str = ""
    payment_id: str = ""
    instalment_id: int | None = None
    amount: Decimal | None = None
    currency: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


class BaseProvider:
    takes_webhooks = False

    def __init__(self, *, name: str) -> None:
        self.name = name

    def create_link(self, request: LinkRequest) -> Link:
        raise NotImplementedError

    def parse_webhook(self, *, body: bytes, headers: dict[str, str]) -> WebhookEvent:
        raise SignatureError(f"{self.name} sends no webhooks.")

    def close(self) -> None:
        """Release what the provider holds open (an HTTP session)."""

"""A card-payment provider with Stripe Checkout's shape.

- A link is a checkout session: ``POST {api}/v1/checkout/sessions`` (form-encoded,
  bearer secret key, amount in the currency's minor unit) answers ``{id, url}``.
- Its webhook signs each event: header ``Stripe-Signature: t=<unix time>,v1=<hex>``
  where ``v1`` is HMAC-SHA256 of ``"<t>.<body>"`` with the webhook secret; an event
  older than the tolerance is refused, so a captured request cannot be replayed later.

Over HTTPS with connect and read timeouts, on one ``requests.Session`` per process.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import requests
from django.conf import settings

from billing.providers.base import (
    BaseProvider,
    Link,
    LinkRequest,
    ProviderError,
    SignatureError,
    WebhookEvent,
)

# ISO 4217 currencies without minor units (the provider counts them whole).
ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
                "VND", "VUV", "XAF", "XOF", "XPF"}  # fmt: skip


def minor_units(amount: Decimal, currency: str) -> int:
    return int(amount if currency in ZERO_DECIMAL else amount * 100)


def from_minor_units(value: int, currency: str) -> Decimal:
    amount = Decimal(value)
    return amount if currency in ZERO_DECIMAL else (amount / 100).quantize(Decimal("0.01"))


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header value for ``payload`` (also used by the tests)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class CardProvider(BaseProvider):
    takes_webhooks = True

    def __init__(self, *, name: str) -> None:
        super().__init__(name=name)
        self.api_url = settings.BILLING_CARD_API_URL.rstrip("/")
        self.secret_key = settings.BILLING_CARD_SECRET_KEY
        self.webhook_secret = settings.BILLING_CARD_WEBHOOK_SECRET
        self.tolerance = int(settings.BILLING_CARD_WEBHOOK_TOLERANCE)
        self.timeout = (
            float(settings.BILLING_CARD_CONNECT_TIMEOUT),
            float(settings.BILLING_CARD_READ_TIMEOUT),
        )
        self.session = requests.Session()

    def create_link(self, request: LinkRequest) -> Link:
        if not self.secret_key:
            raise ProviderError("Card payments are not set up (BILLING_CARD_SECRET_KEY).")
        form = {
            "mode": "payment",
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "client_reference_id": str(request.instalment_id),
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": request.currency.lower(),
            "line_items[0][price_data][unit_amount]": str(
                minor_units(request.amount, request.currency)
            ),
            "line_items[0][price_data][product_data][name]": request.description,
            "metadata[instalment]": str(request.instalment_id),
            "metadata[booking]": request.booking_reference,
        }
        if request.customer_email:
            form["customer_email"] = request.customer_email
        try:
            response = self.session.post(
                f"{self.api_url}/v1/checkout/sessions",
                data=form,
                headers={
                    "Authorization": f"Bearer {self.secret_key}",
                    # The provider answers a retried request with the first session.
                    "Idempotency-Key": f"instalment-{request.instalment_id}-{request.amount}",
                },
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise ProviderError(f"The card provider could not be reached: {exc}") from exc
        if response.status_code >= 400:
            raise ProviderError(
                f"The card provider refused the link (HTTP {response.status_code})."
            )
        try:
            data = response.json()
            return Link(session_id=str(data["id"]), url=str(data["url"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderError("The card provider's answer could not be read.") from exc

    def verify(self, *, body: bytes, header: str, now: float | None = None) -> None:
        if not self.webhook_secret:
            raise SignatureError("No webhook secret is set (BILLING_CARD_WEBHOOK_SECRET).")
        parts: dict[str, list[str]] = {}
        for piece in (header or "").split(","):
            key, _, value = piece.strip().partition("=")
            parts.setdefault(key, []).append(value)
        try:
            timestamp = int(parts["t"][0])
        except (KeyError, ValueError, IndexError) as exc:
            raise SignatureError("The signature has no timestamp.") from exc
        expected = sign(body, self.webhook_secret, timestamp).split("v1=", 1)[1]
        if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
            raise SignatureError("The signature does not match.")
        if abs((now or time.time()) - timestamp) > self.tolerance:
            raise SignatureError("The signature is too old (or from the future).")

    def parse_webhook(self, *, body: bytes, headers: dict[str, str]) -> WebhookEvent:
        self.verify(body=body, header=headers.get("Stripe-Signature", ""))
        try:
            event: dict[str, Any] = orjson.loads(body)
            event_id = str(event["id"])
            event_type = str(event["type"])
            session = event.get("data", {}).get("object", {}) or {}
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise SignatureError("The event cannot be read.") from exc
        created = event.get("created")
        common: dict[str, Any] = {
            "event_id": event_id,
            "event_type": event_type,
            "created": datetime.fromtimestamp(created, tz=UTC)
            if isinstance(created, int)
            else None,
            "session_id": str(session.get("id", "")),
            "raw": event,
        }
        metadata = session.get("metadata") or {}
        instalment = metadata.get("instalment") or session.get("client_reference_id")
        try:
            common["instalment_id"] = int(instalment) if instalment is not None else None
        except (TypeError, ValueError):
            common["instalment_id"] = None
        if event_type == "checkout.session.completed" and session.get("payment_status") == "paid":
            currency = str(session.get("currency", "")).upper()
            return WebhookEvent(
                kind="paid",
                payment_id=str(session.get("payment_intent") or session.get("id", "")),
                amount=from_minor_units(int(session.get("amount_total", 0)), currency),
                currency=currency,
                **common,
            )
        if event_type == "checkout.session.expired":
            return WebhookEvent(kind="expired", **common)
        return WebhookEvent(kind="ignored", **common)

    def close(self) -> None:
        self.session.close()

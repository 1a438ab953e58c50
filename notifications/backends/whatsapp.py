"""WhatsApp through the WhatsApp Business Cloud API, or printed in development.

Business-initiated messages must use a pre-approved template: the row carries the
template name and its body parameters, and a text fallback for the console and the
admin. No asyncio, no threads: one blocking request with connect and read timeouts,
on one ``requests.Session`` per worker process (kept alive between tasks).
"""

from __future__ import annotations

import re
import sys
import uuid
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TextIO

import requests
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter

from notifications.backends.base import (
    BaseBackend,
    PermanentDeliveryError,
    TransientDeliveryError,
)

if TYPE_CHECKING:
    from notifications.models import Notification

E164 = re.compile(r"^\+?[1-9]\d{7,14}$")
# Cloud API error codes that mean "not now" even when the HTTP status is a 400:
# throttling, spam and pair rate limits, temporary service trouble.
TRANSIENT_ERROR_CODES = {1, 2, 4, 17, 341, 80007, 130429, 131000, 131016, 131048, 131056}
# WhatsApp refuses template parameters with new lines, tabs or long runs of spaces.
WHITESPACE = re.compile(r"\s+")
MAX_PARAM_LENGTH = 1024


def phone_digits(recipient: str) -> str:
    """The Cloud API's ``to``: the E.164 number without ``+``, spaces or dashes."""
    compact = re.sub(r"[\s\-().]", "", recipient or "")
    if not compact:
        raise PermanentDeliveryError("The recipient has no phone number.")
    if not E164.match(compact):
        raise PermanentDeliveryError(f"{recipient!r} is not an E.164 phone number.")
    return compact.lstrip("+")


def template_parameters(params: list[Any]) -> list[dict[str, str]]:
    return [
        {"type": "text", "text": WHITESPACE.sub(" ", str(value)).strip()[:MAX_PARAM_LENGTH] or "-"}
        for value in params or []
    ]


def message_payload(notification: Notification) -> dict[str, Any]:
    template: dict[str, Any] = {
        "name": notification.whatsapp_template or notification.kind,
        "language": {"code": settings.WHATSAPP_TEMPLATE_LANGUAGE},
    }
    parameters = template_parameters(notification.whatsapp_params)
    if parameters:
        template["components"] = [{"type": "body", "parameters": parameters}]
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": phone_digits(notification.recipient),
        "type": "template",
        "template": template,
        # Echoed back in status webhooks: finds the row even if a receipt arrives
        # before the worker has stored the message id.
        "biz_opaque_callback_data": f"notification:{notification.pk}",
    }


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None


def _error(response: requests.Response) -> tuple[int | None, str]:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    code = error.get("code")
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    text = error.get("message") or response.text[:300] or response.reason
    if details:
        text = f"{text} ({details})"
    prefix = f"HTTP {response.status_code}" + (f", error {code}" if code is not None else "")
    return (code if isinstance(code, int) else None), f"{prefix}: {text}"


class CloudApiBackend(BaseBackend):
    channel = "whatsapp"

    def __init__(self) -> None:
        self.url = f"{settings.WHATSAPP_API_URL}/{settings.WHATSAPP_PHONE_NUMBER_ID}/messages"
        self.timeout = (settings.WHATSAPP_CONNECT_TIMEOUT, settings.WHATSAPP_READ_TIMEOUT)
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {settings.WHATSAPP_ACCESS_TOKEN}",
                "Content-Type": "application/json",
            }
        )
        # One keep-alive connection is all a worker (one task at a time) needs;
        # retries are the outbox's, never hidden inside the HTTP client.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def send(self, notification: Notification) -> str:
        if not settings.WHATSAPP_PHONE_NUMBER_ID:
            raise PermanentDeliveryError("WHATSAPP_PHONE_NUMBER_ID is not set.")
        payload = message_payload(notification)
        try:
            response = self.session.post(self.url, json=payload, timeout=self.timeout)
        except requests.ReadTimeout as exc:
            # The request left: the Cloud API may have accepted the message.
            raise TransientDeliveryError(
                f"WhatsApp API did not answer in time: {exc}", uncertain=True
            ) from exc
        except requests.Timeout as exc:
            raise TransientDeliveryError(f"WhatsApp API timed out: {exc}") from exc
        except requests.RequestException as exc:
            raise TransientDeliveryError(
                f"WhatsApp API unreachable: {exc.__class__.__name__}: {exc}"
            ) from exc
        status = response.status_code
        if status == 429 or status >= 500:
            _, text = _error(response)
            raise TransientDeliveryError(text, retry_after=_retry_after(response))
        if status >= 400:
            code, text = _error(response)
            if code in TRANSIENT_ERROR_CODES:
                raise TransientDeliveryError(text, retry_after=_retry_after(response))
            raise PermanentDeliveryError(text)
        try:
            return str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError):
            # Accepted (2xx) but without the id we expected: sending again could
            # deliver twice, so it counts as sent; receipts will not match it.
            return ""

    def close(self) -> None:
        self.session.close()


class ConsoleBackend(BaseBackend):
    """Development: prints the template call and its text instead of sending it."""

    channel = "whatsapp"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, notification: Notification) -> str:
        payload = message_payload(notification)
        params = ", ".join(p["text"] for p in template_parameters(notification.whatsapp_params))
        message_id = f"console.{uuid.uuid4().hex}"
        self.stream.write(
            f"--- WhatsApp to +{payload['to']} ({notification.recipient_name}) ---\n"
            f"template {payload['template']['name']}({params})\n"
            f"{notification.body_text.rstrip()}\n"
            f"--- id {message_id} ---\n"
        )
        self.stream.flush()
        return message_id

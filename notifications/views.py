"""WhatsApp Cloud API webhook: the verification handshake and delivery receipts."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from notifications.receipts import MalformedReceipt, receipts_apply

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "HTTP_X_HUB_SIGNATURE_256"


def _text(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


def signature_valid(body: bytes, header: str) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``, compared in
    constant time. Without an app secret nothing is trusted."""
    secret = settings.WHATSAPP_APP_SECRET
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    # Bytes, not str: compare_digest refuses non-ASCII str, and a header is untrusted.
    given = header.removeprefix("sha256=").strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)


def _handshake(request: HttpRequest) -> HttpResponse:
    mode = request.GET.get("hub.mode")
    token = request.GET.get("hub.verify_token")
    challenge = request.GET.get("hub.challenge")
    if not mode or token is None or challenge is None:
        return _text("Missing hub.mode, hub.verify_token or hub.challenge.", 400)
    expected = settings.WHATSAPP_VERIFY_TOKEN
    if (
        mode != "subscribe"
        or not expected
        or not hmac.compare_digest(token.encode(), expected.encode())
    ):
        return _text("Verification failed.", 403)
    # Echoed as plain text only: never rendered as HTML.
    return _text(challenge[:1000])


@csrf_exempt  # Meta cannot send our CSRF token; the HMAC signature authenticates it.
@never_cache
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _handshake(request)
    body = request.body
    if not signature_valid(body, request.META.get(SIGNATURE_HEADER, "")):
        logger.warning("whatsapp webhook: missing or bad signature")
        return _text("Invalid signature.", 403)
    try:
        payload = json.loads(body)
        result = receipts_apply(payload=payload)
    except (ValueError, MalformedReceipt) as exc:
        return _text(f"Malformed body: {exc}", 400)
    except RecursionError:
        # A signed body can still be hostile if the app secret leaked; never a 500.
        return _text("Malformed body: nested too deeply.", 400)
    return _text(f"ok: {result.updated} updated, {result.ignored} ignored")

"""Send one webhook delivery: claim it atomically, POST the signed event, record the outcome.

The same discipline as the notification outbox (``notifications.delivery``): the claim
is one conditional UPDATE, so a task run twice, a second worker or a sweep that
enqueued a row already queued sends nothing twice; the outcome is written only by the
run holding the claim. A claim older than ``WEBHOOK_CLAIM_STALE_AFTER`` (longer than
django-q2's task timeout) belongs to a dead worker, and the sweep hands the row out again.

Outcomes: a 2xx is delivered; a timeout, a connection error, a 5xx or a 429 is tried
again with backoff (a ``Retry-After`` is honoured) until ``max_attempts``; a redirect,
any other 4xx, or a target at a private address is final. Every failure counts
towards disabling the endpoint (``events.services.endpoint_failed``).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import orjson
import requests
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.exceptions import TimeoutException

from events import conf, services, signing
from events.feed import event_document
from events.models import WebhookAttempt, WebhookDelivery
from events.targets import TargetRefused, guarded_session

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
DELIVERED, RETRY, FAILED, SKIPPED = "delivered", "retry", "failed", "skipped"
# A send whose worker died before recording the answer: it is sent again (receivers
# drop copies by Webhook-Event-Id), as the outbox does for email.
INTERRUPTED = "interrupted"
USER_AGENT = "Bookings-Webhooks/1.0"

_sessions: dict[int, requests.Session] = {}


def session() -> requests.Session:
    """One keep-alive session per process (a forked worker never reuses its parent's)."""
    pid = os.getpid()
    if pid not in _sessions:
        _sessions[pid] = guarded_session()
    return _sessions[pid]


@dataclass(frozen=True)
class Claim:
    delivery: WebhookDelivery
    token: uuid.UUID
    attempt: WebhookAttempt


@dataclass(frozen=True)
class Outcome:
    outcome: str
    status_code: int | None = None
    response_ms: int | None = None
    body: str = ""
    error: str = ""
    retry_after: float | None = None


def claimable(now: datetime) -> Q:
    return Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Status.SENDING, claimed_at__lt=now - conf.claim_stale_after()
    )


@transaction.atomic
def claim(delivery_id: int) -> Claim | None:
    now = timezone.now()
    token = uuid.uuid4()
    taken = WebhookDelivery.objects.filter(claimable(now), pk=delivery_id).update(
        status=Status.SENDING,
        claimed_at=now,
        claim_token=token,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if not taken:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    if delivery.attempts > 1:
        WebhookAttempt.objects.filter(delivery_id=delivery_id, finished_at__isnull=True).update(
            finished_at=now,
            outcome=INTERRUPTED,
            error="The worker stopped before recording an outcome; the claim went stale.",
        )
    attempt = WebhookAttempt.objects.create(
        delivery=delivery, number=delivery.attempts, started_at=now
    )
    return Claim(delivery=delivery, token=token, attempt=attempt)


def signed_request(
    delivery: WebhookDelivery, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body (the event as the endpoint's owner may see it) and its headers."""
    endpoint, event = delivery.endpoint, delivery.event
    party_id = endpoint.broker_id or endpoint.vendor_id
    document = event_document(event, audience=endpoint.owner_kind, party_id=party_id)
    if document is None:
        raise LookupError("The endpoint's owner may not see this event.")
    body = orjson.dumps(document)
    timestamp = int(time.time()) if timestamp is None else timestamp
    secret = signing.decrypt(endpoint.secret_encrypted)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Webhook-Event-Id": str(event.id),
        "Webhook-Event-Type": event.type,
        "Webhook-Delivery-Id": str(delivery.pk),
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": signing.signature(secret, timestamp, body),
    }
    return body, headers


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


def post(delivery: WebhookDelivery) -> Outcome:
    try:
        body, headers = signed_request(delivery)
    except LookupError as exc:
        return Outcome(FAILED, error=str(exc))
    started = time.perf_counter()
    try:
        response = session().post(
            delivery.endpoint.url,
            data=body,
            headers=headers,
            timeout=(conf.connect_timeout(), conf.read_timeout()),
            allow_redirects=False,
            stream=True,
        )
    except TargetRefused as exc:
        return Outcome(FAILED, error=f"Refused: {exc.message}")
    except requests.Timeout as exc:
        return Outcome(RETRY, error=f"Timed out: {exc.__class__.__name__}")
    except requests.RequestException as exc:
        return Outcome(RETRY, error=f"Could not connect: {exc.__class__.__name__}: {exc}"[:500])
    try:
        raw = response.raw.read(conf.RESPONSE_BODY_LIMIT, decode_content=True) or b""
    except Exception as exc:  # a body cut short still tells us the status
        raw = f"(body unreadable: {exc.__class__.__name__})".encode()
    finally:
        response.close()
    elapsed = int((time.perf_counter() - started) * 1000)
    code = response.status_code
    text = raw.decode("utf-8", errors="replace")
    if 200 <= code < 300:
        return Outcome(DELIVERED, code, elapsed, text)
    if code == 429 or code >= 500:
        return Outcome(RETRY, code, elapsed, text, f"HTTP {code}", _retry_after(response))
    if 300 <= code < 400:
        return Outcome(FAILED, code, elapsed, text, f"HTTP {code}: redirects are not followed")
    return Outcome(FAILED, code, elapsed, text, f"HTTP {code}")


def deliver(delivery_id: int) -> str:
    """Send one delivery if this run can claim it. Returns what happened."""
    taken = claim(delivery_id)
    if taken is None:
        return SKIPPED
    try:
        outcome = post(taken.delivery)
    except TimeoutException:
        _record(taken, Outcome(RETRY, error="Timed out (task timeout)."))
        raise
    except Exception as exc:
        logger.exception("webhook delivery %s: unexpected error", delivery_id)
        outcome = Outcome(RETRY, error=f"{exc.__class__.__name__}: {exc}"[:500])
    return _record(taken, outcome)


def _record(taken: Claim, result: Outcome) -> str:
    delivery = taken.delivery
    now = timezone.now()
    outcome = result.outcome
    fields: dict[str, object] = {
        "last_status_code": result.status_code,
        "last_error": result.error[:2000],
    }
    if outcome == DELIVERED:
        fields.update(status=Status.DELIVERED, delivered_at=now, last_error="")
    elif outcome == RETRY and delivery.attempts < delivery.max_attempts:
        fields.update(
            status=Status.PENDING,
            next_attempt_at=now
            + conf.retry_delay(delivery.attempts, retry_after=result.retry_after),
        )
    else:
        if outcome == RETRY:
            fields["last_error"] = f"Gave up after {delivery.attempts} attempts: {result.error}"[
                :2000
            ]
        outcome = FAILED
        fields.update(status=Status.FAILED, failed_at=now)
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=Status.SENDING, claim_token=taken.token
        ).update(updated_at=now, **fields)
        WebhookAttempt.objects.filter(pk=taken.attempt.pk).update(
            finished_at=now,
            outcome=outcome,
            status_code=result.status_code,
            response_ms=result.response_ms,
            response_body=result.body[: conf.RESPONSE_BODY_LIMIT],
            error=result.error[:2000],
        )
    if not updated:
        logger.warning("webhook delivery %s: claim lost before the outcome", delivery.pk)
    if result.outcome == DELIVERED:
        services.endpoint_succeeded(delivery.endpoint_id)
    else:
        services.endpoint_failed(delivery.endpoint_id, error=result.error or "failed")
    return outcome

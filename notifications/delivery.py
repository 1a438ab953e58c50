"""Deliver one outbox row: claim it atomically, send it, record the outcome.

The claim is one conditional UPDATE (works the same on PostgreSQL and SQLite): only
a row that is pending and due, or whose claim went stale, can be taken, and only by
one task run. So the same task run twice, a second worker, or a sweep that enqueued
a row already in the queue, sends nothing twice. The finishing UPDATE is guarded by
the claim token, so a run that somehow outlived its claim cannot overwrite the
outcome recorded by the run that took the row over.

A claim is stale once it is older than ``NOTIFICATION_CLAIM_STALE_AFTER``, which is
longer than django-q2's task timeout: by then the worker that held it is dead (killed
at the timeout, or with its cluster), never still sending.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.exceptions import TimeoutException

from notifications import conf
from notifications.backends import DeliveryError, TransientDeliveryError, get_backend
from notifications.models import DeliveryAttempt, Notification

logger = logging.getLogger(__name__)

Status = Notification.Status

SENT = "sent"
RETRY = "retry"
FAILED = "failed"
SKIPPED = "skipped"
LOST = "lost"


@dataclass(frozen=True)
class Claim:
    notification: Notification
    token: uuid.UUID
    at: datetime
    attempt: DeliveryAttempt


def claimable(now: datetime) -> Q:
    """Rows a task may take: pending and due, or held by a claim gone stale."""
    return Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Status.SENDING, claimed_at__lt=now - conf.claim_stale_after()
    )


@transaction.atomic
def claim(notification_id: int) -> Claim | None:
    """Take the row and open its attempt, in one transaction (one commit per claim)."""
    now = timezone.now()
    token = uuid.uuid4()
    taken = Notification.objects.filter(claimable(now), pk=notification_id).update(
        status=Status.SENDING,
        claimed_at=now,
        claim_token=token,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if not taken:
        return None
    notification = Notification.objects.get(pk=notification_id)
    if notification.attempts > 1:
        # A previous run may have died mid-send (its claim went stale): say so
        # in its attempt, which it never got to finish.
        DeliveryAttempt.objects.filter(
            notification_id=notification_id, finished_at__isnull=True
        ).update(
            finished_at=now,
            outcome=LOST,
            error="The worker stopped before recording an outcome; the claim went stale.",
        )
    attempt = DeliveryAttempt.objects.create(
        notification=notification, number=notification.attempts, started_at=now
    )
    return Claim(notification=notification, token=token, at=now, attempt=attempt)


def deliver(notification_id: int) -> str:
    """Send one notification if this run can claim it. Returns what happened."""
    taken = claim(notification_id)
    if taken is None:
        return SKIPPED
    notification, attempt = taken.notification, taken.attempt
    try:
        provider_id = get_backend(notification.channel).send(notification)
    except DeliveryError as exc:
        return _failed(taken, attempt, exc)
    except TimeoutException:
        # django-q2 stops the task at Q_TIMEOUT: record it as a transient failure
        # (so it is retried on schedule, not after the claim goes stale), then let
        # the worker be replaced.
        _failed(taken, attempt, TransientDeliveryError("Timed out (task timeout)."))
        raise
    except Exception as exc:
        # A bug or an unforeseen library error: logged with its traceback and
        # retried a bounded number of times like any transient failure.
        logger.exception("notification %s: unexpected error while sending", notification_id)
        return _failed(taken, attempt, TransientDeliveryError(f"{exc.__class__.__name__}: {exc}"))
    return _sent(taken, attempt, provider_id)


def _finish(
    taken: Claim,
    attempt: DeliveryAttempt,
    *,
    outcome: str,
    error: str = "",
    provider_id: str = "",
    **fields: object,
) -> bool:
    now = timezone.now()
    with transaction.atomic():
        updated = Notification.objects.filter(
            pk=taken.notification.pk, status=Status.SENDING, claim_token=taken.token
        ).update(updated_at=now, **fields)
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now, outcome=outcome, error=error[:2000], provider_message_id=provider_id
        )
    if not updated:
        logger.warning(
            "notification %s: claim lost before the outcome (%s) was recorded",
            taken.notification.pk,
            outcome,
        )
    return bool(updated)


def _sent(taken: Claim, attempt: DeliveryAttempt, provider_id: str) -> str:
    now = timezone.now()
    _finish(
        taken,
        attempt,
        outcome=SENT,
        provider_id=provider_id,
        status=Status.SENT,
        sent_at=now,
        provider_message_id=provider_id[:255],
        last_error="",
    )
    return SENT


def _failed(taken: Claim, attempt: DeliveryAttempt, exc: DeliveryError) -> str:
    notification = taken.notification
    message = exc.message[:2000]
    now = timezone.now()
    if exc.transient and notification.attempts < notification.max_attempts:
        retry_at = now + conf.retry_delay(notification.attempts, retry_after=exc.retry_after)
        _finish(
            taken,
            attempt,
            outcome=RETRY,
            error=message,
            status=Status.PENDING,
            next_attempt_at=retry_at,
            last_error=message,
        )
        logger.info(
            "notification %s: attempt %s failed (%s); next at %s",
            notification.pk,
            notification.attempts,
            message,
            retry_at.isoformat(),
        )
        return RETRY
    if exc.transient:
        message = f"Gave up after {notification.attempts} attempts. Last error: {message}"
    _finish(
        taken,
        attempt,
        outcome=FAILED,
        error=exc.message[:2000],
        status=Status.FAILED,
        failed_at=now,
        last_error=message[:2000],
    )
    logger.warning("notification %s failed: %s", notification.pk, message)
    return FAILED

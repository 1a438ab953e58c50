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

A send is *interrupted* when it began and no outcome was recorded: the claim went
stale, the task was stopped at its timeout, or the provider never answered a request
that had left (``DeliveryError.uncertain``). Whether the message reached the
recipient is then unknown. The attempt is recorded as ``interrupted`` and the kind's
policy (notifications/kinds.py) decides: ``RESEND`` makes the row due again, and the
copy that follows is flagged ``possible_duplicate`` once sent; ``HOLD`` parks it in
status ``interrupted``, which no task claims, until a person decides (services).
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
from notifications.kinds import RESEND, policy_after_interruption
from notifications.models import DeliveryAttempt, Notification
from notifications.sealed import reveal

logger = logging.getLogger(__name__)

Status = Notification.Status

SENT = "sent"
RETRY = "retry"
FAILED = "failed"
SKIPPED = "skipped"
INTERRUPTED = "interrupted"
# What became of an interrupted row.
RESENT = "resent"
HELD = "held"

STALE_CLAIM = (
    "Interrupted: the worker stopped before recording the outcome (its claim went "
    "stale), so the message may have reached the recipient."
)
TASK_TIMEOUT = (
    "Interrupted: the task was stopped at its timeout while sending, so the message "
    "may have reached the recipient."
)


@dataclass(frozen=True)
class Claim:
    notification: Notification
    token: uuid.UUID
    at: datetime
    attempt: DeliveryAttempt


def claimable(now: datetime) -> Q:
    """Rows a task may take: pending and due. A stale claim is first settled as an
    interruption (``interrupt_stale``), and taken only if its kind resends."""
    return Q(status=Status.PENDING, next_attempt_at__lte=now)


def _take(notification_id: int, now: datetime, token: uuid.UUID) -> int:
    return Notification.objects.filter(claimable(now), pk=notification_id).update(
        status=Status.SENDING,
        claimed_at=now,
        claim_token=token,
        attempts=F("attempts") + 1,
        updated_at=now,
    )


@transaction.atomic
def claim(notification_id: int) -> Claim | None:
    """Take the row and open its attempt, in one transaction (one commit per claim)."""
    now = timezone.now()
    token = uuid.uuid4()
    taken = _take(notification_id, now, token)
    if not taken:
        # The broker handed out again the task of a worker that died mid-send: settle
        # the interruption here rather than wait for the sweep.
        if interrupt_stale(now=now, notification_ids=[notification_id]).get(RESENT):
            taken = _take(notification_id, now, token)
        if not taken:
            return None
    notification = Notification.objects.get(pk=notification_id)
    attempt = DeliveryAttempt.objects.create(
        notification=notification, number=notification.attempts, started_at=now
    )
    return Claim(notification=notification, token=token, at=now, attempt=attempt)


def _interrupt(
    *,
    pk: int,
    token: uuid.UUID | None,
    kind: str,
    channel: str,
    attempts: int,
    max_attempts: int,
    reason: str,
    now: datetime,
    resend_at: datetime,
    attempt_id: int | None = None,
) -> str | None:
    """sending -> pending (the kind resends) | interrupted (held) | failed (attempts
    spent); the open attempt is finished as ``interrupted``. Guarded by the claim token,
    so a row that moved on meanwhile is left alone (None)."""
    fields: dict[str, object] = {
        "claimed_at": None,
        "claim_token": None,
        "interrupted_at": now,
        "updated_at": now,
    }
    if policy_after_interruption(kind, channel) != RESEND:
        result = HELD
        fields.update(
            status=Status.INTERRUPTED,
            last_error=f"{reason} Held: sent again only if a person decides so.",
        )
    elif attempts < max_attempts:
        result = RESENT
        fields.update(
            status=Status.PENDING,
            next_attempt_at=resend_at,
            last_error=f"{reason} Sent again: the copy is marked as a possible duplicate.",
        )
    else:
        result = FAILED
        fields.update(
            status=Status.FAILED,
            failed_at=now,
            last_error=f"Gave up after {attempts} attempts. {reason}",
        )
    with transaction.atomic():
        moved = Notification.objects.filter(pk=pk, status=Status.SENDING, claim_token=token).update(
            **fields
        )
        if not moved:
            return None
        attempt = DeliveryAttempt.objects.filter(notification_id=pk, finished_at__isnull=True)
        if attempt_id is not None:
            attempt = attempt.filter(pk=attempt_id)
        attempt.update(finished_at=now, outcome=INTERRUPTED, error=reason[:2000])
    logger.warning("notification %s: send interrupted (%s): %s", pk, result, reason)
    return result


def interrupt_stale(
    *, now: datetime | None = None, notification_ids: list[int] | None = None, limit: int = 1000
) -> dict[str, int]:
    """Settle rows whose claim went stale: each is an interrupted send. Returns how
    many were resent, held or failed (their attempts spent)."""
    now = now or timezone.now()
    stale = Notification.objects.filter(
        status=Status.SENDING, claimed_at__lt=now - conf.claim_stale_after()
    )
    if notification_ids is not None:
        stale = stale.filter(pk__in=notification_ids)
    counts = {RESENT: 0, HELD: 0, FAILED: 0}
    rows = stale.order_by("claimed_at", "pk").values_list(
        "pk", "claim_token", "kind", "channel", "attempts", "max_attempts"
    )[:limit]
    for pk, token, kind, channel, attempts, max_attempts in rows:
        result = _interrupt(
            pk=pk,
            token=token,
            kind=kind,
            channel=channel,
            attempts=attempts,
            max_attempts=max_attempts,
            reason=STALE_CLAIM,
            now=now,
            # The claim's staleness already kept it waiting longer than a task may run.
            resend_at=now,
        )
        if result is not None:
            counts[result] += 1
    return counts


def deliver(notification_id: int) -> str:
    """Send one notification if this run can claim it. Returns what happened."""
    taken = claim(notification_id)
    if taken is None:
        return SKIPPED
    notification, attempt = taken.notification, taken.attempt
    try:
        # A sealed secret link is put into the message here, in memory only.
        provider_id = get_backend(notification.channel).send(reveal(notification))
    except DeliveryError as exc:
        if exc.uncertain:
            return _interrupted(taken, attempt, exc.message)
        return _failed(taken, attempt, exc)
    except TimeoutException:
        # django-q2 stops the task at Q_TIMEOUT, mid-send: an interruption, recorded
        # now (not when the claim goes stale), then the worker is replaced.
        _interrupted(taken, attempt, TASK_TIMEOUT)
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
    # A copy sent after an interrupted send may be the recipient's second one.
    duplicate = taken.notification.interrupted_at is not None
    _finish(
        taken,
        attempt,
        outcome=SENT,
        provider_id=provider_id,
        status=Status.SENT,
        sent_at=now,
        provider_message_id=provider_id[:255],
        last_error="",
        **({"possible_duplicate": True} if duplicate else {}),
    )
    return SENT


def _interrupted(taken: Claim, attempt: DeliveryAttempt, reason: str) -> str:
    notification = taken.notification
    now = timezone.now()
    # The provider was slow or the task overran: wait as for a transient failure.
    result = _interrupt(
        pk=notification.pk,
        token=taken.token,
        kind=notification.kind,
        channel=notification.channel,
        attempts=notification.attempts,
        max_attempts=notification.max_attempts,
        reason=reason[:1500],
        now=now,
        resend_at=now + conf.retry_delay(notification.attempts),
        attempt_id=attempt.pk,
    )
    if result is None:
        logger.warning(
            "notification %s: claim lost before the interruption was recorded", notification.pk
        )
    return INTERRUPTED


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

"""Record outbox notifications.

Called by the business apps' services inside their transaction. Each notification is
rendered here, stored as a row, and handed to django-q2 only after the transaction
commits, so a rolled-back change tells nobody anything.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q
from django.template import Context, TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils import timezone

from core.audit import audit_record
from core.models import AuditEntry
from notifications import conf
from notifications.delivery import HELD, INTERRUPTED, interrupt_stale
from notifications.kinds import KINDS
from notifications.models import DeliveryAttempt, Notification, NotificationAttachment
from notifications.sealed import HIDDEN_LINK, seal

logger = logging.getLogger(__name__)

# Set by ``recording_only()``: rows are written but no task is queued for them.
_hold_delivery: ContextVar[bool] = ContextVar("notifications_hold_delivery", default=False)


@dataclass(frozen=True)
class Recipient:
    """Someone to tell, and on which channels. ``link`` is the page they should open;
    a ``secret_link`` (it lets whoever holds it in: invitations, password resets) is
    stored sealed and put into the message only when it is sent (``sealed.py``)."""

    name: str
    email: str = ""
    phone: str = ""
    channels: tuple[str, ...] = (Notification.Channel.EMAIL,)
    link: str = ""
    secret_link: bool = False

    def address(self, channel: str) -> str:
        return self.phone if channel == Notification.Channel.WHATSAPP else self.email


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


def staff_recipients(*, group: str, link: str = "") -> list[Recipient]:
    """The staff to tell: ``STAFF_NOTIFICATION_EMAIL`` and the active members of ``group``."""
    seen: set[str] = set()
    recipients = []
    for address in settings.STAFF_NOTIFICATION_EMAIL:
        if address.lower() not in seen:
            seen.add(address.lower())
            recipients.append(Recipient(name="Operations", email=address, link=link))
    users = (
        get_user_model()
        .objects.filter(groups__name=group, is_active=True, is_staff=True)
        .exclude(email="")
        .order_by("pk")
    )
    for user in users:
        if user.email.lower() not in seen:
            seen.add(user.email.lower())
            recipients.append(
                Recipient(
                    name=user.get_full_name() or user.get_username(), email=user.email, link=link
                )
            )
    return recipients


def render_text(template_name: str, context: dict[str, Any]) -> str:
    """Render a plain-text template without HTML escaping, includes too.

    ("O'Brien & Sons", not "O&#x27;Brien &amp; Sons".)
    """
    template = get_template(template_name).template
    return template.render(Context(context, autoescape=False)).strip() + "\n"


def _one_line(value: str) -> str:
    """Subjects and WhatsApp parameters are single lines (header injection, API rules)."""
    return " ".join(value.split())


def _render(kind: str, channel: str, context: dict[str, Any]) -> dict[str, Any]:
    spec = KINDS[kind]
    body_text = render_text(f"notifications/{kind}.txt", context)
    fields: dict[str, Any] = {
        "subject": _one_line(spec.subject.format(**context))[:255],
        "body_text": body_text,
    }
    if channel == Notification.Channel.EMAIL:
        try:
            fields["body_html"] = render_to_string(f"notifications/{kind}.html", context)
        except TemplateDoesNotExist:
            fields["body_html"] = render_to_string(
                "notifications/base_email.html", {**context, "body_text": body_text}
            )
    else:
        fields["whatsapp_template"] = spec.whatsapp_template or kind
        fields["whatsapp_params"] = [
            _one_line(str(context.get(key, ""))) for key in spec.whatsapp_params
        ]
    return fields


def notify(
    *,
    kind: str,
    recipients: Iterable[Recipient],
    context: Mapping[str, Any],
    target: models.Model | None = None,
    cause: AuditEntry | None = None,
    reference: str = "",
    dedupe: str = "",
    attachments: Iterable[Attachment] = (),
) -> list[Notification]:
    """Record one outbox row per recipient and channel; deliver them after commit.

    The dedupe key ties each row to the audit entry that caused it (or to ``dedupe``,
    for a message with no change behind it, such as a reminder), so the same change
    recorded twice still tells each recipient once per channel. ``attachments`` go
    with the email rows.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown notification kind {kind!r}")
    content_type = ContentType.objects.get_for_model(target) if target is not None else None
    if dedupe:
        cause_key = dedupe
    elif cause is not None:
        cause_key = f"audit{cause.pk}"
    else:
        cause_key = f"at{timezone.now().isoformat()}"
    rows: dict[str, Notification] = {}
    for recipient in recipients:
        for channel in recipient.channels:
            address = recipient.address(channel)
            dedupe_key = f"{cause_key}:{kind}:{channel}:{(address or recipient.name).lower()}"[:255]
            if dedupe_key in rows:
                continue
            hide = recipient.secret_link and bool(recipient.link)
            full_context = {
                **context,
                "recipient_name": recipient.name,
                "link": HIDDEN_LINK if hide else recipient.link,
                "site_url": settings.SITE_URL,
            }
            rows[dedupe_key] = Notification(
                kind=kind,
                channel=channel,
                recipient_name=_one_line(recipient.name)[:200],
                recipient=address,
                context=full_context,
                content_type=content_type,
                object_id=target.pk if target is not None else None,
                reference=reference,
                audit_entry=cause,
                dedupe_key=dedupe_key,
                sealed=seal({"link": recipient.link}) if hide else "",
                **_render(kind, channel, full_context),
            )
    if not rows:
        return []
    existing = set(
        Notification.objects.filter(dedupe_key__in=list(rows)).values_list("dedupe_key", flat=True)
    )
    created = Notification.objects.bulk_create(
        [row for key, row in rows.items() if key not in existing]
    )
    files = list(attachments)
    if files:
        NotificationAttachment.objects.bulk_create(
            NotificationAttachment(
                notification=row,
                filename=file.filename,
                mimetype=file.mimetype,
                content=file.content,
            )
            for row in created
            if row.channel == Notification.Channel.EMAIL
            for file in files
        )
    _enqueue_on_commit(row.pk for row in created)
    return created


def enqueue_delivery(notification_id: int) -> None:
    """Hand one row to django-q2. A failure here loses nothing: the sweep retries it."""
    from django_q.tasks import async_task

    try:
        async_task(
            "notifications.tasks.deliver",
            notification_id,
            task_name=f"notification-{notification_id}",
            group="notifications",
            # The outcome is recorded on the row and its attempts; a success row
            # per message in django-q2's table would only cost the monitor time.
            save=False,
        )
    except Exception:
        logger.exception(
            "could not enqueue notification %s; the sweep will pick it up", notification_id
        )


def _enqueue_on_commit(ids: Iterable[int]) -> None:
    if _hold_delivery.get():
        return
    for pk in ids:
        transaction.on_commit(functools.partial(enqueue_delivery, pk))


@contextlib.contextmanager
def recording_only() -> Iterator[None]:
    """Record notifications inside the block without queueing a delivery task for them.

    For history that must not be sent as it is written (``seed_demo``): the caller
    decides what becomes of the rows (cancels them, or leaves them pending for the
    sweep to deliver after ``NOTIFICATION_SWEEP_GRACE``).
    """
    token = _hold_delivery.set(True)
    try:
        yield
    finally:
        _hold_delivery.reset(token)


def _oldest_waiting_task() -> datetime | None:
    """When the oldest task still waiting in the ORM broker's queue was enqueued.

    None with another broker (Redis: the sweep then relies on its grace period alone)
    or in sync mode, where nothing waits.
    """
    from django_q.brokers import get_broker
    from django_q.conf import Conf
    from django_q.models import OrmQ

    if Conf.SYNC or not Conf.ORM:
        return None
    # A waiting task's lock is its enqueue time; a taken one's lies in the future.
    waiting = OrmQ.objects.using(Conf.ORM).filter(
        key=get_broker().list_key, lock__lte=timezone.now()
    )
    return waiting.aggregate(oldest=models.Min("lock"))["oldest"]


def notifications_sweep(*, limit: int = 1000) -> dict[str, int]:
    """Settle interrupted sends and enqueue again what no task is going to deliver;
    runs every minute.

    - rows claimed by a worker that died mid-send (claim older than the task
      timeout plus a margin) are interrupted sends: the kind's policy sends them
      again (marked as possible duplicates once sent) or holds them for a person;
    - pending rows never tried whose enqueue was lost (a crash between commit and
      enqueue, a broker down): due for longer than ``NOTIFICATION_SWEEP_GRACE``, so a
      row still on its way through the queue is not normally sent a second task;
    - pending rows waiting for a retry (or resent after an interruption), as soon
      as they are due.

    A row enqueued twice is still sent once: the task's claim decides.
    """
    now = timezone.now()
    S = Notification.Status
    settled = interrupt_stale(now=now, limit=limit)
    # A row whose task is still waiting in a backlogged queue is not lost: with the
    # ORM broker, only rows due well before the oldest waiting task are.
    oldest = _oldest_waiting_task()
    lost_before = min(now, oldest) if oldest is not None else now
    due = Q(
        status=S.PENDING, attempts=0, next_attempt_at__lte=lost_before - conf.sweep_grace()
    ) | Q(status=S.PENDING, attempts__gt=0, next_attempt_at__lte=now)
    rows = list(
        Notification.objects.filter(due)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in rows:
        enqueue_delivery(pk)
    counts = {
        "due": len(rows),
        "interrupted": sum(settled.values()),
        "held": settled[HELD],
    }
    if rows or counts["interrupted"]:
        logger.info(
            "notification sweep: %(interrupted)s interrupted sends settled (%(held)s held), "
            "%(due)s rows enqueued",
            counts,
        )
    return counts


@transaction.atomic
def notifications_retry(*, notification_ids: Iterable[int]) -> int:
    """failed | cancelled -> pending now, with a fresh set of attempts; sent after commit.

    Returns how many rows were retried; rows in any other status are left alone.
    """
    S = Notification.Status
    now = timezone.now()
    rows = list(
        Notification.objects.select_for_update()
        .filter(pk__in=list(notification_ids), status__in=[S.FAILED, S.CANCELLED])
        .only("pk", "attempts")
    )
    for row in rows:
        Notification.objects.filter(pk=row.pk).update(
            status=S.PENDING,
            next_attempt_at=now,
            max_attempts=row.attempts + conf.max_attempts(),
            failed_at=None,
            claimed_at=None,
            claim_token=None,
            updated_at=now,
        )
    _enqueue_on_commit(row.pk for row in rows)
    return len(rows)


def notifications_cancel(*, notification_ids: Iterable[int]) -> int:
    """pending | interrupted -> cancelled. A row already being sent cannot be called back.

    For an interrupted row this is the decision to drop it: whatever the interrupted
    send did stays as it is, and nothing more is sent.
    """
    S = Notification.Status
    return Notification.objects.filter(
        pk__in=list(notification_ids), status__in=[S.PENDING, S.INTERRUPTED]
    ).update(status=S.CANCELLED, updated_at=timezone.now())


def _decided(row: Notification, *, action: str, user: Any, to_status: str) -> None:
    label = (user.get_full_name() or user.get_username()) if user is not None else "system"
    audit_record(
        target=row,
        action=action,
        user=user,
        actor_label=label,
        from_status=Notification.Status.INTERRUPTED,
        to_status=to_status,
        data={"interrupted_at": row.interrupted_at.isoformat() if row.interrupted_at else None},
    )


@transaction.atomic
def notifications_send_again(*, notification_ids: Iterable[int], user: Any = None) -> int:
    """interrupted -> pending now: a person decided the held message is sent again.

    The copy is marked as a possible duplicate once sent (the interrupted send may
    have reached the recipient). Returns how many rows; others are left alone.
    """
    S = Notification.Status
    now = timezone.now()
    rows = list(
        Notification.objects.select_for_update()
        .filter(pk__in=list(notification_ids), status=S.INTERRUPTED)
        .order_by("pk")
    )
    for row in rows:
        Notification.objects.filter(pk=row.pk).update(
            status=S.PENDING,
            next_attempt_at=now,
            # A decision by a person is worth a full set of attempts.
            max_attempts=max(row.max_attempts, row.attempts + conf.max_attempts()),
            updated_at=now,
        )
        _decided(row, action="notification_sent_again", user=user, to_status=S.PENDING)
    _enqueue_on_commit(row.pk for row in rows)
    return len(rows)


@transaction.atomic
def notifications_mark_delivered(*, notification_ids: Iterable[int], user: Any = None) -> int:
    """interrupted -> sent: a person knows the interrupted send reached the recipient.

    ``sent_at`` is when that send began. Returns how many rows; others are left alone.
    """
    S = Notification.Status
    now = timezone.now()
    rows = list(
        Notification.objects.select_for_update()
        .filter(pk__in=list(notification_ids), status=S.INTERRUPTED)
        .order_by("pk")
    )
    for row in rows:
        began = (
            DeliveryAttempt.objects.filter(notification=row, outcome=INTERRUPTED)
            .order_by("-number")
            .values_list("started_at", flat=True)
            .first()
        )
        Notification.objects.filter(pk=row.pk).update(
            status=S.SENT, sent_at=began or row.interrupted_at, updated_at=now
        )
        _decided(row, action="notification_marked_delivered", user=user, to_status=S.SENT)
    return len(rows)


def notifications_purge(*, days: int | None = None, batch_size: int = 1000) -> int:
    """Delete sent, delivered and read rows older than ``days`` (with their attempts).

    In batches, each its own short transaction, so a large purge never holds long
    locks on the outbox the workers are writing to. Failed and cancelled rows stay
    for the back office to look at.
    """
    days = conf.retention_days() if days is None else days
    if days < 0:
        raise ValueError("days must be zero or more")
    cutoff = timezone.now() - timedelta(days=days)
    S = Notification.Status
    old = Notification.objects.filter(
        status__in=[S.SENT, S.DELIVERED, S.READ], created_at__lt=cutoff
    ).order_by("pk")
    deleted = 0
    while True:
        batch = list(old.values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        with transaction.atomic():
            DeliveryAttempt.objects.filter(notification_id__in=batch).delete()
            deleted += Notification.objects.filter(pk__in=batch).delete()[0]

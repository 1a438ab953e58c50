"""Record events, register webhooks, and queue their deliveries.

``event_record`` is called by the audit writer for every audit entry, inside the
service's transaction: the event and its webhook deliveries commit with the change
or not at all. Deliveries are handed to django-q2 after the commit (like the
notification outbox); a sweep re-enqueues any whose enqueue was lost.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from core.domain import DomainError, InvalidTransition, ValidationFailed
from events import conf, registry, sequencer, signing
from events.models import (
    Audience,
    Event,
    EventVendor,
    FeedHorizon,
    WebhookDelivery,
    WebhookEndpoint,
)
from events.targets import TargetRefused, check_url

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Party:
    """Who asks: staff (``user``), or a broker or vendor by id. Built from an ``Actor``
    without importing the partners app."""

    kind: str
    id: int | None = None
    user: Any = None
    label: str = ""
    email: str = ""

    @classmethod
    def of(cls, actor: Any) -> Party:
        if actor.vendor is not None:
            vendor = actor.vendor
            return cls(Audience.VENDOR, vendor.pk, None, vendor.name, vendor.email)
        if actor.broker is not None:
            broker = actor.broker
            return cls(Audience.BROKER, broker.pk, None, broker.name, broker.email)
        user = actor.audit_user
        label = user.get_username() if user is not None else "system"
        return cls(Audience.STAFF, None, user, label, getattr(user, "email", "") or "")


# --- events -----------------------------------------------------------------------


def event_record(
    *,
    target: models.Model,
    action: str,
    data: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
    audit_entry_id: int | None = None,
) -> Event | None:
    """The event for this audit action, if its subject and action have one."""
    subject = registry.subject_for(target, action)
    if subject is None:
        return None
    described = subject.describe(target, data or {})
    event = Event(
        type=subject.actions[action],
        occurred_at=occurred_at or timezone.now(),
        object_type=subject.name,
        object_id=str(described.object.get("id", target.pk)),
        reference=described.reference,
        payload={"object": described.object, "data": described.payload},
        broker_id=described.broker_id,
        audit_entry_id=audit_entry_id,
    )
    event.save()
    sequencer.sequence_after_commit()
    vendor_ids = sorted(set(described.vendor_ids))
    if vendor_ids:
        EventVendor.objects.bulk_create(
            [EventVendor(event=event, vendor_id=vendor_id) for vendor_id in vendor_ids]
        )
    _deliveries_create(event, broker_id=described.broker_id, vendor_ids=vendor_ids)
    return event


def _deliveries_create(event: Event, *, broker_id: int | None, vendor_ids: Sequence[int]) -> None:
    audience = Q(owner_kind=Audience.STAFF)
    if broker_id is not None:
        audience |= Q(owner_kind=Audience.BROKER, broker_id=broker_id)
    if vendor_ids:
        audience |= Q(owner_kind=Audience.VENDOR, vendor_id__in=vendor_ids)
    endpoints = [
        pk
        for pk, types in WebhookEndpoint.objects.filter(audience, is_active=True).values_list(
            "pk", "event_types"
        )
        if event.type in types
    ]
    if not endpoints:
        return
    rows = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(endpoint_id=pk, event=event, max_attempts=conf.max_attempts())
            for pk in endpoints
        ]
    )
    enqueue_on_commit(row.pk for row in rows)


# --- retention ------------------------------------------------------------------------

PURGE_BATCH = 5000


def events_purge(*, now: datetime | None = None, batch: int = PURGE_BATCH) -> int:
    """Delete the events older than ``EVENTS_RETENTION_DAYS``, with their vendor links and
    webhook delivery log; returns how many. The feed keeps no hole: only a run of
    positions from the bottom goes, up to the first event that is too new or still has
    a webhook delivery to make (that one, and all after it, stay). The horizon it
    leaves is what the feed answers an older cursor with (a 410).
    """
    keep_for = conf.retention()
    if keep_for is None:
        return 0
    cutoff = (now or timezone.now()) - keep_for
    purged = 0
    while True:
        with transaction.atomic():
            horizon, _ = FeedHorizon.objects.select_for_update().get_or_create(pk=1)
            above = Event.objects.filter(position__gt=horizon.position)
            first_kept = (
                above.filter(occurred_at__gte=cutoff)
                .order_by("position")
                .values_list("position", flat=True)
                .first()
            )
            unsent = (
                WebhookDelivery.objects.filter(
                    status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.SENDING],
                    event__position__gt=horizon.position,
                )
                .order_by("event__position")
                .values_list("event__position", flat=True)
                .first()
            )
            stops = [p - 1 for p in (first_kept, unsent) if p is not None]
            last = above.order_by("-position").values_list("position", flat=True).first()
            upto = min([*stops, last or horizon.position, horizon.position + batch])
            if upto <= horizon.position:
                return purged
            doomed = Event.objects.filter(position__gt=horizon.position, position__lte=upto).values(
                "seq"
            )
            WebhookDelivery.objects.filter(event__in=doomed).delete()
            EventVendor.objects.filter(event__in=doomed).delete()
            count, _ = Event.objects.filter(
                position__gt=horizon.position, position__lte=upto
            ).delete()
            purged += count
            horizon.position = upto
            horizon.purged_at = timezone.now()
            horizon.oldest_kept_at = (
                Event.objects.filter(position__gt=upto)
                .order_by("position")
                .values_list("occurred_at", flat=True)
                .first()
            )
            horizon.save()
        logger.info("events: purged %s events up to position %s", count, upto)


# --- delivery queueing --------------------------------------------------------------


def enqueue_delivery(delivery_id: int) -> None:
    """Hand one delivery to django-q2. A failure loses nothing: the sweep retries it."""
    from django_q.tasks import async_task

    try:
        async_task(
            "events.tasks.deliver",
            delivery_id,
            task_name=f"webhook-{delivery_id}",
            group="webhooks",
            save=False,
        )
    except Exception:
        logger.exception("could not enqueue webhook delivery %s; the sweep will", delivery_id)


def enqueue_on_commit(ids: Iterable[int]) -> None:
    for pk in ids:
        transaction.on_commit(functools.partial(enqueue_delivery, pk))


def webhooks_sweep(*, limit: int = 1000) -> dict[str, int]:
    """Every minute: deliveries due (a retry, or a lost enqueue) and stale claims."""
    now = timezone.now()
    S = WebhookDelivery.Status
    due = Q(status=S.PENDING, attempts=0, next_attempt_at__lte=now - conf.sweep_grace()) | Q(
        status=S.PENDING, attempts__gt=0, next_attempt_at__lte=now
    )
    stale = Q(status=S.SENDING, claimed_at__lt=now - conf.claim_stale_after())
    rows = list(
        WebhookDelivery.objects.filter(due | stale)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "status")[:limit]
    )
    for pk, _status in rows:
        enqueue_delivery(pk)
    return {
        "due": sum(1 for _, status in rows if status == S.PENDING),
        "stale": sum(1 for _, status in rows if status == S.SENDING),
    }


# --- webhook endpoints ----------------------------------------------------------------


def _check_types(event_types: Iterable[str]) -> list[str]:
    known = set(registry.event_types())
    chosen = sorted(set(event_types))
    if not chosen:
        raise ValidationFailed("Choose at least one event type.", field="event_types")
    unknown = [t for t in chosen if t not in known]
    if unknown:
        raise ValidationFailed(f"Unknown event types: {', '.join(unknown)}.", field="event_types")
    return chosen


def _check_target(url: str) -> None:
    try:
        check_url(url)
    except TargetRefused as exc:
        raise ValidationFailed(exc.message, field="url") from exc


@transaction.atomic
def webhook_register(
    *, actor: Any, url: str, event_types: Iterable[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint for the caller's own events. Returns it and its signing secret,
    which is not kept readable: this is the only time it is shown."""
    party = Party.of(actor)
    if party.kind == Audience.STAFF:
        actor.require_perm("events.add_webhookendpoint", "register webhooks")
    types = _check_types(event_types)
    _check_target(url)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        owner_kind=party.kind,
        user=party.user if party.kind == Audience.STAFF else None,
        broker_id=party.id if party.kind == Audience.BROKER else None,
        vendor_id=party.id if party.kind == Audience.VENDOR else None,
        owner_label=party.label[:200],
        contact_email=party.email[:254],
        url=url,
        event_types=types,
        description=description[:200],
        secret_encrypted=signing.encrypt(secret),
    )
    _audit(endpoint, "created", actor, url=url, event_types=types)
    return endpoint, secret


@transaction.atomic
def webhook_update(
    *,
    endpoint: WebhookEndpoint,
    actor: Any,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    """Change the URL, the types or the description; ``is_active=True`` turns a disabled
    endpoint on again (with a clean failure record), False turns it off."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if Party.of(actor).kind == Audience.STAFF:
        actor.require_perm("events.change_webhookendpoint", "change webhooks")
    changed: list[str] = []
    if url is not None and url != endpoint.url:
        _check_target(url)
        endpoint.url = url
        changed.append("url")
    if event_types is not None:
        types = _check_types(event_types)
        if types != endpoint.event_types:
            endpoint.event_types = types
            changed.append("event_types")
    if description is not None and description != endpoint.description:
        endpoint.description = description[:200]
        changed.append("description")
    if is_active is not None and is_active != endpoint.is_active:
        endpoint.is_active = is_active
        endpoint.failing_since = None
        if is_active:
            endpoint.disabled_at = None
            endpoint.disabled_reason = ""
        else:
            endpoint.disabled_at = timezone.now()
            endpoint.disabled_reason = "Turned off by its owner."
        changed += ["is_active", "failing_since", "disabled_at", "disabled_reason"]
    if changed:
        endpoint.save(update_fields=[*changed, "updated_at"])
        _audit(endpoint, "updated", actor, changed=changed)
    return endpoint


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery, actor: Any) -> WebhookDelivery:
    """Send a delivery again (same event, same event id), whatever its status, unless it
    is being sent right now. A fresh set of attempts; queued after commit."""
    delivery = (
        WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    )
    if Party.of(actor).kind == Audience.STAFF:
        actor.require_perm("events.change_webhookdelivery", "redeliver webhooks")
    if delivery.status == WebhookDelivery.Status.SENDING:
        raise InvalidTransition("This delivery is being sent right now.")
    if not delivery.endpoint.is_active:
        raise InvalidTransition("The endpoint is disabled: turn it on before redelivering.")
    now = timezone.now()
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.next_attempt_at = now
    delivery.max_attempts = delivery.attempts + conf.max_attempts()
    delivery.failed_at = None
    delivery.claimed_at = None
    delivery.claim_token = None
    delivery.save(
        update_fields=[
            "status",
            "next_attempt_at",
            "max_attempts",
            "failed_at",
            "claimed_at",
            "claim_token",
            "updated_at",
        ]
    )
    _audit(delivery.endpoint, "redelivered", actor, delivery=delivery.pk)
    enqueue_on_commit([delivery.pk])
    return delivery


def deliveries_redeliver(*, deliveries: Iterable[WebhookDelivery], actor: Any) -> int:
    """The admin's action: each that can be sent again is; returns how many."""
    done = 0
    for delivery in deliveries:
        try:
            delivery_redeliver(delivery=delivery, actor=actor)
        except DomainError:
            continue
        done += 1
    return done


def _audit(endpoint: WebhookEndpoint, action: str, actor: Any, **data: Any) -> None:
    from core.audit import audit_record

    audit_record(
        target=endpoint,
        action=action,
        user=actor.audit_user,
        actor_label=str(actor),
        data={"via": actor.via, **data},
    )


# --- failure bookkeeping (called by events.delivery) -----------------------------------


def endpoint_succeeded(endpoint_id: int) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=False).update(
        failing_since=None, updated_at=timezone.now()
    )


def endpoint_failed(endpoint_id: int, *, error: str) -> bool:
    """Note a failed attempt; disable the endpoint once it has failed for
    ``WEBHOOK_DISABLE_AFTER``. Returns whether this call disabled it."""
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(
        failing_since=now, updated_at=now
    )
    with transaction.atomic():
        reason = f"Every delivery failed for {_duration(conf.disable_after())}. Last error: {error}"
        disabled = WebhookEndpoint.objects.filter(
            pk=endpoint_id, is_active=True, failing_since__lte=now - conf.disable_after()
        ).update(is_active=False, disabled_at=now, disabled_reason=reason[:500], updated_at=now)
        if not disabled:
            return False
        endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
        # What was still waiting will not be tried; the feed has every event, and each
        # can be redelivered once the endpoint is on again.
        WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id, status=WebhookDelivery.Status.PENDING
        ).update(
            status=WebhookDelivery.Status.FAILED,
            failed_at=now,
            last_error="The endpoint was disabled.",
            updated_at=now,
        )
        _tell_disabled(endpoint)
    logger.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)
    return True


def _duration(delta: Any) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _tell_disabled(endpoint: WebhookEndpoint) -> None:
    from django.conf import settings

    from notifications.services import Recipient, notify, staff_recipients

    recipients = []
    if endpoint.contact_email:
        recipients.append(Recipient(name=endpoint.owner_label, email=endpoint.contact_email))
    recipients += staff_recipients(group=conf.staff_group())
    notify(
        kind="webhook_disabled",
        recipients=recipients,
        context={
            "url": endpoint.url,
            "owner": endpoint.owner_label,
            "reason": endpoint.disabled_reason,
            "endpoint_id": endpoint.pk,
            "docs_url": f"{settings.SITE_URL}/api/v1/docs/",
        },
        target=endpoint,
        reference=f"webhook-{endpoint.pk}",
    )

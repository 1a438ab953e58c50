"""The one way anything writes the audit log: who changed what, when, from which status to
which, and why. Called by the business apps' services inside their transaction.

Whatever else must happen with every audited change in the same transaction (the
integrators' domain events) subscribes by name in ``AUDIT_SUBSCRIBERS``, so this module,
at the bottom of the house, imports none of the apps above it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.module_loading import import_string

from core.domain import Actor
from core.models import AuditAction, AuditEntry


@cache
def _subscribers() -> tuple[Callable[..., Any], ...]:
    return tuple(import_string(path) for path in getattr(settings, "AUDIT_SUBSCRIBERS", ()))


def audit_record(
    *,
    target: models.Model,
    action: AuditAction | str,
    user: Any = None,
    actor_label: str = "system",
    from_status: str = "",
    to_status: str = "",
    data: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Write one entry and tell the subscribers. ``action`` must be one of ``AuditAction``
    (ValueError otherwise)."""
    entry = AuditEntry.objects.create(
        content_type=ContentType.objects.get_for_model(target),
        object_id=target.pk,
        target_repr=str(target)[:200],
        action=AuditAction(action),
        actor=user,
        actor_label=actor_label[:200],
        from_status=from_status,
        to_status=to_status,
        data=dict(data or {}),
    )
    for subscriber in _subscribers():
        subscriber(
            target=target,
            action=entry.action,
            data=entry.data,
            occurred_at=entry.created_at,
            audit_entry_id=entry.pk,
        )
    return entry


def audit(
    target: models.Model,
    action: AuditAction | str,
    actor: Actor,
    *,
    from_status: str = "",
    to_status: str = "",
    **data: Any,
) -> AuditEntry:
    """Write one entry for a service's change, with the actor's identity and door."""
    return audit_record(
        target=target,
        action=action,
        user=actor.audit_user,
        actor_label=str(actor),
        from_status=from_status,
        to_status=to_status,
        data={"via": actor.via, **data},
    )

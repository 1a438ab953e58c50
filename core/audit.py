"""The one way business services write an audit entry: with the actor's identity."""

from __future__ import annotations

from typing import Any

from django.db import models

from core.domain import Actor
from events.services import event_record
from notifications.models import AuditEntry
from notifications.services import audit_record


def audit(
    target: models.Model,
    action: str,
    actor: Actor,
    *,
    from_status: str = "",
    to_status: str = "",
    **data: Any,
) -> AuditEntry:
    entry = audit_record(
        target=target,
        action=action,
        user=actor.audit_user,
        actor_label=str(actor),
        from_status=from_status,
        to_status=to_status,
        data={"via": actor.via, **data},
    )
    # The integrators' event for the same change, in the same transaction.
    event_record(
        target=target,
        action=action,
        data=entry.data,
        occurred_at=entry.created_at,
        audit_entry_id=entry.pk,
    )
    return entry

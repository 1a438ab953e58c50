"""The one way business services write an audit entry: with the actor's identity."""

from __future__ import annotations

from typing import Any

from django.db import models

from notifications.models import AuditEntry
from notifications.services import audit_record
from partners.domain import Actor


def audit(
    target: models.Model,
    action: str,
    actor: Actor,
    *,
    from_status: str = "",
    to_status: str = "",
    **data: Any,
) -> AuditEntry:
    return audit_record(
        target=target,
        action=action,
        user=actor.audit_user,
        actor_label=str(actor),
        from_status=from_status,
        to_status=to_status,
        data={"via": actor.via, **data},
    )

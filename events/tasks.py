"""django-q2 tasks for webhooks. They take ids only and are safe to run twice."""

from __future__ import annotations

from events import delivery, sequencer, services


def deliver(delivery_id: int) -> str:
    """Send one webhook delivery (enqueued after the commit that recorded it)."""
    return delivery.deliver(delivery_id)


def sweep() -> dict[str, int]:
    """Every minute: number events left unnumbered (a lost after-commit run), and send
    deliveries due for a retry, lost enqueues and stale claims."""
    numbered = sequencer.sequence()
    return {"numbered": numbered, **services.webhooks_sweep()}


def purge() -> int:
    """Daily: delete events older than EVENTS_RETENTION_DAYS (``services.events_purge``)."""
    return services.events_purge()

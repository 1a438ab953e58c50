"""django-q2 tasks. They take ids only, are safe to run twice, and call services."""

from __future__ import annotations

from notifications import delivery, services


def deliver(notification_id: int) -> str:
    """Send one outbox row (enqueued after the commit that recorded it)."""
    return delivery.deliver(notification_id)


def sweep() -> dict[str, int]:
    """Every minute: settle interrupted sends (stale claims), enqueue rows that are due
    or whose enqueue was lost."""
    return services.notifications_sweep()


def purge() -> int:
    """Daily: delete delivered rows past NOTIFICATION_RETENTION_DAYS."""
    return services.notifications_purge()

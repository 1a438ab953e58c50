"""Delete sent, delivered and read notifications older than N days (default 90)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notifications import conf
from notifications.services import notifications_purge


def non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Delete sent, delivered and read notifications (and their delivery attempts) "
        "older than --days days, in batches. Failed and cancelled ones are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=non_negative,
            default=None,
            help="Keep this many days (default NOTIFICATION_RETENTION_DAYS, "
            f"now {conf.retention_days()}).",
        )
        parser.add_argument(
            "--batch-size", type=non_negative, default=1000, help="Rows deleted per transaction."
        )

    def handle(self, *args: Any, days: int | None, batch_size: int, **options: Any) -> None:
        deleted = notifications_purge(days=days, batch_size=max(1, batch_size))
        self.stdout.write(f"Deleted {deleted} notification(s).")

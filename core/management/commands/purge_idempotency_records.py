"""Delete Idempotency-Key records older than their 24-hour replay window."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from core.api.idempotency import purge_expired


class Command(BaseCommand):
    help = "Delete API Idempotency-Key records past their 24-hour replay window."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = purge_expired()
        self.stdout.write(f"Deleted {deleted} idempotency record(s).")

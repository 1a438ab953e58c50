"""``python manage.py billing_reconcile``: list every difference in the books; exit 1 if any."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing.reconcile import reconcile


class Command(BaseCommand):
    help = "Check invoices, credit notes, payments and commission of every booking; fix nothing."

    def handle(self, *args: Any, **options: Any) -> None:
        report = reconcile()
        for difference in report.differences:
            self.stdout.write(str(difference))
        self.stdout.write(
            f"{report.checked} bookings checked, {len(report.differences)} differences."
        )
        if report.differences:
            raise CommandError("The books do not reconcile; see the differences above.")

"""Measure the vendor deadline sweep at scale: ``manage.py bench_deadlines --open 100000``.

Seeds ``--open`` open requests (items pending with a vendor, asked over the last ten
hours of a 24-hour window, so none is due) in bookings marked with a reference prefix,
plus ``--due`` of them past half their window, then times the sweep twice:

1. check: every open request read and tested, ``--due`` reminders claimed and recorded;
2. again: the same sweep at the same moment, which must send nothing (the unique
   constraint), the figure a sweep costs when nothing is new.

Prints items checked per second for each run. Notifications are recorded, not queued
(``recording_only``): the sweep's own cost, not the delivery's. The seeded rows are
deleted at the end unless ``--keep``. Run it on PostgreSQL, e.g. DATABASE_URL=... .
"""

from __future__ import annotations

import random
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from bookings.deadlines import deadlines_sweep
from bookings.models import Booking, BookingItem, VendorReminder
from core.models import AuditEntry
from notifications.models import Notification
from notifications.services import recording_only
from partners.models import Vendor

PREFIX = "BENCHDL-"
PER_BOOKING = 100


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--open", type=int, default=100_000)
        parser.add_argument("--due", type=int, default=1_000)
        parser.add_argument("--keep", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        count, due = options["open"], min(options["due"], options["open"])
        self._clean()
        started = time.perf_counter()
        self._seed(count, due)
        self.stdout.write(
            f"seeded {count} open requests ({due} due) in {time.perf_counter() - started:.1f} s"
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE bookings_bookingitem")
        try:
            with recording_only():
                for label in ("check", "again"):
                    result = deadlines_sweep()
                    self.stdout.write(
                        f"{label}: {result.checked} open requests checked in "
                        f"{result.seconds:.2f} s = {result.per_second:,.0f} per second; "
                        f"{result.reminders} reminders, {result.alerts} alerts"
                    )
        finally:
            if not options["keep"]:
                self._clean()

    def _seed(self, count: int, due: int) -> None:
        now = timezone.now()
        rng = random.Random(13)  # noqa: S311 - spread of seeded times, not a secret
        with transaction.atomic():
            vendors = [
                Vendor.objects.get_or_create(
                    name=f"{PREFIX}vendor {n}",
                    defaults={"email": f"benchdl{n}@example.com", "timezone": "Europe/Lisbon"},
                )[0]
                for n in range(50)
            ]
            bookings = Booking.objects.bulk_create(
                [
                    Booking(
                        reference=f"{PREFIX}{n:06d}"[:20],
                        status=Booking.Status.PENDING_APPROVAL,
                        customer_name="Bench",
                    )
                    for n in range(-(-count // PER_BOOKING))
                ]
            )
            items = []
            for n in range(count):
                # The first ``due`` asked 14 h into a 24 h window (past 50 %), the rest
                # at most 10 h ago (nothing due yet).
                asked = now - timedelta(hours=14 if n < due else rng.uniform(0, 10))
                start = now + timedelta(days=30)
                items.append(
                    BookingItem(
                        booking=bookings[n // PER_BOOKING],
                        service_type="transfer",
                        description="Bench transfer",
                        start=start,
                        end=start + timedelta(hours=1),
                        quantity=1,
                        unit_price=Decimal("10.00"),
                        unit_cost=Decimal("5.00"),
                        vendor=vendors[n % len(vendors)],
                        vendor_status=BookingItem.VendorStatus.PENDING,
                        assigned_at=asked,
                        request_seq=1,
                        respond_by=asked + timedelta(hours=24),
                        timezone="Europe/Lisbon",
                    )
                )
            BookingItem.objects.bulk_create(items, batch_size=5000)

    def _clean(self) -> None:
        items = BookingItem.objects.filter(booking__reference__startswith=PREFIX)
        ids = list(items.values_list("pk", flat=True))
        for start in range(0, len(ids), 5_000):
            chunk = ids[start : start + 5_000]
            entries = AuditEntry.objects.filter(
                content_type__model="bookingitem", object_id__in=chunk
            )
            Notification.objects.filter(audit_entry__in=entries).delete()
            entries.delete()
            VendorReminder.objects.filter(item_id__in=chunk).delete()
            BookingItem.objects.filter(pk__in=chunk).delete()
        Booking.objects.filter(reference__startswith=PREFIX).delete()
        Vendor.objects.filter(name__startswith=PREFIX).delete()

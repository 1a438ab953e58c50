"""Gapless invoice numbers under concurrency: 20 issues at the same moment on PostgreSQL.

Each issue runs in its own thread and connection; the year's counter row is locked
with SELECT ... FOR UPDATE in the issuing transaction, so numbers come out 1..20
with no gap and no duplicate, and an issue rolled back after drawing gives its
number back.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from billing import services
from billing.models import Invoice, InvoiceCounter
from tests.billing.conftest import make_booking

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class RolledBack(Exception):
    pass


def test_twenty_concurrent_issues_number_1_to_20_without_gaps(staff: Any, capsys: Any) -> None:
    bookings = [make_booking(staff) for _ in range(23)]
    barrier = threading.Barrier(len(bookings))
    outcomes: list[str] = [""] * len(bookings)
    took: list[float] = [0.0] * len(bookings)

    def issue(n: int, booking: Any) -> None:
        try:
            barrier.wait(timeout=30)
            started = time.perf_counter()
            if n < 3:
                # Draws a number, then the transaction fails: the number is given back.
                with transaction.atomic():
                    services.invoice_issue(booking=booking, actor=staff)
                    raise RolledBack
            services.invoice_issue(booking=booking, actor=staff)
            took[n] = time.perf_counter() - started
            outcomes[n] = "ok"
        except RolledBack:
            outcomes[n] = "rolled back"
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(n, b)) for n, b in enumerate(bookings)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.perf_counter() - began

    assert sorted(outcomes) == ["ok"] * 20 + ["rolled back"] * 3
    year = timezone.localdate().year
    invoices = Invoice.objects.filter(kind="invoice", year=year)
    assert sorted(invoices.values_list("sequence", flat=True)) == list(range(1, 21))
    assert sorted(invoices.values_list("number", flat=True)) == [
        f"{year}-{n:06d}" for n in range(1, 21)
    ]
    assert InvoiceCounter.objects.get(series="", year=year).last == 20
    assert Invoice.objects.filter(booking__in=bookings[:3]).count() == 0
    times = sorted(t for t in took if t)
    with capsys.disabled():
        print(
            f"\n20 concurrent issues (+3 rolled back): numbers 1..20, no gap, no duplicate; "
            f"wall {elapsed:.2f} s, per issue median {times[len(times) // 2] * 1000:.0f} ms, "
            f"max {times[-1] * 1000:.0f} ms"
        )

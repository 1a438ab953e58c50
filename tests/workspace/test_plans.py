"""What the first page's counts read on PostgreSQL: each count an index's entries of the
open part of the tables, never the history (at a million bookings as at 4,000).

A world shaped like a DMC's years: most bookings completed or cancelled long ago (their
items confirmed or cancelled), a tenth still open with items in every state, their
deadlines set as the services set them. Each count, and the one query the first page
sends for all of them, is run under ``EXPLAIN ANALYZE`` with sequential scans priced
out: the index named for it in ``workspace.attention`` answers it, and it reads no more
than the open part of any table.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.models import Booking, BookingItem
from core import attention
from notifications.models import Notification
from offers.models import Offer
from tests import factories
from workspace.attention import CONDITIONS

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

B = Booking.Status
V = BookingItem.VendorStatus
BOOKINGS = 4000
OPEN_EVERY = 10  # one booking in ten is still being arranged
TABLES = ("bookings_booking", "bookings_bookingitem", "offers_offer", "notifications_notification")

# The index each count walks (name prefixes: Django suffixes a hash to its own names).
# A count on one status may take either index that starts with the status column.
INDEX_OF = {
    "awaiting_approval": ("booking_status_created", "bookings_booking_status_"),
    "needs_vendor": ("ws_item_needs_vendor",),
    "answer_due": ("bookings_bookingitem_respond_by_",),
    "confirmation_due": ("bookings_bookingitem_confirm_by_",),
    "starting_unconfirmed": ("ws_item_start_open",),
    "offers_expiring": ("offers_offer_valid_until_", "offers_offer_status_"),
    "notifications_stuck": ("notification_status_created", "notifications_notification_status_"),
}


def _open_item(n: int, k: int, now: Any) -> dict[str, Any]:
    """An item of an open booking: the state cycles through every vendor status, with
    the deadline the services would have set (some overdue, some later)."""
    status = (V.UNASSIGNED, V.PENDING, V.ACCEPTED, V.DECLINED, V.CONFIRMED)[(n + k) % 5]
    deadline = now + timedelta(hours=((n * 7 + k) % 120) - 24)
    return {
        "vendor_status": status,
        "assigned_at": now - timedelta(days=2) if status in (V.PENDING, V.ACCEPTED) else None,
        "responded_at": now - timedelta(days=1) if status == V.ACCEPTED else None,
        "respond_by": deadline if status == V.PENDING else None,
        "confirm_by": deadline if status == V.ACCEPTED else None,
        "start": now + timedelta(hours=(n * 13 + k * 5) % (24 * 30)),
    }


@pytest.fixture
def years(db: None) -> dict[str, Any]:
    now = timezone.now()
    vendor = factories.VendorFactory()
    open_statuses = (B.PENDING_APPROVAL, B.APPROVED, B.CONFIRMED, B.DRAFT)
    bookings = Booking.objects.bulk_create(
        Booking(
            reference=f"WS-{n:06d}",
            status=(
                open_statuses[(n // OPEN_EVERY) % 4]
                if n % OPEN_EVERY == 0
                else (B.CANCELLED if n % 7 == 0 else B.COMPLETED)
            ),
            customer_name=f"Customer {n}",
            currency="EUR",
            created_at=now - timedelta(days=5 * 365) * (BOOKINGS - n) / BOOKINGS,
        )
        for n in range(BOOKINGS)
    )
    items = []
    for n, booking in enumerate(bookings):
        for k in range(3):
            if booking.status in (B.PENDING_APPROVAL, B.APPROVED):
                fields = _open_item(n, k, now)
            else:
                past = booking.status in (B.COMPLETED, B.CANCELLED)
                fields = {
                    "vendor_status": V.CONFIRMED if booking.status != B.DRAFT else V.UNASSIGNED,
                    "start": booking.created_at + timedelta(days=30 + k)
                    if past
                    else now + timedelta(days=10 + k),
                    "cancelled_at": booking.created_at if booking.status == B.CANCELLED else None,
                }
            vendor_needed = fields["vendor_status"] not in (V.UNASSIGNED, V.DECLINED)
            items.append(
                BookingItem(
                    booking=booking,
                    service_type="transfer",
                    description=f"Transfer {k}",
                    end=fields["start"] + timedelta(hours=2),
                    quantity=1,
                    unit_price=Decimal("50.00"),
                    unit_cost=Decimal("30.00"),
                    vendor=vendor if vendor_needed else None,
                    vendor_reference="C" if fields["vendor_status"] == V.CONFIRMED else "",
                    created_at=booking.created_at,
                    **fields,
                )
            )
    BookingItem.objects.bulk_create(items)
    Offer.objects.bulk_create(
        Offer(
            reference=f"WSO-{n:06d}",
            status=Offer.Status.SENT if n % 20 == 0 else Offer.Status.ACCEPTED,
            customer_name=f"Customer {n}",
            currency="EUR",
            valid_until=now + timedelta(hours=n % 400 - 200),
        )
        for n in range(BOOKINGS // 2)
    )
    Notification.objects.bulk_create(
        Notification(
            kind="booking_approved",
            channel="email",
            recipient=f"c{n}@example.com",
            dedupe_key=f"ws-plan:{n}",
            status="failed" if n % 500 == 0 else "sent",
        )
        for n in range(BOOKINGS)
    )
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")
    return {"now": now}


def open_rows() -> dict[str, int]:
    """The open part of each table: what a count may read at most."""
    live = Booking.objects.exclude(status__in=(B.COMPLETED, B.CANCELLED))
    return {
        "bookings_booking": live.count(),
        "bookings_bookingitem": BookingItem.objects.filter(booking__in=live).count(),
        "offers_offer": Offer.objects.filter(status=Offer.Status.SENT).count(),
        "notifications_notification": Notification.objects.exclude(status="sent").count(),
    }


def explain(sql: str, params: Any = ()) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0]["Plan"]


def nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found += nodes(child)
    return found


def rows_read(plan: dict[str, Any]) -> dict[str, int]:
    """Rows each table's scans produced or filtered out (times their loops), summed."""
    read: dict[str, int] = {}
    for node in nodes(plan):
        table = node.get("Relation Name")
        if table and "Scan" in node["Node Type"]:
            loops = node.get("Actual Loops", 1)
            rows = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * loops
            read[table] = read.get(table, 0) + int(rows)
    return read


def count_sql(key: str, now: Any) -> tuple[str, Any]:
    condition = attention.get(key)
    assert condition is not None
    rows = condition.rows(now).order_by().values("pk")[: attention.COUNT_LIMIT + 1]
    sql, params = rows.query.sql_with_params()
    return f"SELECT COUNT(*) FROM ({sql}) AS c", params  # noqa: S608 - Django's own SQL


def test_each_count_walks_its_own_index_and_reads_only_open_rows(years: dict[str, Any]) -> None:
    bound = open_rows()
    failures = []
    for condition in CONDITIONS:
        key = condition.key
        plan = explain(*count_sql(key, years["now"]))
        scans = [n for n in nodes(plan) if "Scan" in n["Node Type"]]
        if any(n["Node Type"] == "Seq Scan" for n in scans):
            failures.append(f"{key}: a sequential scan\n{json.dumps(plan, indent=1)}")
        used = {n.get("Index Name", "") for n in scans}
        if not any(name.startswith(INDEX_OF[key]) for name in used):
            failures.append(f"{key}: {INDEX_OF[key]} not used, but {used}")
        for table, rows in rows_read(plan).items():
            if rows > bound[table]:
                failures.append(f"{key}: read {rows} rows of {table} (open: {bound[table]})")
    assert not failures, "\n".join(failures)


def test_the_first_page_counts_everything_in_one_query_that_reads_only_open_rows(
    years: dict[str, Any], superuser: Any, client: Client
) -> None:
    client.force_login(superuser)
    client.get("/admin/")
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/admin/").status_code == 200
    counts = [q["sql"] for q in captured.captured_queries if "SELECT (SELECT COUNT(*)" in q["sql"]]
    assert len(counts) == 1, counts
    plan = explain(counts[0])
    assert "Seq Scan" not in {n["Node Type"] for n in nodes(plan)}
    bound = open_rows()
    for table, rows in rows_read(plan).items():
        # Each count reads at most the open part of its tables.
        assert rows <= len(CONDITIONS) * bound[table], (table, rows, bound[table])

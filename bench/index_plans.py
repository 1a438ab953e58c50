"""Why each index of the large-table lists exists: its query with and without it.

    python -m bench.index_plans [--database-url URL] [--markdown]

On the scale step's database (``bench_scale``, see bench/scale.py), for each index
the lists rely on, ``EXPLAIN (ANALYZE, BUFFERS)`` of the query it serves as the lists
send it (in SQL here, the same shape), once as is and once with the index dropped
inside a transaction that is rolled back (so nothing changes; the table is locked for
those seconds, which is why this runs only on the bench's database). Prints the time
and the top of each plan, or a Markdown table with ``--markdown``.
"""

# The SQL below is the bench's own, with ids read from the bench database: no input.
# ruff: noqa: S608
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

BENCH_URL = "postgresql://postgres@127.0.0.1:5432/bench_scale"
ANSWERS = "('accepted', 'declined', 'confirmed')"


def cases(ids: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(index, what it serves, SQL)."""
    b, v = ids["broker"], ids["vendor"]
    item_type, offer_type = ids["item_type"], ids["offer_type"]
    return [
        (
            "booking_created_id",
            "admin/API bookings, default order; page 2,000's ids",
            "SELECT id FROM bookings_booking ORDER BY created_at DESC, id DESC "
            "LIMIT 100 OFFSET 199900",
        ),
        (
            "booking_status_created",
            "bookings filtered by status, newest first",
            "SELECT id FROM bookings_booking WHERE status = 'pending_approval' "
            "ORDER BY created_at DESC, id DESC LIMIT 100",
        ),
        (
            "booking_broker_created",
            "a broker's bookings (portal, API), a deep page",
            f"SELECT id FROM bookings_booking WHERE broker_id = {b} "
            "ORDER BY created_at DESC, id DESC LIMIT 25 OFFSET 50000",
        ),
        (
            "booking_currency",
            "the admin's currency filter choices (skip scan)",
            "WITH RECURSIVE v(x) AS (SELECT MIN(currency) FROM bookings_booking UNION ALL "
            "SELECT (SELECT MIN(currency) FROM bookings_booking WHERE currency > v.x) "
            "FROM v WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL",
        ),
        (
            "bookings_booking_customer_email_trgm",
            "search by e-mail (icontains)",
            "SELECT id FROM bookings_booking "
            "WHERE UPPER(customer_email::text) LIKE '%ANNA.SCHMIDT500000@EXAMPLE.COM%'",
        ),
        (
            "bookings_booking_reference_trgm",
            "search by reference (icontains)",
            "SELECT id FROM bookings_booking WHERE UPPER(reference::text) LIKE '%BS-0500000%'",
        ),
        (
            "bookings_booking_customer_name_trgm",
            "search by a name fragment, the bounded count",
            "SELECT count(*) FROM (SELECT id FROM bookings_booking "
            "WHERE UPPER(customer_name::text) LIKE '%LINDQ%' LIMIT 10001) c",
        ),
        (
            "item_start_id",
            "admin/API items, default order; page 2,000's ids",
            "SELECT id FROM bookings_bookingitem ORDER BY start, id LIMIT 100 OFFSET 199900",
        ),
        (
            "item_vendor_start",
            "a vendor's items (API), soonest first",
            f"SELECT id FROM bookings_bookingitem WHERE vendor_id = {v} "
            "ORDER BY start, id LIMIT 50",
        ),
        (
            "item_status_start",
            "items by vendor status (admin, API filter)",
            "SELECT id FROM bookings_bookingitem WHERE vendor_status = 'pending' "
            "ORDER BY start, id LIMIT 100",
        ),
        (
            "item_vendor_status_start",
            "the vendor dashboard: awaiting its answer, soonest first",
            f"SELECT id FROM bookings_bookingitem WHERE vendor_id = {v} "
            "AND vendor_status = 'pending' AND cancelled_at IS NULL "
            "ORDER BY start, id LIMIT 10",
        ),
        (
            "item_vendor_status_end",
            "the vendor dashboard: confirmed and still to come",
            f"SELECT id FROM bookings_bookingitem WHERE vendor_id = {v} "
            "AND vendor_status = 'confirmed' AND \"end\" >= now()",
        ),
        (
            "bookings_bookingitem_vendor_reference_trgm",
            "search by vendor reference (bookings and items)",
            "SELECT booking_id FROM bookings_bookingitem "
            "WHERE UPPER(vendor_reference::text) LIKE '%V-500000-%'",
        ),
        (
            "audit_created_id",
            "audit entries, newest first; page 100's ids",
            "SELECT id FROM notifications_auditentry ORDER BY created_at DESC, id DESC "
            "LIMIT 100 OFFSET 9900",
        ),
        (
            "audit_action_created",
            "audit entries filtered by action",
            "SELECT id FROM notifications_auditentry WHERE action = 'cancelled' "
            "ORDER BY created_at DESC, id DESC LIMIT 100",
        ),
        (
            "audit_type_created",
            "audit entries filtered by content type (offers: none in this data)",
            f"SELECT id FROM notifications_auditentry WHERE content_type_id = {offer_type} "
            "ORDER BY created_at DESC, id DESC LIMIT 100",
        ),
        (
            "audit_vendor_answers",
            "the vendor's history page: its answers, counted up to 10,001",
            "SELECT count(*) FROM (SELECT id FROM notifications_auditentry "
            f"WHERE action IN {ANSWERS} AND content_type_id = {item_type} "
            f"AND (data -> 'vendor_id') = '{v}'::jsonb LIMIT 10001) c",
        ),
        (
            "notifications_auditentry_target_repr_trgm",
            "audit search by reference",
            "SELECT id FROM notifications_auditentry "
            "WHERE UPPER(target_repr::text) LIKE '%BS-0500000%'",
        ),
        (
            "notification_created_id",
            "notifications, newest first; page 100's ids",
            "SELECT id FROM notifications_notification ORDER BY created_at DESC, id DESC "
            "LIMIT 50 OFFSET 4950",
        ),
        (
            "notification_status_created",
            "notifications filtered by status (failed: none here)",
            "SELECT id FROM notifications_notification WHERE status = 'failed' "
            "ORDER BY created_at DESC, id DESC LIMIT 50",
        ),
        (
            "notification_kind_created",
            "notifications filtered by kind",
            "SELECT id FROM notifications_notification WHERE kind = 'booking_cancelled' "
            "ORDER BY created_at DESC, id DESC LIMIT 50",
        ),
        (
            "notification_channel_created",
            "notifications filtered by channel (WhatsApp: none here)",
            "SELECT id FROM notifications_notification WHERE channel = 'whatsapp' "
            "ORDER BY created_at DESC, id DESC LIMIT 50",
        ),
        (
            "notifications_notification_recipient_trgm",
            "notification search by address",
            "SELECT id FROM notifications_notification "
            "WHERE UPPER(recipient::text) LIKE '%ANNA.SCHMIDT500000@%'",
        ),
        (
            "notifications_notification_reference_trgm",
            "notification search by reference (iexact)",
            "SELECT id FROM notifications_notification "
            "WHERE UPPER(reference::text) = UPPER('BS-0500000')",
        ),
        (
            "offer_created_id",
            "offers, newest first; page 500's ids",
            "SELECT id FROM offers_offer ORDER BY created_at DESC, id DESC LIMIT 100 OFFSET 49900",
        ),
        (
            "offer_status_created",
            "offers filtered by status",
            "SELECT id FROM offers_offer WHERE status = 'sent' "
            "ORDER BY created_at DESC, id DESC LIMIT 100",
        ),
        (
            "offer_broker_created",
            "a broker's offers (API), newest first, a deep page",
            f"SELECT id FROM offers_offer WHERE broker_id = {b} "
            "ORDER BY created_at DESC, id DESC LIMIT 50 OFFSET 20000",
        ),
        (
            "offers_offer_customer_name_trgm",
            "offer search by a name fragment",
            "SELECT id FROM offers_offer WHERE UPPER(customer_name::text) LIKE '%LINDQ%' LIMIT 100",
        ),
        (
            "offerline_start_id",
            "offer lines, soonest first; page 1,000's ids",
            "SELECT id FROM offers_offerline ORDER BY start, id LIMIT 100 OFFSET 99900",
        ),
    ]


def explain(conn: Any, sql: str) -> tuple[float, str]:
    row = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql).fetchone()[0]
    plan = row[0] if isinstance(row, list) else json.loads(row)[0]
    text = conn.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) " + sql).fetchall()
    return float(plan["Execution Time"]), "\n".join(r[0] for r in text)


def _top(plan: str, lines: int = 4) -> str:
    keep = [line for line in plan.splitlines() if "Buffers" not in line and line.strip()]
    return " / ".join(line.strip() for line in keep[:lines])


def run(url: str) -> list[dict[str, Any]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET jit = off")  # as the lists would run without JIT's startup cost
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        ids = {
            "broker": one("SELECT id FROM partners_broker WHERE name = 'Bench broker 00'"),
            "vendor": one("SELECT id FROM partners_vendor WHERE name = 'Bench vendor 00'"),
            "item_type": one(
                "SELECT id FROM django_content_type "
                "WHERE app_label = 'bookings' AND model = 'bookingitem'"
            ),
            "offer_type": one(
                "SELECT id FROM django_content_type WHERE app_label = 'offers' AND model = 'offer'"
            ),
        }
        results = []
        for index, purpose, sql in cases(ids):
            exists = conn.execute(
                "SELECT count(*) FROM pg_indexes WHERE indexname = %s", [index]
            ).fetchone()[0]
            if not exists:
                results.append({"index": index, "purpose": purpose, "missing": True})
                continue
            explain(conn, sql)  # warm the cache, as a list asked twice would be
            with_ms, with_plan = explain(conn, sql)
            conn.execute("BEGIN")
            try:
                conn.execute("SET LOCAL jit = off")
                conn.execute(f'DROP INDEX "{index}"')
                without_ms, without_plan = explain(conn, sql)
            finally:
                conn.execute("ROLLBACK")
            results.append(
                {
                    "index": index,
                    "purpose": purpose,
                    "sql": sql,
                    "with_ms": round(with_ms, 2),
                    "without_ms": round(without_ms, 2),
                    "with_plan": with_plan,
                    "without_plan": without_plan,
                }
            )
            print(
                f"{index}: {with_ms:.2f} ms with, {without_ms:.2f} ms without",
                file=sys.stderr,
                flush=True,
            )
        return results


def markdown(results: list[dict[str, Any]]) -> str:
    rows = [
        "| index | serves | with | without | plan with / without |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        if r.get("missing"):
            rows.append(f"| `{r['index']}` | {r['purpose']} | missing | | |")
            continue
        rows.append(
            f"| `{r['index']}` | {r['purpose']} | {r['with_ms']:,.2f} ms | "
            f"{r['without_ms']:,.2f} ms | {_top(r['with_plan'], 2)} / "
            f"{_top(r['without_plan'], 2)} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_SCALE_URL", BENCH_URL))
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", type=str, default="")
    args = parser.parse_args(argv)
    results = run(args.database_url.replace("postgres://", "postgresql://", 1))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)
    print(markdown(results) if args.markdown else json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

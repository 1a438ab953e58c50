"""A decade-sized database for the scale step of the bench, loaded in SQL.

    python -m bench.scale_data --bookings 1000000 [--rebuild]

One million bookings through the ORM would take hours on a 2-core machine; the same rows
made by ``INSERT ... SELECT`` over ``generate_series`` take minutes. The rows look like a
DMC's five years: every booking status (old bookings completed or cancelled, recent
ones open), 1 to 5 items each (about 3 on average), vendors and brokers with very many
objects (the bench's first vendor holds about 100,000 items, its first broker about 30 %
of the bookings), 200,000 offers with their lines, an audit trail (created, submitted,
approved or cancelled or completed, each vendor assignment and answer) and the notifications sent.

Run after ``bench.seed`` (which makes the bench's partners, logins and API keys) on a
migrated database. The load is kept: a database that already holds the asked number of
bookings is reused as it is, unless ``--rebuild``. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import orjson

PREFIX = "BS-"
OFFER_PREFIX = "OS-"
# Bookings per offer: 1,000,000 bookings come with 200,000 offers.
BOOKINGS_PER_OFFER = 5
EXTRA_VENDORS = 180
EXTRA_BROKERS = 40

FIRST_NAMES = (
    "Anna Ben Clara David Elena Felix Greta Hugo Ines Jonas Karin Leon Maria Nils Olga "
    "Paul Rosa Sven Tara Umar Vera Wim Xenia Yusuf Zoe Amir Beatriz Chen Dalia Emeka"
).split()
LAST_NAMES = (
    "Schmidt Rossi Dubois Garcia Novak Jensen Kowalski Silva Murphy Haddad Tanaka Okafor "
    "Larsen Moreau Fischer Costa Weber Horvat Nieminen Popescu Bauer Ivanova Santos Keller "
    "Brennan Lindqvist Romano Yilmaz Meyer Petrov Andersen Martin Varga Kruger Duarte Berg "
    "Ferreira Nowak Hansen Quinn"
).split()


def _sql_array(words: list[str]) -> str:
    return "ARRAY[" + ",".join(f"'{w}'" for w in words) + "]"


def statements(n: int) -> list[tuple[str, str]]:
    """(what, SQL) in order. ``h(i)`` is a cheap deterministic hash of a row number, so
    every run of the same size makes the same rows."""
    first, last = _sql_array(FIRST_NAMES), _sql_array(LAST_NAMES)
    span = "interval '1826 days'"  # five years
    offers = n // BOOKINGS_PER_OFFER
    return [
        (
            "partners",
            f"""
            INSERT INTO partners_vendor (name, email, phone, is_active, created_at, updated_at,
                service_types, notify_by)
            SELECT 'Scale vendor ' || lpad(g::text, 3, '0'), 'vendor' || g || '@scale.invalid',
                '', true, now(), now(), '["accommodation", "transfer"]', '["email"]'
            FROM generate_series(1, {EXTRA_VENDORS}) g
            ON CONFLICT DO NOTHING;
            INSERT INTO partners_broker (name, email, phone, is_active, created_at, updated_at,
                commission_rate)
            SELECT 'Scale broker ' || lpad(g::text, 3, '0'), 'broker' || g || '@scale.invalid',
                '', true, now(), now(), 10.00
            FROM generate_series(1, {EXTRA_BROKERS}) g
            ON CONFLICT DO NOTHING;
            -- The partners as arrays, first the bench's own (its logins and keys).
            CREATE TEMP TABLE p AS SELECT
                (SELECT array_agg(id ORDER BY name LIKE 'Scale%', name) FROM partners_vendor
                 WHERE name LIKE 'Bench vendor %' OR name LIKE 'Scale vendor %') AS v,
                (SELECT array_agg(id ORDER BY name LIKE 'Scale%', name) FROM partners_broker
                 WHERE name LIKE 'Bench broker %' OR name LIKE 'Scale broker %') AS b;
            """,  # noqa: S608 - the loader's own constants, no input
        ),
        (
            "bookings",
            f"""
            INSERT INTO bookings_booking (id, reference, status, commission_rate, customer_name,
                customer_email, customer_phone, currency, notes, source, created_at, updated_at,
                submitted_at, approved_at, confirmed_at, completed_at, cancelled_at,
                cancel_reason, broker_id)
            SELECT i, '{PREFIX}' || lpad(i::text, 7, '0'), st,
                CASE WHEN bk IS NULL THEN 0 ELSE 8.50 END,
                fn || ' ' || ln,
                lower(fn) || '.' || lower(ln) || i || '@example.com',
                CASE WHEN h % 3 = 0 THEN '+4915' || lpad(i::text, 8, '0') ELSE '' END,
                CASE WHEN h % 10 = 0 THEN 'USD' ELSE 'EUR' END,
                CASE WHEN h % 7 = 0 THEN 'Late arrival, vegetarian meals' ELSE '' END,
                (ARRAY['admin','portal','api','offer'])[1 + h % 4],
                c, c + interval '1 hour',
                CASE WHEN st <> 'draft' THEN c + interval '10 minutes' END,
                CASE WHEN st IN ('approved','confirmed','completed') THEN c + interval '1 hour' END,
                CASE WHEN st IN ('confirmed','completed') THEN c + interval '1 day' END,
                CASE WHEN st = 'completed' THEN c + interval '60 days' END,
                CASE WHEN st = 'cancelled' THEN c + interval '2 days' END,
                CASE WHEN st = 'cancelled' THEN 'Customer cancelled' ELSE '' END,
                bk
            FROM (
                SELECT i, h, c, p.b[1 + bi] AS bk,
                    ({first})[1 + h % {len(FIRST_NAMES)}] AS fn,
                    ({last})[1 + (h / 7) % {len(LAST_NAMES)}] AS ln,
                    CASE
                        WHEN c > now() - interval '30 days' THEN
                            (ARRAY['draft','pending_approval','approved','confirmed',
                                   'confirmed','cancelled'])[1 + h % 6]
                        WHEN c > now() - interval '90 days' THEN
                            (ARRAY['approved','confirmed','confirmed','cancelled'])[1 + h % 4]
                        WHEN h % 100 < 15 THEN 'cancelled'
                        ELSE 'completed'
                    END AS st
                FROM (
                    SELECT i, h, now() - {span} * ({n} - i) / {n} AS c,
                        CASE WHEN h % 10 < 3 THEN 0
                             WHEN h % 10 < 8 THEN 1 + h % (cardinality(p.b) - 1)
                        END AS bi
                    FROM (SELECT i, (i * 2654435761) % 1000003 AS h
                          FROM generate_series(1, {n}) i) s, p
                ) t, p
            ) u;
            """,  # noqa: S608 - the loader's own constants, no input
        ),
        (
            "items",
            f"""
            INSERT INTO bookings_bookingitem (service_type, description, start, "end",
                quantity, unit_price, unit_cost, vendor_status, vendor_reference,
                decline_reason, assigned_at, responded_at, cancelled_at, created_at,
                updated_at, booking_id, vendor_id)
            SELECT st, initcap(st) || ' ' || g.n || ' for ' || bk.reference,
                bk.created_at + interval '30 days' + g.n * interval '1 day',
                bk.created_at + interval '30 days' + g.n * interval '1 day'
                    + (1 + x % 72) * interval '1 hour',
                1 + x % 4, 20 + x % 480, 10 + x % 290, vs,
                CASE WHEN vs = 'confirmed' THEN 'V-' || bk.id || '-' || g.n ELSE '' END,
                CASE WHEN vs = 'declined' THEN 'Fully booked' ELSE '' END,
                CASE WHEN vd IS NOT NULL THEN bk.created_at + interval '2 hours' END,
                CASE WHEN vs IN ('accepted','confirmed')
                     THEN bk.created_at + interval '5 hours' END,
                CASE WHEN bk.status = 'cancelled' OR x % 50 = 0
                     THEN bk.created_at + interval '2 days' END,
                bk.created_at, bk.created_at + interval '5 hours', bk.id, vd
            FROM bookings_booking bk CROSS JOIN p
            CROSS JOIN LATERAL generate_series(1, 1 + (bk.id * 7919) % 5) AS g(n)
            CROSS JOIN LATERAL (SELECT (bk.id * 31 + g.n * 17) % 1000003 AS x) hx
            CROSS JOIN LATERAL (
                SELECT
                    (ARRAY['accommodation','transfer','excursion','guide','meal','ticket'])
                        [1 + x % 6] AS st,
                    CASE WHEN (bk.id * 31 + g.n) % 30 = 0 THEN p.v[1]
                         WHEN (bk.id * 31 + g.n) % 5 = 0 THEN NULL
                         ELSE p.v[2 + x % (cardinality(p.v) - 1)]
                    END AS vd
            ) pick
            CROSS JOIN LATERAL (
                SELECT CASE
                    WHEN vd IS NULL THEN
                        CASE WHEN bk.status IN ('completed','cancelled') OR x % 3 > 0
                             THEN 'unassigned' ELSE 'declined' END
                    WHEN bk.status IN ('completed','confirmed') THEN 'confirmed'
                    ELSE (ARRAY['pending','accepted','confirmed'])[1 + x % 3]
                END AS vs
            ) vstat
            WHERE bk.reference LIKE '{PREFIX}%';
            """,  # noqa: S608 - the loader's own constants, no input
        ),
        (
            "offers",
            f"""
            INSERT INTO offers_offer (reference, status, customer_name, customer_email,
                customer_phone, currency, valid_until, notes, created_at, updated_at, sent_at,
                responded_at, decline_reason, booking_id, broker_id)
            SELECT '{OFFER_PREFIX}' || lpad(o::text, 7, '0'), st, bk.customer_name,
                bk.customer_email, '', bk.currency, bk.created_at + interval '14 days', '',
                bk.created_at - interval '3 days', bk.created_at,
                CASE WHEN st <> 'draft' THEN bk.created_at - interval '2 days' END,
                CASE WHEN st IN ('accepted','declined') THEN bk.created_at END,
                CASE WHEN st = 'declined' THEN 'Too expensive' ELSE '' END,
                CASE WHEN st = 'accepted' THEN bk.id END, bk.broker_id
            FROM (
                SELECT o, (ARRAY['accepted','accepted','sent','declined','expired','withdrawn',
                    'draft'])[1 + (o * 13) % 7] AS st
                FROM generate_series(1, {offers}) o
            ) s
            JOIN bookings_booking bk ON bk.reference = '{PREFIX}' || lpad(
                (s.o * {BOOKINGS_PER_OFFER})::text, 7, '0');
            INSERT INTO offers_offerline (service_type, description, start, "end", quantity,
                unit_price, unit_cost, offer_id, proposed_vendor_id)
            SELECT 'accommodation', 'Proposed stay ' || g.n, of.valid_until + g.n * interval
                '1 day', of.valid_until + g.n * interval '1 day' + interval '1 day', 2, 120, 80,
                of.id, NULL
            FROM offers_offer of CROSS JOIN generate_series(1, 2) g(n)
            WHERE of.reference LIKE '{OFFER_PREFIX}%';
            """,  # noqa: S608 - the loader's own constants, no input
        ),
        (
            "audit entries",
            f"""
            INSERT INTO notifications_auditentry (object_id, target_repr, action, actor_label,
                from_status, to_status, data, created_at, content_type_id)
            SELECT bk.id, bk.reference, a.action, 'Bench loader', a.f, a.t, '{{"via": "api"}}',
                a.at, (SELECT id FROM django_content_type
                       WHERE app_label = 'bookings' AND model = 'booking')
            FROM bookings_booking bk
            CROSS JOIN LATERAL (VALUES
                ('created', '', 'draft', bk.created_at),
                ('submitted', 'draft', 'pending_approval', bk.submitted_at),
                ('approved', 'pending_approval', 'approved', bk.approved_at),
                ('completed', 'confirmed', 'completed', bk.completed_at),
                ('cancelled', '', 'cancelled', bk.cancelled_at)
            ) a(action, f, t, at)
            WHERE bk.reference LIKE '{PREFIX}%' AND a.at IS NOT NULL;
            INSERT INTO notifications_auditentry (object_id, target_repr, action, actor_label,
                from_status, to_status, data, created_at, content_type_id)
            SELECT it.id, it.description, 'assigned', 'Bench loader', 'unassigned', 'pending',
                '{{"via": "admin"}}', it.assigned_at,
                (SELECT id FROM django_content_type
                 WHERE app_label = 'bookings' AND model = 'bookingitem')
            FROM bookings_bookingitem it
            WHERE it.assigned_at IS NOT NULL;
            """,  # noqa: S608 - the loader's own constants, no input
        ),
        (
            "vendor answers",
            """
            INSERT INTO notifications_auditentry (object_id, target_repr, action, actor_label,
                from_status, to_status, data, created_at, content_type_id)
            SELECT it.id, it.description, it.vendor_status, 'Bench vendor', 'pending',
                it.vendor_status, jsonb_build_object('via', 'portal', 'vendor_id', it.vendor_id),
                it.responded_at,
                (SELECT id FROM django_content_type
                 WHERE app_label = 'bookings' AND model = 'bookingitem')
            FROM bookings_bookingitem it
            WHERE it.responded_at IS NOT NULL AND it.vendor_id IS NOT NULL;
            """,
        ),
        (
            "notifications",
            f"""
            INSERT INTO notifications_notification (kind, channel, recipient_name, recipient,
                subject, body_text, body_html, whatsapp_template, whatsapp_params, context,
                object_id, reference, dedupe_key, status, attempts, max_attempts,
                next_attempt_at, last_error, provider_message_id, created_at, updated_at,
                sent_at, content_type_id, audit_entry_id)
            SELECT 'booking_' || ae.action, 'email', bk.customer_name, bk.customer_email,
                'Your booking ' || bk.reference || ' was ' || ae.action, 'Hello', '', '',
                '[]', '{{}}', bk.id, bk.reference, 'scale:' || ae.id || ':email', 'sent', 1, 8,
                ae.created_at, '', '', ae.created_at, ae.created_at,
                ae.created_at + interval '1 second', ae.content_type_id, ae.id
            FROM notifications_auditentry ae
            JOIN bookings_booking bk ON bk.id = ae.object_id
            WHERE ae.content_type_id = (SELECT id FROM django_content_type
                                        WHERE app_label = 'bookings' AND model = 'booking')
              AND bk.reference LIKE '{PREFIX}%';
            """,  # noqa: S608 - the loader's own constants, no input
        ),
        (
            "sequences",
            """
            SELECT setval(pg_get_serial_sequence('bookings_booking', 'id'),
                (SELECT max(id) FROM bookings_booking));
            """,
        ),
    ]


TABLES = (
    "partners_vendor",
    "partners_broker",
    "bookings_booking",
    "bookings_bookingitem",
    "offers_offer",
    "offers_offerline",
    "notifications_auditentry",
    "notifications_notification",
)
# A neutral value per type for columns the statements above do not name.
_NEUTRAL = {
    "text": "''",
    "character varying": "''",
    "boolean": "false",
    "integer": "0",
    "smallint": "0",
    "bigint": "0",
    "numeric": "0",
    "jsonb": "'{}'",
    "timestamp with time zone": "now()",
    "uuid": "gen_random_uuid()",
}


def _neutral_defaults(conn: Any) -> list[tuple[str, str]]:
    """Give every NOT NULL column without a database default a neutral one, for the
    load's transaction: columns added by later migrations (Django keeps defaults in
    Python) would otherwise fail the INSERTs that do not name them. Returns what to
    drop again after the load."""
    rows = conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = ANY(%s) AND is_nullable = 'NO' "
        "AND column_default IS NULL AND is_identity = 'NO'",
        [list(TABLES)],
    ).fetchall()
    done = []
    for table, column, data_type in rows:
        # A service's zone must be a real one (the pages render local time with it).
        value = "'Europe/Lisbon'" if column == "timezone" else _NEUTRAL.get(data_type)
        if value is not None:
            conn.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET DEFAULT {value}')
            done.append((table, column))
    return done


def counts(conn: Any) -> dict[str, int]:
    return {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
        for table in (
            "bookings_booking",
            "bookings_bookingitem",
            "offers_offer",
            "notifications_auditentry",
            "notifications_notification",
        )
    }


def loaded_bookings(conn: Any) -> int:
    return conn.execute(
        "SELECT count(*) FROM bookings_booking WHERE reference LIKE %s", [PREFIX + "%"]
    ).fetchone()[0]


def load(url: str, *, bookings: int, rebuild: bool = False) -> dict[str, Any]:
    """Fill the database at ``url`` with ``bookings`` bookings and the rest, unless it
    already holds exactly that many (then nothing is written)."""
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        if not rebuild and loaded_bookings(conn) == bookings:
            return {"reused": True, "seconds": {}, "counts": counts(conn)}
        seconds: dict[str, float] = {}
        started = time.perf_counter()
        # What an earlier load or run left: only the loader's own rows and what refers
        # to bookings (a bench database, never a real one).
        conn.execute(
            "TRUNCATE bookings_booking, bookings_bookingitem, offers_offer, offers_offerline, "
            "notifications_auditentry, notifications_notification, "
            "notifications_deliveryattempt RESTART IDENTITY CASCADE"
        )
        seconds["truncate"] = round(time.perf_counter() - started, 1)
        with conn.transaction():
            # Foreign keys are checked by triggers, one per row: the loader makes only
            # rows whose references it has just made, so skip them for the load.
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute("SET LOCAL work_mem = '64MB'")
            defaulted = _neutral_defaults(conn)
            for what, sql in statements(bookings):
                step = time.perf_counter()
                conn.execute(sql)
                seconds[what] = round(time.perf_counter() - step, 1)
                print(f"scale data: {what} in {seconds[what]} s", file=sys.stderr, flush=True)
            for table, column in defaulted:
                conn.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" DROP DEFAULT')
        step = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")
        seconds["vacuum analyze"] = round(time.perf_counter() - step, 1)
        seconds["total"] = round(time.perf_counter() - started, 1)
        return {"reused": False, "seconds": seconds, "counts": counts(conn)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true", help="load again even if present")
    args = parser.parse_args(argv)
    url = os.environ["DATABASE_URL"]
    result = load(url, bookings=args.bookings, rebuild=args.rebuild)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

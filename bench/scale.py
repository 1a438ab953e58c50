"""The scale step of ``make bench`` (``BENCH_ARGS=--scale``): every list at a million
bookings against the same list at the demo data's size, in the same run.

Two PostgreSQL databases made by the same SQL loader (``bench.scale_data``):
``bench_scale_demo`` with 40 bookings (the demo's size) and ``bench_scale`` with
1,000,000 bookings, about 3,000,000 items, 200,000 offers, 8,000,000 audit entries and
3,800,000 notifications. The large one takes about ten minutes to load on a 2-core
machine, so it is kept between runs and reused when it holds the asked number of
bookings (``--rebuild-scale`` loads it again). Each database is migrated first, so new
indexes are built on the kept data.

For each database in turn: gunicorn from the repository's gunicorn.conf.py under
production settings (as in the rest of the bench), staff logged in to the admin, the
bench's broker (30 % of all bookings) and vendor (about 100,000 items) logged in to the
portal, API keys for each; then every page below, one request to warm it and
``REPEATS`` timed requests one after another, their median reported. Goals (issue 16):
every page under 300 ms at a million bookings, and none more than 3 times slower than
at the demo size, where a demo time under 30 ms counts as 30 ms.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import orjson

from bench import scale_data

REPEATS = 5
GOAL_MS = 300
GOAL_RATIO = 3
FLOOR_MS = 30
DEMO_BOOKINGS = 40
SCALE_BOOKINGS = 1_000_000


def database_urls() -> dict[str, str]:
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        base = "postgres://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(base)
    return {
        "demo": urlunsplit((parts.scheme, parts.netloc, "/bench_scale_demo", "", "")),
        "scale": urlunsplit((parts.scheme, parts.netloc, "/bench_scale", "", "")),
    }


def facts(url: str) -> dict[str, Any]:
    """What the pages below need from a loaded database: a reference, a customer's
    email, the bench's partners, a booking and an item to open, the deepest page."""
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:

        def one(sql: str, *params: Any) -> Any:
            row = conn.execute(sql, params).fetchone()
            return row[0] if row else None

        bookings = one("SELECT count(*) FROM bookings_booking")
        broker = one("SELECT id FROM partners_broker WHERE name = 'Bench broker 00'")
        vendor = one("SELECT id FROM partners_vendor WHERE name = 'Bench vendor 00'")
        middle = one(
            "SELECT id FROM bookings_booking WHERE broker_id = %s ORDER BY id "
            "OFFSET (SELECT count(*) / 2 FROM bookings_booking WHERE broker_id = %s) LIMIT 1",
            broker,
            broker,
        )
        booking = conn.execute(
            "SELECT id, reference, customer_email FROM bookings_booking WHERE id = %s", [middle]
        ).fetchone()
        item = one(
            "SELECT id FROM bookings_bookingitem WHERE vendor_id = %s ORDER BY id DESC LIMIT 1",
            vendor,
        )
        vendor_reference = one(
            "SELECT vendor_reference FROM bookings_bookingitem WHERE booking_id = %s "
            "AND vendor_reference <> '' LIMIT 1",
            middle,
        )
        return {
            "bookings": bookings,
            "items": one("SELECT count(*) FROM bookings_bookingitem"),
            "offers": one("SELECT count(*) FROM offers_offer"),
            "audit_entries": one("SELECT count(*) FROM notifications_auditentry"),
            "notifications": one("SELECT count(*) FROM notifications_notification"),
            "broker_bookings": one(
                "SELECT count(*) FROM bookings_booking WHERE broker_id = %s", broker
            ),
            "vendor_items": one(
                "SELECT count(*) FROM bookings_bookingitem WHERE vendor_id = %s", vendor
            ),
            "broker_id": broker,
            "vendor_id": vendor,
            "booking_id": booking[0],
            "reference": booking[1],
            "email": booking[2],
            "vendor_reference": vendor_reference or "V-",
            "item_id": item,
            "offer_reference": one(
                "SELECT reference FROM offers_offer WHERE broker_id = %s ORDER BY id DESC LIMIT 1",
                broker,
            ),
            "year": one("SELECT extract(year FROM max(created_at))::int FROM bookings_booking"),
            "today": one("SELECT (now() AT TIME ZONE 'UTC')::date::text"),
        }


def pages(f: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(name, who, path): who is ``staff`` (admin session), ``broker`` / ``vendor``
    (portal session) or ``key:staff`` / ``key:broker`` / ``key:vendor`` (API key)."""
    deep_admin = max(1, min(2000, f["bookings"] // 100))
    deep_api = max(1, min(10000, f["bookings"] // 50))
    deep_items = max(1, min(2000, f["items"] // 100))
    deep_broker = max(1, min(2000, f["broker_bookings"] // 25))
    b, i = "/admin/bookings/booking/", "/admin/bookings/bookingitem/"
    ref, email = quote(f["reference"]), quote(f["email"])
    return [
        ("admin bookings", "staff", b),
        ("admin bookings: search name fragment", "staff", b + "?q=lindq"),
        ("admin bookings: search email", "staff", b + f"?q={email}"),
        ("admin bookings: search reference", "staff", b + f"?q={ref}"),
        ("admin bookings: search vendor reference", "staff", b + f"?q={f['vendor_reference']}"),
        ("admin bookings: sort by reference", "staff", b + "?o=1"),
        ("admin bookings: sort by status", "staff", b + "?o=4"),
        ("admin bookings: deep page", "staff", b + f"?p={deep_admin}"),
        ("admin bookings: status filter", "staff", b + "?status__exact=pending_approval"),
        ("admin bookings: needs a vendor", "staff", b + "?vendor_status=needs_vendor"),
        ("admin bookings: starting in 7 days", "staff", b + "?travel=next7"),
        ("admin bookings: broker filter", "staff", b + f"?broker__id__exact={f['broker_id']}"),
        ("admin bookings: vendor filter", "staff", b + f"?vendor={f['vendor_id']}"),
        ("admin bookings: currency filter", "staff", b + "?currency=USD"),
        ("admin bookings: year", "staff", b + f"?created_at__year={f['year']}"),
        ("admin booking page (items, history)", "staff", b + f"{f['booking_id']}/change/"),
        ("admin first page (what needs attention)", "staff", "/admin/"),
        ("admin: items needing a vendor", "staff", i + "?attention=needs_vendor"),
        ("admin: vendor answers due", "staff", i + "?attention=answer_due"),
        ("admin: services within 72 hours", "staff", i + "?attention=starting_unconfirmed"),
        ("admin agenda (7 days)", "staff", "/admin/agenda/"),
        ("admin day sheet (today)", "staff", "/admin/agenda/" + f["today"] + "/"),
        ("admin items", "staff", i),
        ("admin items: pending", "staff", i + "?vendor_status__exact=pending"),
        ("admin items: vendor filter", "staff", i + f"?vendor__id__exact={f['vendor_id']}"),
        ("admin items: draft bookings", "staff", i + "?booking__status__exact=draft"),
        ("admin items: search", "staff", i + f"?q={f['vendor_reference']}"),
        ("admin items: deep page", "staff", i + f"?p={deep_items}"),
        ("admin offers", "staff", "/admin/offers/offer/"),
        ("admin offers: status filter", "staff", "/admin/offers/offer/?status__exact=sent"),
        ("admin offers: search", "staff", "/admin/offers/offer/?q=lindq"),
        ("admin offer lines", "staff", "/admin/offers/offerline/"),
        ("admin audit entries", "staff", "/admin/core/auditentry/"),
        (
            "admin audit entries: action filter",
            "staff",
            "/admin/core/auditentry/?action=cancelled",
        ),
        ("admin audit entries: search", "staff", f"/admin/core/auditentry/?q={ref}"),
        ("admin notifications", "staff", "/admin/notifications/notification/"),
        (
            "admin notifications: status filter",
            "staff",
            "/admin/notifications/notification/?status__exact=failed",
        ),
        (
            "admin notifications: search",
            "staff",
            f"/admin/notifications/notification/?q={email}",
        ),
        ("API bookings (staff)", "key:staff", "/api/v1/bookings/?page_size=50"),
        ("API bookings (broker)", "key:broker", "/api/v1/bookings/?page_size=50"),
        (
            "API bookings: deep page (staff)",
            "key:staff",
            f"/api/v1/bookings/?page_size=50&page={deep_api}",
        ),
        (
            "API bookings: deep page (broker)",
            "key:broker",
            f"/api/v1/bookings/?page_size=50&page={max(1, min(5000, f['broker_bookings'] // 50))}",
        ),
        (
            "API bookings: status filter",
            "key:staff",
            "/api/v1/bookings/?page_size=50&status=pending_approval",
        ),
        (
            "API bookings: vendor filter",
            "key:staff",
            f"/api/v1/bookings/?page_size=50&vendor={f['vendor_id']}",
        ),
        ("API items (staff)", "key:staff", "/api/v1/booking-items/?page_size=50"),
        ("API items (broker)", "key:broker", "/api/v1/booking-items/?page_size=50"),
        ("API items (vendor)", "key:vendor", "/api/v1/booking-items/?page_size=50"),
        (
            "API items: status filter",
            "key:staff",
            "/api/v1/booking-items/?page_size=50&vendor_status=pending",
        ),
        (
            "API items: deep page (staff)",
            "key:staff",
            f"/api/v1/booking-items/?page_size=50&page={max(1, min(10000, f['items'] // 50))}",
        ),
        ("API offers (staff)", "key:staff", "/api/v1/offers/?page_size=50"),
        ("API notifications (staff)", "key:staff", "/api/v1/notifications/?page_size=50"),
        ("portal broker dashboard", "broker", "/portal/"),
        ("portal broker bookings", "broker", "/portal/bookings/"),
        ("portal broker bookings: in progress", "broker", "/portal/bookings/?show=open"),
        ("portal broker bookings: deep page", "broker", f"/portal/bookings/?page={deep_broker}"),
        ("portal broker booking page", "broker", f"/portal/bookings/{ref}/"),
        ("portal broker offers", "broker", "/portal/offers/?show=all"),
        ("portal vendor dashboard", "vendor", "/portal/"),
        ("portal vendor items", "vendor", "/portal/items/"),
        ("portal vendor items: all", "vendor", "/portal/items/?show=all"),
        ("portal vendor item page", "vendor", f"/portal/items/{f['item_id']}/"),
        ("portal vendor history", "vendor", "/portal/history/"),
    ]


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def measure(bench: Any, f: dict[str, Any], repeats: int) -> dict[str, dict[str, Any]]:
    """Every page on the running server: a warm-up request, then ``repeats`` timed."""
    seed = bench.seed
    headers = {
        "staff": bench.login(seed["staff_username"], "/admin/login/"),
        "broker": bench.login(seed["broker_username"]),
        "vendor": bench.login(seed["vendor_username"]),
        "key:staff": bench.api_headers(seed["staff_api_key"]),
        "key:broker": bench.api_headers(seed["broker_api_key"]),
        "key:vendor": bench.api_headers(seed["vendor_api_key"]),
    }
    results: dict[str, dict[str, Any]] = {}
    for name, who, path in pages(f):
        client = bench.client(**headers[who])
        try:
            first = client.request("GET", path)
            samples = []
            for _ in range(repeats):
                started = time.perf_counter()
                response = client.request("GET", path)
                samples.append(time.perf_counter() - started)
        finally:
            client.close()
        results[name] = {
            "path": path,
            "who": who,
            "status": response.status,
            "first_status": first.status,
            "bytes": len(response.body),
            "median_ms": _median_ms(samples),
            "samples_ms": [round(s * 1000, 1) for s in samples],
        }
        print(
            f"bench scale: {name}: {results[name]['median_ms']} ms ({response.status})",
            file=sys.stderr,
            flush=True,
        )
    return results


def prepare(bench: Any, url: str, bookings: int, rebuild: bool) -> dict[str, Any]:
    """Migrate, seed the bench's partners and logins, load the rows (or reuse them)."""
    from bench.db import ensure_database

    started = time.perf_counter()
    ensure_database(url)
    bench.db_url = url
    bench.manage("manage.py", "migrate", "--noinput", "-v0", timeout=3600)
    bench.manage("manage.py", "createcachetable")
    out = bench.manage("-m", "bench.seed", "--bookings", "0", "--password", bench.password)
    bench.seed = orjson.loads(out.strip().splitlines()[-1])
    loaded = scale_data.load(url, bookings=bookings, rebuild=rebuild)
    if loaded["reused"]:
        # Statistics for what the migrations just added (indexes on expressions,
        # extended statistics), as autovacuum would have gathered them by now.
        import psycopg

        with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
            conn.execute("ANALYZE")
    return {**loaded, "prepare_seconds": round(time.perf_counter() - started, 1)}


def run(bench: Any, *, bookings: int, rebuild: bool, repeats: int = REPEATS) -> dict[str, Any]:
    urls = database_urls()
    sizes = {"demo": DEMO_BOOKINGS, "scale": bookings}
    out: dict[str, Any] = {"databases": {}, "pages": {}}
    with bench.step("scale: collectstatic"):
        bench.manage("manage.py", "collectstatic", "--noinput", "-v0", timeout=600)
    for size, url in urls.items():
        with bench.step(f"scale: prepare {size}"):
            loaded = prepare(bench, url, sizes[size], rebuild and size == "scale")
        f = facts(url)
        out["databases"][size] = {
            "name": urlsplit(url).path.lstrip("/"),
            "load": loaded,
            "facts": f,
        }
        with bench.step(f"scale: pages on {size}"):
            # A fresh secret per server, as the rest of the bench does.
            web = bench.start_web(f"web-{size}", SECRET_KEY=secrets.token_urlsafe(50))
            try:
                bench.wait_for(web, "/readyz", {}, limit=60)
                measured = measure(bench, f, repeats)
            finally:
                bench.results["details"].setdefault("stops", {})[f"web-{size}"] = web.stop()
        for name, result in measured.items():
            out["pages"].setdefault(name, {})[size] = result
    for sizes_measured in out["pages"].values():
        demo, scale = sizes_measured["demo"], sizes_measured["scale"]
        ratio = scale["median_ms"] / max(demo["median_ms"], FLOOR_MS)
        ok = (
            scale["status"] == demo["status"] == 200
            and scale["median_ms"] < GOAL_MS
            and ratio <= GOAL_RATIO
        )
        sizes_measured["ratio"] = round(ratio, 2)
        sizes_measured["ok"] = ok
    return out


def table(scale: dict[str, Any]) -> str:
    rows = [("page", "demo ms", "1M ms", "ratio", "bytes at 1M", "met")]
    for name, m in scale["pages"].items():
        status = "" if m["scale"]["status"] == 200 else f" (HTTP {m['scale']['status']})"
        rows.append(
            (
                name,
                f"{m['demo']['median_ms']:.1f}",
                f"{m['scale']['median_ms']:.1f}{status}",
                f"{m['ratio']:.2f}",
                f"{m['scale']['bytes']:,}",
                "yes" if m["ok"] else "NO",
            )
        )
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    facts_scale = scale["databases"]["scale"]["facts"]
    head = (
        f"scale: {facts_scale['bookings']:,} bookings, {facts_scale['items']:,} items, "
        f"{facts_scale['offers']:,} offers, {facts_scale['audit_entries']:,} audit entries, "
        f"{facts_scale['notifications']:,} notifications; the broker has "
        f"{facts_scale['broker_bookings']:,} bookings, the vendor {facts_scale['vendor_items']:,} "
        f"items. Goals: < {GOAL_MS} ms at 1M, <= {GOAL_RATIO}x the demo "
        f"(demo under {FLOOR_MS} ms counts as {FLOOR_MS} ms); medians of {REPEATS}."
    )
    return head + "\n" + "\n".join(lines)

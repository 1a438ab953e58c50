"""Soak the outbox: a real qcluster, failing stand-ins, and a SIGKILL mid-run.

    .venv/bin/python -m tests.notifications.soak --count 400 --rate 40

What the issue's "Done when" asks for, measured:

1. ``count`` notifications (half email, half WhatsApp) are committed one per
   transaction at ``--rate`` per second, each enqueued on commit, to the ORM broker
   (``--redis`` for Redis) on a PostgreSQL database of its own (``--database-url``,
   created and migrated if needed);
2. a ``manage.py qcluster`` (production settings, short test timings) sends them to
   the SMTP stand-in and the Cloud API stand-in, which refuse some with transient
   errors (every ``--smtp-fail-every``-th SMTP DATA gets a 451, every
   ``--api-fail-every``-th API request a 503 and every ``--api-429-every``-th a 429
   with Retry-After; 0 turns one off);
3. when 40 % are sent, two WhatsApp requests are held open and the whole cluster is
   killed with SIGKILL while they are in flight; a new cluster is started;
4. it waits until every row is sent, then checks each was accepted exactly once by a
   stand-in, and prints deliveries per second and commit-to-sent percentiles (all
   rows; rows sent at the first attempt; rows that needed a retry or were caught by
   the kill) as one JSON object on the last line.

Retries come back through the sweep, which django-q2's scheduler runs once a minute,
so retried rows wait up to a minute or so: that is in their percentiles.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = "SOAK"


def log(message: str) -> None:
    print(f"soak: {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return round(ordered[int(rank) - 1], 1)


def figures(latencies_ms: list[float]) -> dict[str, Any]:
    return {
        "count": len(latencies_ms),
        "p50_ms": percentile(latencies_ms, 50),
        "p95_ms": percentile(latencies_ms, 95),
        "p99_ms": percentile(latencies_ms, 99),
        "max_ms": round(max(latencies_ms), 1) if latencies_ms else None,
    }


def prepare_database(url: str, env: dict[str, str]) -> None:
    """Create the soak database if it is missing, and migrate it."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')  # a name we were given, quoted
    for command in (["migrate", "--noinput", "-v", "0"], ["createcachetable"]):
        subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument(
        "--rate", type=float, default=40.0, help="commits per second (0: as fast as possible)"
    )
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/notif_soak")
    parser.add_argument("--redis", default="", help="a Redis URL: use the Redis broker")
    parser.add_argument("--smtp-fail-every", type=int, default=10)
    parser.add_argument("--api-fail-every", type=int, default=9)
    parser.add_argument("--api-429-every", type=int, default=13)
    parser.add_argument("--no-kill", action="store_true")
    parser.add_argument("--q-workers", type=int, default=2)
    args = parser.parse_args(argv)

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bookings_site.settings",
        "DATABASE_URL": args.database_url,
        "SECRET_KEY": "soak-only-not-a-secret",
        "DEBUG": "false",
        "Q_NAME": "soak",
    }
    env.pop("REDIS_URL", None)
    if args.redis:
        env["REDIS_URL"] = args.redis
    prepare_database(args.database_url, env)
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()
    from django.db import transaction
    from django_q.models import OrmQ

    from notifications.models import DeliveryAttempt, Notification
    from notifications.services import Recipient, notify
    from tests.notifications.cluster import QCluster, cluster_env
    from tests.notifications.standins import HANG, CloudApiStandIn, SmtpStandIn

    # Leftovers of an earlier (interrupted) run.
    DeliveryAttempt.objects.filter(notification__reference=REFERENCE).delete()
    Notification.objects.filter(reference=REFERENCE).delete()
    OrmQ.objects.all().delete()

    smtp, api = SmtpStandIn().start(), CloudApiStandIn().start()
    smtp.handler.fail_every = args.smtp_fail_every
    hold = {"left": 0}
    hold_lock = threading.Lock()
    injected = Counter[str]()

    def responder(request: Any, number: int) -> Any:
        with hold_lock:
            if hold["left"] > 0:
                hold["left"] -= 1
                injected["held_at_kill"] += 1
                return HANG
        if args.api_fail_every and number % args.api_fail_every == 0:
            injected["api_503"] += 1
            return 503
        if args.api_429_every and number % args.api_429_every == 0:
            injected["api_429"] += 1
            return (429, {"error": {"message": "rate", "code": 130429}}, {"Retry-After": "1"})
        return None

    api.state.responder = responder
    worker_env = cluster_env(
        smtp_port=smtp.port,
        api_url=api.url,
        redis_url=args.redis,
        Q_WORKERS=str(args.q_workers),
        NOTIFICATION_SWEEP_GRACE="30",
        NOTIFICATION_RETRY_DELAY="1",
        NOTIFICATION_RETRY_MAX_DELAY="5",
    )
    commits: dict[int, float] = {}
    ids: list[int] = []
    context = {"reference": REFERENCE, "customer_name": "Soak", "total": "EUR 1.00", "items": []}

    def produce() -> None:
        from django.db import connection

        started = time.perf_counter()
        try:
            for n in range(args.count):
                due = started + n / args.rate if args.rate > 0 else 0
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                stamp: list[float] = []
                with transaction.atomic():
                    transaction.on_commit(lambda stamp=stamp: stamp.append(time.time()))
                    rows = notify(
                        kind="booking_approved",
                        recipients=[
                            Recipient(
                                name=f"Soak {n}",
                                email=f"soak{n}@example.com",
                                phone=f"+3519{n:08d}",
                                channels=("email" if n % 2 else "whatsapp",),
                            )
                        ],
                        context={**context, "n": n},
                        reference=REFERENCE,
                    )
                for row in rows:
                    commits[row.pk] = stamp[0]
                    ids.append(row.pk)
        finally:
            connection.close()

    def sent_count() -> int:
        return Notification.objects.filter(reference=REFERENCE, status="sent").count()

    result: dict[str, Any] = {
        "count": args.count,
        "rate_per_second": args.rate,
        "broker": "redis" if args.redis else "orm",
        "q_workers": int(worker_env["Q_WORKERS"]),
    }
    cluster = QCluster(worker_env).start()
    producer = threading.Thread(target=produce)
    started = time.time()
    producer.start()
    try:
        if not args.no_kill:
            cluster.wait_for(
                lambda: sent_count() >= args.count * 0.4, timeout=300, what="40 % sent"
            )
            with hold_lock:
                hold["left"] = 2
            try:
                cluster.wait_for(lambda: api.state.hanging >= 2, timeout=15, what="held requests")
            except AssertionError:
                log("no WhatsApp request to hold in time; killing anyway")
            in_flight = Notification.objects.filter(reference=REFERENCE, status="sending")
            result["claimed_when_killed"] = in_flight.count()
            killed_at = time.time()
            cluster.kill()
            api.state.release.set()
            log(f"killed the cluster with {result['claimed_when_killed']} rows claimed")
            cluster.stop()
            time.sleep(1)
            cluster = QCluster(worker_env).start()
            result["restart_seconds_after_kill"] = round(time.time() - killed_at, 1)
        producer.join()
        cluster.wait_for(
            lambda: sent_count() == len(ids), timeout=max(300, args.count), what="every row sent"
        )
        finished = time.time()
        stop_code, stop_seconds = cluster.terminate(timeout=30)
        result["sigterm_stop"] = {"exit_code": stop_code, "seconds": round(stop_seconds, 2)}
    finally:
        cluster.stop()
        api.stop()
        smtp.stop()

    rows = {
        pk: (sent_at.timestamp(), attempts)
        for pk, sent_at, attempts in Notification.objects.filter(pk__in=ids).values_list(
            "pk", "sent_at", "attempts"
        )
    }
    accepted = smtp.handler.accepted_ids() + api.state.accepted_ids()
    ours = {pk: n for pk, n in accepted.items() if pk in rows}
    latency = {pk: (sent - commits[pk]) * 1000 for pk, (sent, _) in rows.items()}
    first = [ms for pk, ms in latency.items() if rows[pk][1] == 1]
    retried = [ms for pk, ms in latency.items() if rows[pk][1] > 1]
    outcomes = Counter(
        DeliveryAttempt.objects.filter(notification_id__in=ids).values_list("outcome", flat=True)
    )
    result.update(
        {
            "exactly_once": {
                "expected": len(ids),
                "accepted": sum(ours.values()),
                "missing": len(set(rows) - set(ours)),
                "duplicates": sum(n - 1 for n in ours.values() if n > 1),
                "ok": set(ours) == set(rows) and all(n == 1 for n in ours.values()),
            },
            "injected_failures": {
                "smtp_451": smtp.handler.data_commands - len(smtp.handler.messages),
                **injected,
            },
            "attempt_outcomes": dict(outcomes),
            # From the first commit to the last row sent, retries' waits included.
            "seconds": round(finished - started, 1),
            "deliveries_per_second": round(len(ids) / (finished - started), 1),
            # While rows were coming in and going out at their first attempt.
            "first_attempt_per_second": round(
                len(first) / (max(rows[pk][0] for pk in rows if rows[pk][1] == 1) - started), 1
            )
            if first
            else None,
            "commit_to_sent": figures(list(latency.values())),
            "commit_to_sent_first_attempt": figures(first),
            "commit_to_sent_retried_or_killed": figures(retried),
        }
    )
    print(orjson.dumps(result).decode())
    return 0 if result["exactly_once"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

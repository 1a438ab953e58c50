"""Webhook delivery, end to end: a change commits -> django-q2 -> a signed POST received.

    python -m bench.webhooks --count 500            # run by `make bench` (bench/run.py)
    python -m bench.webhooks --count 40 --quick     # the CI quick mode

Like ``bench.pipeline``, under the caller's settings (``bench.run`` gives production
settings on the bench database), with the real worker (``bin/worker``) and a receiver
on loopback (tests/events/standins.py; ``WEBHOOK_ALLOW_PRIVATE_TARGETS=true`` lets
it be a target). One staff endpoint subscribed to ``booking.updated``; each change
is ``bookings.services.booking_update`` on a bench booking, so the event, its
delivery row and the after-commit enqueue are the product's own. Then:

1. burst: ``count`` changes in one transaction; deliveries per second from the commit
   to the last request received (the pipeline's capacity);
2. paced: ``count`` changes, each its own transaction, at ``--rate`` per second from two
   producer threads: p50 / p95 / p99 of commit -> received at the receiver;
3. every request's signature checked, and each event received exactly once.

Prints progress on stderr and one JSON object as the last line on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from bench.pipeline import Worker, percentile, worker_default_q_workers

PREFIX = "bench-webhooks"


def log(message: str) -> None:
    print(f"webhooks: {message}", file=sys.stderr, flush=True)


class Run:
    def __init__(self, *, count: int, rate: float, receiver: Any) -> None:
        self.count = count
        self.rate = rate
        self.receiver = receiver
        self.serial = 0
        self.lock = threading.Lock()

    def setup(self) -> None:
        from bookings.services import booking_create
        from core.domain import SYSTEM
        from events.models import WebhookEndpoint
        from events.services import webhook_register

        WebhookEndpoint.objects.filter(description=PREFIX).delete()
        self.bookings = [
            booking_create(actor=SYSTEM, customer_name=f"Bench webhooks {n}") for n in range(4)
        ]
        self.endpoint, self.secret = webhook_register(
            actor=SYSTEM,
            url=self.receiver.url,
            event_types=["booking.updated"],
            description=PREFIX,
        )

    def change(self, n: int, commits: dict[str, float]) -> None:
        """One booking change in one transaction; its event id -> commit time."""
        from django.db import transaction

        from bookings.services import booking_update
        from events.models import Event

        stamp: list[float] = []
        with transaction.atomic():
            # Registered before the service's own callbacks (the sequencer, the enqueue),
            # so it runs first, right after the COMMIT: the clock starts before them.
            transaction.on_commit(lambda: stamp.append(time.time()))
            booking = booking_update(
                booking=self.bookings[n % len(self.bookings)],
                actor=self._actor(),
                notes=f"{PREFIX} change {n}",
            )
            # This transaction's own event (another producer's may be newer; this run's
            # bookings are new, so reference and notes name it).
            event_id = (
                Event.objects.filter(
                    type="booking.updated",
                    reference=booking.reference,
                    payload__data__notes=f"{PREFIX} change {n}",
                )
                .order_by("-seq")
                .values_list("id", flat=True)[0]
            )
        commits[str(event_id)] = stamp[0]

    def _actor(self) -> Any:
        from core.domain import SYSTEM

        return SYSTEM

    def burst(self) -> tuple[dict[str, float], float]:
        from django.db import transaction

        from bookings.services import booking_update
        from events.models import Event

        stamp: list[float] = []
        started = time.perf_counter()
        with transaction.atomic():
            transaction.on_commit(lambda: stamp.append(time.time()))  # first: see change()
            first = Event.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
            for n in range(self.count):
                booking_update(
                    booking=self.bookings[n % len(self.bookings)],
                    actor=self._actor(),
                    notes=f"{PREFIX} burst {n}",
                )
            ids = list(
                Event.objects.filter(seq__gt=first, type="booking.updated").values_list(
                    "id", flat=True
                )
            )
        record_seconds = time.perf_counter() - started
        return {str(i): stamp[0] for i in ids}, record_seconds

    def paced(self, producers: int = 2) -> tuple[dict[str, float], int]:
        from django.db import connection

        commits: dict[str, float] = {}
        slots = iter(range(self.count))
        interval = 1 / self.rate
        late = [0]
        started = time.perf_counter()

        def produce() -> None:
            try:
                while True:
                    with self.lock:
                        i = next(slots, None)
                    if i is None:
                        return
                    due = started + i * interval
                    now = time.perf_counter()
                    if due > now:
                        time.sleep(due - now)
                    elif now - due > interval:
                        late[0] += 1
                    mine: dict[str, float] = {}
                    self.change(i, mine)
                    with self.lock:
                        commits.update(mine)
            finally:
                connection.close()

        threads = [threading.Thread(target=produce) for _ in range(producers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return commits, late[0]

    def received(self, ids: set[str], limit: float, worker: Worker) -> dict[str, float]:
        """Wait until each event has arrived; its first arrival time per id."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            arrived = self._arrivals()
            if ids <= set(arrived):
                return {i: arrived[i] for i in ids}
            if not worker.alive():
                raise RuntimeError(f"qcluster exited:\n{worker.tail()}")
            time.sleep(0.05)
        missing = len(ids - set(self._arrivals()))
        raise RuntimeError(f"{missing} of {len(ids)} webhooks not received:\n{worker.tail()}")

    def _arrivals(self) -> dict[str, float]:
        first: dict[str, float] = {}
        for request in self.receiver.requests:
            event_id = request.headers.get("Webhook-Event-Id", "")
            first.setdefault(event_id, request.at)
        return first

    def check(self, ids: set[str]) -> dict[str, Any]:
        counts: Counter[str] = Counter()
        bad = 0
        for request in self.receiver.requests:
            event_id = request.headers.get("Webhook-Event-Id", "")
            if event_id not in ids:
                continue
            counts[event_id] += 1
            signed = request.headers["Webhook-Timestamp"].encode() + b"." + request.body
            expected = (
                "sha256=" + hmac.new(self.secret.encode(), signed, hashlib.sha256).hexdigest()
            )
            if not hmac.compare_digest(expected, request.headers["Webhook-Signature"]):
                bad += 1
        return {
            "received": sum(counts.values()),
            "expected": len(ids),
            "missing": len(ids - set(counts)),
            "duplicates": sum(n - 1 for n in counts.values() if n > 1),
            "bad_signatures": bad,
            "ok": set(counts) == ids and all(n == 1 for n in counts.values()) and bad == 0,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0, help="paced commits per second")
    parser.add_argument("--q-workers", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.count < 2 or args.rate <= 0:
        parser.error("--count must be at least 2 and --rate positive")

    from tests.events.standins import WebhookReceiver

    receiver = WebhookReceiver().start()
    os.environ.update(
        {
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            # Deliveries leave within a second; the sweep must not add tasks of its own.
            "WEBHOOK_SWEEP_GRACE": "600",
            "NOTIFICATION_SWEEP_GRACE": "600",
        }
    )
    if args.q_workers:
        os.environ["Q_WORKERS"] = str(args.q_workers)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookings_site.settings")
    os.environ.setdefault("PROCESS_ROLE", "bench")
    import django

    django.setup()
    from django.conf import settings
    from django_q.models import OrmQ

    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    result: dict[str, Any] = {
        "count": args.count,
        "mode": "quick" if args.quick else "full",
        "broker": "redis" if getattr(settings, "REDIS_URL", "") else "orm",
        "q_workers": int(os.environ["Q_WORKERS"])
        if os.environ.get("Q_WORKERS")
        else worker_default_q_workers(),
    }
    run = Run(count=args.count, rate=args.rate, receiver=receiver)
    worker: Worker | None = None
    try:
        OrmQ.objects.all().delete()  # the bench database's queue holds only bench tasks
        run.setup()
        worker = Worker(
            {**os.environ, "PROCESS_ROLE": "worker", "PYTHON": sys.executable}, tmp / "qcluster.log"
        )
        warm: dict[str, float] = {}
        run.change(0, warm)
        run.received(set(warm), 90, worker)
        log(f"cluster up; burst of {args.count}")

        commits, record_seconds = run.burst()
        arrived = run.received(set(commits), max(120, args.count), worker)
        committed = min(commits.values())
        seconds = max(arrived.values()) - committed
        latencies = [(arrived[i] - commits[i]) * 1000 for i in commits]
        result["burst"] = {
            "count": len(commits),
            "record_seconds": round(record_seconds, 3),
            "seconds": round(seconds, 3),
            "per_second": round(len(commits) / seconds, 1) if seconds > 0 else None,
            "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1),
        }
        log(f"burst: {result['burst']['per_second']}/s; paced {args.count} at {args.rate:g}/s")

        paced, late = run.paced()
        arrived = run.received(set(paced), max(120, args.count), worker)
        latencies = [(arrived[i] - paced[i]) * 1000 for i in paced]
        result["paced"] = {
            "count": len(paced),
            "rate_per_second": args.rate,
            "commits_behind_schedule": late,
            "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1),
            "p99_ms": round(percentile(latencies, 99), 1),
            "max_ms": round(max(latencies), 1),
        }
        log(f"paced: p95 {result['paced']['p95_ms']} ms")
        result["exactly_once"] = run.check(set(commits) | set(paced) | set(warm))
        result["deliveries_per_second"] = result["burst"]["per_second"]
        result["commit_to_received_p50_ms"] = result["paced"]["p50_ms"]
        result["commit_to_received_p95_ms"] = result["paced"]["p95_ms"]
    except BaseException:
        if worker is not None:
            print(f"--- qcluster log tail ---\n{worker.tail()}", file=sys.stderr)
        raise
    finally:
        if worker is not None:
            result["worker_stop"] = worker.stop()
        receiver.stop()
        for path in tmp.iterdir():
            path.unlink()
        tmp.rmdir()
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0 if result["exactly_once"]["ok"] and result["worker_stop"]["clean"] else 1


if __name__ == "__main__":
    sys.exit(main())

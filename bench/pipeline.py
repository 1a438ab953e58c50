"""The notification pipeline, end to end: outbox row -> django-q2 -> SMTP / Cloud API.

    python -m bench.pipeline --count 1000            # run by `make bench` (bench/run.py)
    python -m bench.pipeline --count 50 --quick      # the CI quick mode

Under the caller's settings (``bench.run`` gives production settings on the bench
database). Starts the local SMTP and WhatsApp Cloud API stand-ins
(tests/notifications/standins.py) on loopback, and the real worker process (``bin/worker``:
``manage.py qcluster``, ORM broker, the repository's Q_CLUSTER) configured to send to them. Then:

1. burst: ``count`` notifications (half email, half WhatsApp) recorded through
   ``notifications.services.notify`` in one transaction; deliveries per second from
   the commit to the last one sent (the pipeline's capacity);
2. paced: ``count`` notifications, each in its own transaction, committed at a fixed
   rate (``--rate``, default 50 per second, half the capacity goal): p50 / p95 of the time
   from each commit to its ``sent_at`` (what a user waits for at that load);
3. checks every row was sent, and each accepted exactly once by a stand-in; beside
   that, counts the rows whose send was interrupted, those sent again as possible
   duplicates and those held for a person (README, "Delivery guarantee"), and checks
   that every second copy a stand-in took is one the outbox flags;
4. crash (ORM broker): the worker SIGKILLed while sends are in flight to slow stand-ins,
   then restarted: nothing lost, each send in flight interrupted, then resent (email,
   flagged) or held (WhatsApp), and every second copy flagged.

Prints progress on stderr and one JSON object as the last line on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "bench-pipeline"
KIND = "booking_confirmed"
PHONE_NUMBER_ID = "100000000000001"


def log(message: str) -> None:
    print(f"pipeline: {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


class Worker:
    """``manage.py qcluster`` in its own session, stopped with SIGTERM."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(  # noqa: S603 - a fixed argument list
            # The production worker's own start command (its Q_WORKERS default too).
            [str(ROOT / "bin" / "worker")],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 30) -> dict[str, Any]:
        started = time.perf_counter()
        clean = True
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                clean = False
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self._log.close()
        return {
            "clean": clean,
            "exit_code": self.popen.returncode,
            "stop_seconds": round(time.perf_counter() - started, 2),
        }

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Pipeline:
    def __init__(self, *, count: int, rate: float, run_id: str) -> None:
        self.count = count
        self.rate = rate
        self.run_id = run_id
        self.serial = 0

    # -- recording -------------------------------------------------------------------

    def _recipient(self, channels: tuple[str, ...]) -> Any:
        from notifications.services import Recipient

        self.serial += 1
        n = self.serial
        return Recipient(
            name=f"Pipeline customer {n}",
            email=f"pipeline{n}@bench.invalid",
            # E.164, unique per row: +34 6 then eight digits.
            phone=f"+346{n:08d}",
            channels=channels,
            link="https://bench.invalid/portal/",
        )

    def _context(self, recipient: Any) -> dict[str, Any]:
        return {
            "reference": f"PL-{recipient.email.split('@')[0][8:]}",
            "customer_name": "Bench customer",
            "total": "EUR 120.00",
            "items": [
                {
                    "service": "Transfer",
                    "description": "Airport to hotel",
                    "when": "1 March 2027, 10:00",
                    "quantity": 2,
                    "vendor_reference": "V-1234",
                }
            ],
        }

    def record(
        self, recipients: list[Any], commits: dict[int, float], *, reference: str = ""
    ) -> list[int]:
        """One transaction: the rows, and the wall-clock time of its commit per row."""
        from django.db import transaction

        from notifications.services import notify

        stamp: list[float] = []
        with transaction.atomic():
            # Registered before notify()'s own enqueue callbacks, so it runs first,
            # right after the COMMIT: the clock starts before the enqueue.
            transaction.on_commit(lambda: stamp.append(time.time()))
            rows = []
            for recipient in recipients:
                rows += notify(
                    kind=KIND,
                    recipients=[recipient],
                    context=self._context(recipient),
                    reference=reference or f"{PREFIX}-{self.run_id}",
                )
        for row in rows:
            commits[row.pk] = stamp[0]
        return [row.pk for row in rows]

    # -- waiting ---------------------------------------------------------------------

    def wait_sent(self, ids: list[int], worker: Worker, limit: float) -> dict[int, float]:
        """Poll until every row has left the outbox; its ``sent_at`` per id sent.

        A row held after an interrupted send has left it too, waiting for a person:
        it has no ``sent_at`` and is counted with the interruptions, not as an error.
        """
        from notifications.models import Notification

        S = Notification.Status
        deadline = time.monotonic() + limit
        pending = set(ids)
        sent: dict[int, float] = {}
        while pending and time.monotonic() < deadline:
            if not worker.alive():
                raise RuntimeError(f"qcluster exited:\n{worker.tail()}")
            done = Notification.objects.filter(pk__in=list(pending)).exclude(
                status__in=[S.PENDING, S.SENDING]
            )
            for pk, status, sent_at in done.values_list("pk", "status", "sent_at"):
                if status == S.INTERRUPTED:
                    pending.discard(pk)
                    continue
                if status != S.SENT or sent_at is None:
                    raise RuntimeError(f"notification {pk} ended {status}, not sent")
                sent[pk] = sent_at.timestamp()
                pending.discard(pk)
            if pending:
                time.sleep(0.05)
        if pending:
            raise RuntimeError(
                f"{len(pending)} of {len(ids)} notifications not sent in {limit:.0f}s:\n"
                f"{worker.tail()}"
            )
        return sent

    # -- phases ----------------------------------------------------------------------

    def warm_up(self, worker: Worker) -> float:
        """One message per channel through the cluster: its processes, connections,
        SMTP session and HTTP keep-alive are up before anything is timed."""
        started = time.perf_counter()
        commits: dict[int, float] = {}
        ids = self.record([self._recipient(("email", "whatsapp"))], commits)
        self.wait_sent(ids, worker, limit=90)
        return round(time.perf_counter() - started, 2)

    def burst(self, worker: Worker) -> dict[str, Any]:
        commits: dict[int, float] = {}
        half = self.count // 2
        recipients = [self._recipient(("email", "whatsapp")) for _ in range(half)]
        if self.count % 2:
            recipients.append(self._recipient(("email",)))
        recorded = time.perf_counter()
        ids = self.record(recipients, commits)
        record_seconds = time.perf_counter() - recorded
        sent = self.wait_sent(ids, worker, limit=max(120, self.count))
        committed = min(commits.values())
        seconds = max(sent.values()) - committed
        latencies = [(at - commits[pk]) * 1000 for pk, at in sent.items()]
        return {
            "count": len(ids),
            "record_seconds": round(record_seconds, 3),
            "seconds": round(seconds, 3),
            "per_second": round(len(ids) / seconds, 1) if seconds > 0 else None,
            "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1),
        }

    def paced(self, worker: Worker, producers: int = 2) -> dict[str, Any]:
        """Open loop: commit i is due at start + i / rate, whatever came before it.

        A few producer threads (each with its own connection), as changes come from
        several web threads at once: one slow commit does not hold back the next.
        """
        from django.db import connection

        commits: dict[int, float] = {}
        ids: list[int] = []
        interval = 1 / self.rate
        channels = ("email", "whatsapp")
        lock = threading.Lock()
        slots = iter(range(self.count))
        late = [0]
        started = time.perf_counter()

        def produce() -> None:
            try:
                while True:
                    with lock:
                        i = next(slots, None)
                        if i is None:
                            return
                        recipient = self._recipient((channels[i % 2],))
                    due = started + i * interval
                    now = time.perf_counter()
                    if due > now:
                        time.sleep(due - now)
                    elif now - due > interval:
                        with lock:
                            late[0] += 1
                    mine: dict[int, float] = {}
                    made = self.record([recipient], mine)
                    with lock:
                        commits.update(mine)
                        ids.extend(made)
            finally:
                connection.close()

        threads = [threading.Thread(target=produce) for _ in range(producers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        offered_seconds = time.perf_counter() - started
        sent = self.wait_sent(ids, worker, limit=max(120, self.count))
        latencies = [(at - commits[pk]) * 1000 for pk, at in sent.items()]
        return {
            "count": len(ids),
            "rate_per_second": self.rate,
            "producers": producers,
            "achieved_rate_per_second": round(len(ids) / offered_seconds, 1),
            "commits_behind_schedule": late[0],
            "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1),
            "p99_ms": round(percentile(latencies, 99), 1),
            "max_ms": round(max(latencies), 1),
        }

    def crash(self, smtp: Any, cloud: Any, worker_env: dict[str, str], tmp: Path) -> dict[str, Any]:
        """SIGKILL the worker while sends are in flight, restart it: what became of them.

        The stand-ins take each message and answer a second later, so a worker killed
        meanwhile has handed over messages it never hears were accepted. This worker
        runs with short timings (a task may take 3 s, its claim is stale after 8 s,
        the ORM broker hands a dead worker's task out again after 13 s) so the phase
        takes seconds, not the minutes production's timings would.
        """
        from notifications.models import Notification

        S = Notification.Status
        reference = f"{PREFIX}-{self.run_id}-crash"
        env = {
            **worker_env,
            "Q_WORKERS": "2",
            "Q_TIMEOUT": "3",
            "Q_RETRY": "13",
            "NOTIFICATION_CLAIM_STALE_AFTER": "8",
            "NOTIFICATION_RETRY_DELAY": "0.2",
            "EMAIL_TIMEOUT": "5",
            "WHATSAPP_READ_TIMEOUT": "5",
        }
        slow = {"in flight": 0}
        lock = threading.Lock()

        def slow_accept(request: Any, number: int) -> None:
            with lock:
                slow["in flight"] += 1
            try:
                time.sleep(1.0)
            finally:
                with lock:
                    slow["in flight"] -= 1

        smtp.handler.reply_delay = 1.0
        cloud.state.responder = slow_accept
        channels = ("email", "whatsapp")
        ids = self.record(
            [self._recipient((channels[n % 2],)) for n in range(8)], {}, reference=reference
        )
        rows = Notification.objects.filter(pk__in=ids)
        worker = Worker(env, tmp / "qcluster-crash-1.log")
        try:
            deadline = time.monotonic() + 60
            while not (smtp.handler.replying and slow["in flight"]):
                if time.monotonic() > deadline or not worker.alive():
                    raise RuntimeError(f"no send in flight to interrupt:\n{worker.tail()}")
                time.sleep(0.05)
            os.killpg(worker.popen.pid, signal.SIGKILL)
            worker.popen.wait(10)
        finally:
            worker.stop()
        in_flight = rows.filter(status=S.SENDING).count()
        time.sleep(1.5)  # the stand-ins finish taking what was in flight
        smtp.handler.reply_delay = 0
        cloud.state.responder = None
        log(f"crash: SIGKILL with {in_flight} sends in flight; restarting the worker")
        started = time.perf_counter()
        worker = Worker(env, tmp / "qcluster-crash-2.log")
        try:
            deadline = time.monotonic() + 90
            while rows.filter(status__in=[S.SENT, S.INTERRUPTED]).count() < len(ids):
                if time.monotonic() > deadline or not worker.alive():
                    raise RuntimeError(f"crash rows not settled:\n{worker.tail()}")
                time.sleep(0.1)
            settled = time.perf_counter() - started
        finally:
            worker.stop()
        accepted: Counter[int] = smtp.handler.accepted_ids() + cloud.state.accepted_ids()
        counts = interruptions(smtp, cloud, set(ids))
        # Held is not lost: a person decides, even if the first copy never arrived.
        held = set(rows.filter(status=S.INTERRUPTED).values_list("pk", flat=True))
        lost = sum(1 for pk in ids if not accepted.get(pk) and pk not in held)
        return {
            "count": len(ids),
            "in_flight": in_flight,
            "lost": lost,
            **counts,
            "settled_seconds": round(settled, 1),
            "ok": counts["ok"] and lost == 0 and 0 < in_flight == counts["interrupted"],
        }


def worker_default_q_workers() -> int | None:
    """Q_WORKERS as bin/worker sets it when the environment does not (for the report)."""
    text = (ROOT / "bin" / "worker").read_text()
    match = re.search(r'Q_WORKERS="\$\{Q_WORKERS:-(\d+)\}"', text)
    return int(match.group(1)) if match else None


def clear_leftovers() -> dict[str, int]:
    """Rows and queued tasks of earlier pipeline runs (an interrupted one included)."""
    from django.db import transaction
    from django_q.models import OrmQ

    from notifications.models import DeliveryAttempt, Notification

    with transaction.atomic():
        old = Notification.objects.filter(reference__startswith=PREFIX)
        attempts = DeliveryAttempt.objects.filter(notification__in=old).delete()[0]
        rows = old.delete()[0] - attempts
        # The bench database's queue holds nothing but bench tasks.
        tasks = OrmQ.objects.all().delete()[0]
    return {"notifications": rows, "queued_tasks": tasks}


def exactly_once(smtp: Any, cloud: Any, ids: set[int]) -> dict[str, Any]:
    accepted: Counter[int] = smtp.handler.accepted_ids() + cloud.state.accepted_ids()
    ours = {pk: n for pk, n in accepted.items() if pk in ids}
    return {
        "accepted": sum(ours.values()),
        "expected": len(ids),
        "missing": len(ids - set(ours)),
        "duplicates": sum(n - 1 for n in ours.values() if n > 1),
        "ok": set(ours) == ids and all(n == 1 for n in ours.values()),
    }


def interruptions(smtp: Any, cloud: Any, ids: set[int]) -> dict[str, Any]:
    """What the outbox says of interrupted sends, beside what the stand-ins took.

    ``interrupted``: rows with a send interrupted (outcome unknown); ``resent``: rows
    sent again afterwards, flagged as possible duplicates; ``held``: rows waiting for a
    person's decision. ``unflagged_duplicates``: rows a stand-in took twice or more that
    the outbox does not flag, which must be none.
    """
    from notifications.models import Notification

    rows = Notification.objects.filter(pk__in=list(ids))
    accepted: Counter[int] = smtp.handler.accepted_ids() + cloud.state.accepted_ids()
    twice = {pk for pk, n in accepted.items() if pk in ids and n > 1}
    flagged = set(rows.filter(possible_duplicate=True).values_list("pk", flat=True))
    return {
        "interrupted": rows.filter(interrupted_at__isnull=False).count(),
        "resent": len(flagged),
        "held": rows.filter(status=Notification.Status.INTERRUPTED).count(),
        "unflagged_duplicates": len(twice - flagged),
        "ok": not twice - flagged,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="paced commits per second")
    parser.add_argument(
        "--q-workers", type=int, default=None, help="Q_WORKERS for the cluster (default: settings)"
    )
    parser.add_argument("--quick", action="store_true", help="CI: small counts, same steps")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args(argv)
    if args.count < 2 or args.rate <= 0:
        parser.error("--count must be at least 2 and --rate positive")

    from tests.notifications.standins import CloudApiStandIn, SmtpStandIn

    smtp = SmtpStandIn().start()
    cloud = CloudApiStandIn()
    # http.server writes the headers and the body of a reply in two sends: with Nagle's
    # algorithm on, the body waits for the client's delayed ACK (up to 40 ms), a cost
    # of the stand-in that the real Cloud API does not have.
    handler = cloud.server.RequestHandlerClass
    cloud.server.RequestHandlerClass = type(
        "NoDelayHandler", (handler,), {"disable_nagle_algorithm": True}
    )
    cloud.start()
    outside = {
        "EMAIL_URL": smtp.url,
        "WHATSAPP_API_URL": cloud.url,
        # A placeholder the stand-in accepts, not a credential.
        "WHATSAPP_ACCESS_TOKEN": "bench-standin-token",
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        # Rows are sent within a second; the sweep must not add tasks of its own.
        "NOTIFICATION_SWEEP_GRACE": "600",
    }
    if args.q_workers:
        outside["Q_WORKERS"] = str(args.q_workers)
    os.environ.update(outside)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookings_site.settings")
    os.environ.setdefault("PROCESS_ROLE", "bench")
    import django

    django.setup()
    import logging

    from django.conf import settings

    # aiosmtpd logs every SMTP command at INFO: thousands of lines saying nothing.
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    tmp = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    worker_env = {**os.environ, "PROCESS_ROLE": "worker", "PYTHON": sys.executable}
    result: dict[str, Any] = {
        "count": args.count,
        "mode": "quick" if args.quick else "full",
        "broker": "redis" if getattr(settings, "REDIS_URL", "") else "orm",
        # bin/worker's default unless the caller set Q_WORKERS.
        "q_workers": int(os.environ["Q_WORKERS"])
        if os.environ.get("Q_WORKERS")
        else worker_default_q_workers(),
        "poll_seconds": settings.Q_CLUSTER.get("poll"),
    }
    run_id = f"{os.getpid()}{int(time.time())}"
    pipeline = Pipeline(count=args.count, rate=args.rate, run_id=run_id)
    worker: Worker | None = None
    try:
        result["cleared"] = clear_leftovers()
        started = time.perf_counter()
        worker = Worker(worker_env, tmp / "qcluster.log")
        result["warm_up_seconds"] = pipeline.warm_up(worker)
        log(f"cluster up in {time.perf_counter() - started:.1f}s; burst of {args.count}")
        result["burst"] = pipeline.burst(worker)
        log(f"burst: {result['burst']['per_second']}/s; paced {args.count} at {args.rate:g}/s")
        result["paced"] = pipeline.paced(worker)
        log(f"paced: p95 {result['paced']['p95_ms']} ms")
        from notifications.models import Notification

        ids = set(
            Notification.objects.filter(reference=f"{PREFIX}-{run_id}").values_list("pk", flat=True)
        )
        result["exactly_once"] = exactly_once(smtp, cloud, ids)
        result["interruptions"] = interruptions(smtp, cloud, ids)
        result["smtp_sessions"] = smtp.handler.sessions
        # The figures bench/run.py shows beside their goals.
        result["deliveries_per_second"] = result["burst"]["per_second"]
        result["commit_to_sent_p50_ms"] = result["paced"]["p50_ms"]
        result["commit_to_sent_p95_ms"] = result["paced"]["p95_ms"]
        result["worker_stop"] = worker.stop()
        worker = None
        # A crash mid-send, with the ORM broker, which hands a dead worker's tasks out
        # again by itself (on Redis they are gone: the minutely sweep finds the rows,
        # tests/notifications/test_redis.py).
        if result["broker"] == "orm":
            result["crash"] = pipeline.crash(smtp, cloud, worker_env, tmp)
            log(
                "crash: {lost} lost, {interrupted} interrupted, {resent} resent, "
                "{held} held".format(**result["crash"])
            )
    except BaseException:
        if worker is not None:
            print(f"--- qcluster log tail ---\n{worker.tail()}", file=sys.stderr)
        raise
    finally:
        if worker is not None:
            result["worker_stop"] = worker.stop()
        cloud.stop()
        smtp.stop()
        if args.keep_logs:
            log(f"logs kept in {tmp}")
        else:
            for path in tmp.iterdir():
                path.unlink()
            tmp.rmdir()
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    ok = result["exactly_once"]["ok"] and result["interruptions"]["ok"]
    ok = ok and result.get("crash", {"ok": True})["ok"]
    return 0 if ok and result["worker_stop"]["clean"] else 1


if __name__ == "__main__":
    sys.exit(main())

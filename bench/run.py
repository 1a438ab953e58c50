"""`make bench`: every production claim of this project as a measured figure.

    python -m bench.run            # the full run (a few minutes), writes bench/results.json
    python -m bench.run --quick    # seconds: the same harness on tiny counts (CI runs it)

Against PostgreSQL (database ``bench``, or ``bench_quick`` for --quick, created if
missing; BENCH_DATABASE_URL overrides) and gunicorn started with the repository's own
gunicorn.conf.py under production settings (DEBUG off, hashed static files, HTTPS
behind a proxy simulated by ``X-Forwarded-Proto``), on loopback only:

1. cold start: from starting gunicorn to the first 200 of the API list;
2. API throughput ratio: ``GET /api/v1/bookings/?page_size=50`` with an API key,
   against the raw baseline view (``/bench/baseline/``, mounted only when BENCH=true),
   same gunicorn, same run, interleaved rounds, wrk when installed;
3. latency: p50 / p99 of the same endpoint at a fixed, moderate rate (open loop);
4. soak: 20,000 mixed requests (API lists and details, admin and portal pages,
   writes) with the django-q2 worker running: resident memory of each gunicorn
   worker after warm-up and at the end, database connections by application_name
   before / during / after;
5. notification pipeline: ``python -m bench.pipeline`` (the outbox's own bench), and
   webhook delivery: ``python -m bench.webhooks`` (commit -> signed POST received);
6. clean stop: every process started here exits on SIGTERM and none is left behind.

No response caching anywhere in the measured paths. The numbers swing 30-50 % from
run to run on a shared 2-core machine; the ratios taken in one run hold better.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from bench import loadgen
from bench.db import ensure_database, libpq
from bench.loadgen import Client, Response
from bench.seed import SOAK_NOTES

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
RESULTS = ROOT / "bench" / "results.json"
# What the measured processes inherit from the caller; everything else is set here.
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "VIRTUAL_ENV")
API_LIST = "/api/v1/bookings/?page_size=50"
BASELINE = "/bench/baseline/"


@dataclass(frozen=True)
class Profile:
    name: str
    bookings: int
    throughput_seconds: float
    throughput_rounds: int
    latency_rate: float
    latency_seconds: float
    warmup_requests: int
    soak_requests: int
    soak_concurrency: int
    pipeline_count: int
    pipeline_rate: float
    compare_workers: bool


FULL = Profile("full", 2000, 5, 5, 50, 30, 1000, 20_000, 8, 1000, 50, True)
QUICK = Profile("quick", 200, 1, 1, 20, 2, 60, 300, 4, 50, 50, False)


# --- processes ------------------------------------------------------------------------


class Process:
    """A child process in its own session, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.started = time.perf_counter()
        self.popen = subprocess.Popen(  # noqa: S603 - fixed argument lists
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.stop_result: dict[str, Any] | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 30) -> dict[str, Any]:
        """SIGTERM to the process itself, as a platform would send it: gunicorn's
        master and django-q2's sentinel each stop their own children in order.
        Clean means it exited in time and left no process of its session behind."""
        if self.stop_result is not None:
            return self.stop_result
        started = time.perf_counter()
        clean = True
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                clean = False
        leftover_deadline = time.perf_counter() + 5
        while _group_alive(self.pid) and time.perf_counter() < leftover_deadline:
            time.sleep(0.05)
        if _group_alive(self.pid) or self.alive():
            clean = False
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        self._log.close()
        self.stop_result = {
            "clean": clean,
            "exit_code": self.popen.returncode,
            "stop_seconds": round(time.perf_counter() - started, 2),
        }
        return self.stop_result

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process of this process group remains."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
    return pids


def cpu_snapshot(web_pid: int) -> dict[str, float]:
    """CPU seconds so far: the gunicorn workers of ``web_pid``, every PostgreSQL
    process, this process's finished children (wrk) and the whole machine (busy)."""
    children_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return {
        "gunicorn": sum(cpu_seconds(pid) for pid in children(web_pid)),
        "postgres": sum(cpu_seconds(pid) for pid in postgres_pids()),
        "wrk": children_usage.ru_utime + children_usage.ru_stime,
        "machine": (sum(ticks) - idle) / CLOCK_TICKS,
    }


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 2)
    except OSError:
        return None
    return None


def processes_with_marker(marker: str) -> list[int]:
    """Pids of live processes whose environment carries this run's marker."""
    needle = f"BENCH_RUN_ID={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


# --- database -------------------------------------------------------------------------


def database_url(profile: Profile) -> str:
    explicit = os.environ.get("BENCH_DATABASE_URL")
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        base = "postgres://postgres@127.0.0.1:5432/postgres"
    name = "bench_quick" if profile is QUICK else "bench"
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def vacuum_analyze(url: str) -> float:
    """VACUUM (ANALYZE) the bench database: what autovacuum would do to freshly
    bulk-loaded or churned tables, done before measuring rather than during it
    (planner statistics of a just-seeded table are missing or stale, and an autovacuum
    worker starting mid-round takes a core of this 2-core machine). Seconds taken."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return round(time.perf_counter() - started, 2)


class ConnectionMonitor:
    """Samples pg_stat_activity for one database, grouped by application_name."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.dbname = urlsplit(url).path.lstrip("/")
        self.conn = psycopg.connect(libpq(url), autocommit=True, application_name="bench-monitor")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.max_total = 0
        self.max_by_app: dict[str, int] = defaultdict(int)
        self.samples = 0

    def snapshot(self) -> dict[str, Any]:
        rows = self.conn.execute(
            "SELECT coalesce(application_name, ''), coalesce(state, ''), count(*) "
            "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
            "GROUP BY 1, 2",
            [self.dbname],
        ).fetchall()
        by_app: dict[str, dict[str, int]] = defaultdict(dict)
        for app, state, count in rows:
            by_app[app or "?"][state or "?"] = count
        total = sum(count for _, _, count in rows)
        return {"total": total, "by_application": dict(by_app)}

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            snap = self.snapshot()
            self.samples += 1
            self.max_total = max(self.max_total, snap["total"])
            for app, states in snap["by_application"].items():
                self.max_by_app[app] = max(self.max_by_app[app], sum(states.values()))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        return {
            "max_total": self.max_total,
            "max_by_application": dict(self.max_by_app),
            "samples": self.samples,
        }

    def close(self) -> None:
        self.conn.close()


# --- the bench ------------------------------------------------------------------------


class Bench:
    def __init__(
        self, profile: Profile, *, port: int, keep_logs: bool, q_workers: int | None = None
    ) -> None:
        self.profile = profile
        self.q_workers = q_workers
        self.port = port
        self.keep_logs = keep_logs
        self.run_id = uuid.uuid4().hex
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-"))
        self.db_url = database_url(profile)
        self.password = secrets.token_urlsafe(16)
        self.processes: list[Process] = []
        self.results: dict[str, Any] = {"figures": [], "details": {}, "notes": []}
        self.seed: dict[str, Any] = {}
        # gunicorn.conf.py's own choice, read once the environment is known (run()).
        self.web_config: dict[str, str] = {}

    # environment shared by every process of the run: production settings on loopback
    def env(self, **extra: str) -> dict[str, str]:
        # A clean environment: nothing of the caller's settings (a test run's
        # defaults, a developer's DEBUG) may leak into the measured processes.
        env = {key: os.environ[key] for key in _PASSED_ENV if key in os.environ}
        env.update(
            {
                "BENCH_RUN_ID": self.run_id,
                "DJANGO_SETTINGS_MODULE": "bookings_site.settings",
                "DATABASE_URL": self.db_url,
                "DEBUG": "false",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "ALLOWED_HOSTS": f"{HOST},localhost",
                "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
                "CSRF_TRUSTED_ORIGINS": f"https://{HOST}:{self.port}",
                "STATIC_ROOT": str(self.tmp / "static"),
                "EMAIL_URL": "dummymail://",
                "SITE_URL": f"https://{HOST}:{self.port}",
                "BENCH": "true",
                # The per-key limit (1,200/min by default) would answer 429 to a load
                # generator within seconds. Kept on, so its cost stays in the measured
                # path, but never reached.
                "API_RATE_LIMIT": "100000000/min",
                "LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra)
        return env

    def manage(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(  # noqa: S603
            [PYTHON, *args],
            cwd=ROOT,
            env=self.env(PROCESS_ROLE="bench"),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr}")
        return done.stdout

    def start(self, name: str, argv: list[str], **env: str) -> Process:
        process = Process(name, argv, self.env(**env), self.tmp)
        self.processes.append(process)
        return process

    def start_web(self, name: str = "web", port: int | None = None, **config: str) -> Process:
        env = {**self.web_config, **config}
        return self.start(
            name,
            [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
            PORT=str(port or self.port),
            HOST=HOST,
            PROCESS_ROLE="web",
            # The soak measures growth, so recycling must not hide it.
            WEB_MAX_REQUESTS="0",
            **env,
        )

    def client(
        self, *, keep_cookies: bool = False, port: int | None = None, **headers: str
    ) -> Client:
        return Client(
            HOST,
            port or self.port,
            {"X-Forwarded-Proto": "https", **headers},
            keep_cookies=keep_cookies,
        )

    def api_headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Api-Key {key or self.seed['staff_api_key']}"}

    def figure(self, name: str, value: Any, goal: str, ok: bool | None, unit: str = "") -> None:
        self.results["figures"].append(
            {"name": name, "value": value, "unit": unit, "goal": goal, "ok": ok}
        )

    # -- steps -----------------------------------------------------------------------

    def prepare(self) -> None:
        """The release step (bin/release) and the seed. collectstatic (hashing and
        brotli, CPU-bound, no database) runs beside the database steps."""
        timings = self.results["details"].setdefault("prepare_seconds", {})
        collect_started = time.perf_counter()
        collect = subprocess.Popen(  # noqa: S603
            [PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=self.env(PROCESS_ROLE="release"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            for name, args in (
                ("migrate", ("migrate", "--noinput", "-v0")),
                ("createcachetable", ("createcachetable",)),
            ):
                started = time.perf_counter()
                if name == "migrate":
                    ensure_database(self.db_url)
                self.manage("manage.py", *args)
                timings[name] = round(time.perf_counter() - started, 2)
            self._seed()
        finally:
            output, _ = collect.communicate(timeout=600)
        timings["collectstatic"] = round(time.perf_counter() - collect_started, 2)
        if collect.returncode != 0:
            raise RuntimeError(f"collectstatic failed:\n{output.decode(errors='replace')[-3000:]}")

    def _seed(self) -> None:
        started = time.perf_counter()
        out = self.manage(
            "-m",
            "bench.seed",
            "--bookings",
            str(self.profile.bookings),
            "--password",
            self.password,
        )
        self.seed = orjson.loads(out.strip().splitlines()[-1])
        self.results["details"]["seed"] = {
            "bookings": self.seed["bookings"],
            "items": self.seed["items"],
            "seconds": round(time.perf_counter() - started, 2),
        }

    def wait_for(
        self,
        process: Process,
        path: str,
        headers: dict[str, str],
        limit: float,
        port: int | None = None,
    ) -> float:
        """Seconds from the process start to the first 200 on ``path``."""
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline:
            if not process.alive():
                raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
            client = self.client(port=port, **headers)
            try:
                if client.request("GET", path).status == 200:
                    return time.perf_counter() - process.started
            except OSError:
                pass
            finally:
                client.close()
            time.sleep(0.02)
        raise RuntimeError(f"{process.name} gave no 200 on {path} in {limit}s:\n{process.tail()}")

    def api_available(self) -> bool:
        client = self.client(**self.api_headers())
        try:
            response = client.request("GET", API_LIST)
        finally:
            client.close()
        return response.status == 200

    def cold_start(self) -> Process:
        web = self.start_web()
        path, headers = (API_LIST, self.api_headers()) if self._api_route() else ("/readyz", {})
        seconds = self.wait_for(web, path, headers, limit=60)
        self.results["details"]["cold_start"] = {"path": path.split("?")[0]}
        self.figure("Cold start to first 200", round(seconds, 2), "< 5 s (own)", seconds < 5, "s")
        return web

    def _api_route(self) -> bool:
        """Whether the API's bookings list exists yet (it is built by another part)."""
        try:
            done = subprocess.run(  # noqa: S603
                [
                    PYTHON,
                    "-c",
                    "import django; django.setup(); from django.urls import resolve; "
                    "resolve('/api/v1/bookings/')",
                ],
                cwd=ROOT,
                env=self.env(),
                capture_output=True,
                timeout=60,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    def throughput(
        self, servers: dict[str, int] | None = None, pids: dict[str, int] | None = None
    ) -> dict[str, Any]:
        """Interleaved rounds of baseline and API on each server; medians and ratios.

        ``servers`` maps a label to a port; the first is the repository's configuration,
        a second (the other worker class) is measured in the same rounds, so both see
        the same swings of a shared machine's load.
        """
        p = self.profile
        servers = servers or {self._label(self.web_config): self.port}
        headers = {"X-Forwarded-Proto": "https"}
        kinds = {"baseline": (BASELINE, headers)}
        if self.results["details"].get("api_available"):
            kinds["api"] = (API_LIST, {**headers, **self.api_headers()})
        use_wrk = loadgen.wrk_available()
        rounds: dict[str, dict[str, list[dict[str, Any]]]] = {
            label: defaultdict(list) for label in servers
        }
        # Warm every path (imports, plans, connections) before measuring.
        for port in servers.values():
            for path, h in kinds.values():
                self._python_throughput(path, h, seconds=min(1.0, p.throughput_seconds), port=port)
        for _ in range(p.throughput_rounds):
            for label, port in servers.items():
                for kind, (path, h) in kinds.items():
                    if use_wrk:
                        web_pid = (pids or {}).get(label)
                        before = cpu_snapshot(web_pid) if web_pid else None
                        result = loadgen.wrk_throughput(
                            url=f"http://{HOST}:{port}{path}",
                            headers=h,
                            seconds=p.throughput_seconds,
                        )
                        if before is not None and result["requests"]:
                            after = cpu_snapshot(web_pid)
                            result["cpu_ms_per_request"] = {
                                part: round(
                                    1000 * (after[part] - before[part]) / result["requests"], 3
                                )
                                for part in before
                            }
                    else:
                        result = self._python_throughput(
                            path, h, seconds=p.throughput_seconds, port=port
                        )
                    if result.get("non_2xx") or result.get("socket_errors"):
                        raise RuntimeError(f"{label} {kind} answered errors under load: {result}")
                    rounds[label][kind].append(result)
        per_server = {label: _rates(runs) for label, runs in rounds.items()}
        chosen, *others = servers
        summary: dict[str, Any] = {
            "load_generator": "wrk -t2 -c8" if use_wrk else "python, 8 connections",
            "seconds_per_round": p.throughput_seconds,
            "server": chosen,
            **per_server[chosen],
            "rounds": {label: dict(runs) for label, runs in rounds.items()},
        }
        for other in others:
            comparison = {"chosen": chosen, chosen: per_server[chosen], other: per_server[other]}
            for kind in kinds:
                # Per round, the other server's rate over the chosen one's.
                pairs = zip(rounds[chosen][kind], rounds[other][kind], strict=True)
                ratios = [o["rps"] / c["rps"] for c, o in pairs if c["rps"]]
                comparison[f"{kind}_other_over_chosen"] = round(_median(ratios), 3)
            summary.setdefault("comparison", {})[other] = comparison
        return summary

    def _python_throughput(
        self, path: str, headers: dict[str, str], *, seconds: float, port: int | None = None
    ) -> dict:
        stats = loadgen.closed_loop(
            make_client=lambda: self.client(port=port, **headers),
            plan=[("get", lambda c: c.request("GET", path))],
            concurrency=8,
            duration=seconds,
        )
        summary = stats.summary()
        return {
            "rps": summary["rps"],
            "requests": stats.requests,
            "non_2xx": sum(n for s, n in stats.statuses.items() if s >= 300),
            "socket_errors": sum(stats.errors.values()),
        }

    def latency(self) -> None:
        p = self.profile
        if not self.results["details"].get("api_available"):
            self.figure("API p50 / p99 latency", "missing", "API not built yet", None)
            return
        headers = self.api_headers()
        stats = loadgen.constant_rate(
            make_client=lambda: self.client(**headers),
            step=("api list", lambda c: c.request("GET", API_LIST)),
            rate=p.latency_rate,
            duration=p.latency_seconds,
        )
        summary = stats.summary()
        summary["rate_per_second"] = p.latency_rate
        self.results["details"]["latency"] = summary
        ok = stats.bad == 0 and summary["p99_ms"] < 250
        self.figure(
            f"API p50 latency at {p.latency_rate:g} req/s",
            summary["p50_ms"],
            "reported",
            stats.bad == 0,
            "ms",
        )
        self.figure(
            f"API p99 latency at {p.latency_rate:g} req/s",
            summary["p99_ms"],
            "< 250 ms (own)",
            ok,
            "ms",
        )

    def compression(self) -> None:
        """Bytes of one API page plain, gzip and brotli (what a client downloads)."""
        if not self.results["details"].get("api_available"):
            return
        sizes = {}
        for coding in ("identity", "gzip", "br"):
            client = self.client(**self.api_headers(), **{"Accept-Encoding": coding})
            try:
                response = client.request("GET", API_LIST)
            finally:
                client.close()
            sizes[coding] = {
                "bytes": len(response.body),
                "content_encoding": response.headers.get("content-encoding", "identity"),
            }
        self.results["details"]["api_page_bytes"] = sizes
        plain = sizes["identity"]["bytes"]
        brotli_bytes = sizes["br"]["bytes"]
        self.figure(
            "API page compressed (br / plain)",
            f"{brotli_bytes} / {plain}",
            "compressed when accepted",
            sizes["br"]["content_encoding"] == "br" and sizes["gzip"]["content_encoding"] == "gzip",
            "bytes",
        )

    # -- the soak ----------------------------------------------------------------------

    def login(self, username: str, path: str = "/accounts/login/") -> dict[str, str]:
        client = self.client(keep_cookies=True, Origin=f"https://{HOST}:{self.port}")
        client_cookies = client.cookies
        try:
            page = client.request("GET", path)
            match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
            if page.status != 200 or not match:
                raise RuntimeError(f"no login form at {path} ({page.status})")
            form = (
                f"username={username}&password={self.password}"
                f"&csrfmiddlewaretoken={match.group(1).decode()}"
            ).encode()
            done = client.request(
                "POST",
                path,
                body=form,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Referer": f"https://{HOST}:{self.port}{path}",
                },
            )
            if done.status != 302 or "sessionid" not in client_cookies:
                raise RuntimeError(f"login as {username} failed ({done.status})")
            return {"Cookie": f"sessionid={client_cookies['sessionid']}"}
        finally:
            client.close()

    def soak_plan(self) -> tuple[list[loadgen.Step], dict[str, str]]:
        s = self.seed
        staff = self.api_headers()
        broker_key = self.api_headers(s["broker_api_key"])
        vendor_key = self.api_headers(s["vendor_api_key"])
        refs = s["broker_references"] or ["none"]
        items = s["vendor_item_ids"] or [0]
        created: list[str] = []
        lock = threading.Lock()
        counter = iter(range(10**9))

        def pick(seq: list[Any]) -> Any:
            with lock:
                return seq[next(counter) % len(seq)]

        def get(path: str, headers: dict[str, str]) -> Any:
            return lambda c: c.request("GET", path, headers=headers)

        def get_ref(template: str, headers: dict[str, str]) -> Any:
            return lambda c: c.request("GET", template.format(pick(refs)), headers=headers)

        def create(c: Client) -> Response:
            now = dt.datetime.now(dt.UTC)
            body = {
                "customer_name": "Soak customer",
                "customer_email": "soak@bench.invalid",
                "currency": "EUR",
                "notes": SOAK_NOTES,
                "items": [
                    {
                        "service_type": "transfer",
                        "description": "Soak transfer",
                        "start": (now + dt.timedelta(days=30)).isoformat(),
                        "end": (now + dt.timedelta(days=30, hours=1)).isoformat(),
                        "quantity": 1,
                        "unit_price": "40.00",
                        "unit_cost": "25.00",
                    }
                ],
            }
            response = c.request(
                "POST",
                "/api/v1/bookings/",
                body=orjson.dumps(body),
                headers={**staff, "Content-Type": "application/json"},
            )
            if response.status == 201:
                with lock:
                    created.append(orjson.loads(response.body)["reference"])
            return response

        def submit(c: Client) -> Response:
            with lock:
                reference = created.pop() if created else None
            if reference is None:
                return create(c)
            return c.request(
                "POST", f"/api/v1/bookings/{reference}/submit/", body=b"{}", headers=staff
            )

        broker_session: dict[str, str] = {}
        staff_session: dict[str, str] = {}
        skipped: dict[str, str] = {}
        # Sessions made once, as a browser keeps one. Staff log in through the admin;
        # partners through the portal's login page.
        try:
            staff_session = self.login(s["staff_username"], "/admin/login/")
        except RuntimeError as exc:
            skipped["staff login"] = str(exc)
        try:
            broker_session = self.login(s["broker_username"])
        except RuntimeError as exc:
            skipped["broker login"] = str(exc)
        broker_list = "/api/v1/bookings/?page_size=20"
        vendor_items = "/api/v1/booking-items/?page_size=20"

        def item_detail(c: Client) -> Response:
            return c.request("GET", f"/api/v1/booking-items/{pick(items)}/", headers=vendor_key)

        candidates: list[tuple[int, loadgen.Step]] = [
            (4, ("api bookings list (staff key)", get(API_LIST, staff))),
            (2, ("api bookings list (broker key)", get(broker_list, broker_key))),
            (3, ("api booking detail", get_ref("/api/v1/bookings/{}/", broker_key))),
            (2, ("api items list (vendor key)", get(vendor_items, vendor_key))),
            (1, ("api item detail", item_detail)),
            (1, ("admin bookings changelist", get("/admin/bookings/booking/", staff_session))),
            (1, ("admin booking search", get_ref("/admin/bookings/booking/?q={}", staff_session))),
            (2, ("portal dashboard", get("/portal/", broker_session))),
            (2, ("portal booking page", get_ref("/portal/bookings/{}/", broker_session))),
            (1, ("api create booking", create)),
            (1, ("api submit booking", submit)),
        ]
        plan: list[loadgen.Step] = []
        probe = self.client()
        try:
            for weight, (name, send) in candidates:
                try:
                    response = send(probe)
                except OSError as exc:
                    skipped[name] = exc.__class__.__name__
                    continue
                # A redirect here is the login page: the part is not answering yet.
                if response.status >= 300:
                    skipped[name] = f"HTTP {response.status}"
                    continue
                plan.extend([(name, send)] * weight)
        finally:
            probe.close()
        # Spread the weights so each stretch of the plan mixes every kind.
        mixed = [plan[i] for i in _interleave(len(plan))]
        return mixed, skipped

    def soak(self, web: Process, monitor: ConnectionMonitor) -> None:
        p = self.profile
        # The production worker's own start command (bin/worker), as in the pipeline.
        worker = self.start(
            "worker", [str(ROOT / "bin" / "worker")], PROCESS_ROLE="worker", PYTHON=PYTHON
        )
        time.sleep(1.5)  # let the cluster fork its processes before counting them
        plan, skipped = self.soak_plan()
        if not plan:
            raise RuntimeError("soak: no request of the mix answered")
        connections: dict[str, Any] = {"at_start": monitor.snapshot()}

        def run(total: int) -> loadgen.Stats:
            return loadgen.closed_loop(
                make_client=self.client,
                plan=plan,
                concurrency=p.soak_concurrency,
                total=total,
                expect=lambda name, r: r.status < 400,
            )

        warm = run(p.warmup_requests)
        workers = children(web.pid)
        rss_warm = {pid: rss_mib(pid) for pid in workers}
        connections["before"] = monitor.snapshot()
        monitor.start()
        stats = run(p.soak_requests)
        connections["during"] = monitor.stop()
        rss_end = {pid: rss_mib(pid) for pid in children(web.pid)}
        time.sleep(2)
        connections["after"] = monitor.snapshot()
        queue_processes = 1 + len(descendants(worker.pid))
        web_threads = int(self.web_config["WEB_CONCURRENCY"]) * int(self.web_config["WEB_THREADS"])
        limit = web_threads + queue_processes + 2
        recycled = sorted(set(workers) ^ set(rss_end))
        growth = {
            str(pid): round((rss_end.get(pid) or 0) - (rss_warm[pid] or 0), 2)
            for pid in workers
            if pid in rss_end
        }
        summary = stats.summary()
        summary.pop("by_request", None)
        self.results["details"]["soak"] = {
            "requests": summary,
            "warmup": {"requests": warm.requests, "bad": warm.bad},
            "mix": dict(stats.by_name),
            "skipped_requests": skipped,
            "rss_mib_after_warmup": {str(k): v for k, v in rss_warm.items()},
            "rss_mib_at_end": {str(k): v for k, v in rss_end.items()},
            "rss_total_mib": round(sum(v or 0 for v in rss_end.values()), 1),
            "rss_growth_mib": growth,
            "workers_recycled": recycled,
            "connections": connections,
            "connection_limit": {
                "web_threads": web_threads,
                "queue_processes": queue_processes,
                "limit": limit,
            },
        }
        if skipped:
            self.results["notes"].append(
                "soak left out (not answering yet): " + ", ".join(sorted(skipped))
            )
        max_growth = max(growth.values(), default=None)
        self.figure(
            f"Soak: {stats.requests:,} mixed requests, errors",
            stats.bad,
            "0",
            stats.bad == 0 and stats.requests >= p.soak_requests,
        )
        self.figure(
            "Soak: RSS growth per worker (max)",
            max_growth,
            "< 5 MiB",
            max_growth is not None and max_growth < 5 and not recycled,
            "MiB",
        )
        during = connections["during"]["max_total"]
        self.figure(
            "DB connections before / max during / after",
            f"{connections['before']['total']} / {during} / {connections['after']['total']}",
            f"max <= {limit} ({web_threads} threads + {queue_processes} queue processes + 2); "
            "after: all idle",
            during <= limit and _all_idle(connections["after"]),
        )
        ready = self.client()
        try:
            readyz = ready.request("GET", "/readyz")
        finally:
            ready.close()
        self.results["details"]["readyz_after_soak"] = {
            "status": readyz.status,
            "body": orjson.loads(readyz.body) if readyz.body.startswith(b"{") else None,
        }
        worker_stop = worker.stop()
        self.results["details"]["worker_stop"] = worker_stop

    def pipeline(self) -> None:
        """``python -m bench.pipeline``: bin/worker, the stand-ins, a burst and a paced
        run; with the ORM broker (the default), and on Redis too in a full run when
        Redis answers on loopback (``BENCH_REDIS_URL``), the scale-out setup."""
        self._pipeline("orm", {})
        redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
        if self.profile is not QUICK and _redis_answers(redis_url):
            # A queue name of its own: nothing else's tasks, nothing left for others.
            self._pipeline("redis", {"REDIS_URL": redis_url, "Q_NAME": f"bench{self.run_id}"})

    def webhooks(self) -> None:
        """``python -m bench.webhooks``: a booking change committed -> a signed POST
        received by a loopback receiver, through bin/worker (ORM broker)."""
        p = self.profile
        argv = [PYTHON, "-m", "bench.webhooks", "--count", str(max(2, p.pipeline_count // 2))]
        argv += ["--rate", f"{p.pipeline_rate:g}"]
        if self.q_workers:
            argv += ["--q-workers", str(self.q_workers)]
        if p is QUICK:
            argv.append("--quick")
        done = subprocess.run(  # noqa: S603
            argv,
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        data = _last_json(done.stdout)
        if data is None or "burst" not in data:
            raise RuntimeError(
                f"bench.webhooks failed ({done.returncode}):\n{done.stdout[-1500:]}"
                f"{done.stderr[-3000:]}"
            )
        self.results["details"]["webhooks"] = data
        burst, paced = data["burst"], data["paced"]
        setup = f"{data['broker'].upper()} broker, Q_WORKERS={data['q_workers']}"
        rate = burst["per_second"]
        self.figure(
            f"Webhooks delivered per second (burst of {burst['count']:,}; {setup})",
            rate,
            "reported",
            rate is not None,
            "/s",
        )
        at = f"{paced['count']:,} at {paced['rate_per_second']:g}/s; {setup}"
        self.figure(f"Webhook commit->received p50 ({at})", paced["p50_ms"], "reported", True, "ms")
        self.figure(
            f"Webhook commit->received p95 ({at})",
            paced["p95_ms"],
            "< 1 s",
            paced["p95_ms"] < 1000,
            "ms",
        )
        once = data["exactly_once"]
        self.figure(
            "Webhooks received exactly once, signatures valid",
            f"{once['received']:,} / {once['expected']:,}",
            "each once",
            once["ok"] and data["worker_stop"]["clean"],
        )

    def _pipeline(self, broker: str, extra_env: dict[str, str]) -> None:
        p = self.profile
        argv = [PYTHON, "-m", "bench.pipeline", "--count", str(p.pipeline_count)]
        argv += ["--rate", f"{p.pipeline_rate:g}"]
        if self.q_workers:
            argv += ["--q-workers", str(self.q_workers)]
        if p is QUICK:
            argv.append("--quick")
        done = subprocess.run(  # noqa: S603
            argv,
            cwd=ROOT,
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        data = _last_json(done.stdout)
        if data is None or "burst" not in data:
            raise RuntimeError(
                f"bench.pipeline ({broker}) failed ({done.returncode}):\n{done.stdout[-1500:]}"
                f"{done.stderr[-3000:]}"
            )
        key = "pipeline" if broker == "orm" else f"pipeline_{broker}"
        self.results["details"][key] = data
        burst, paced = data["burst"], data["paced"]
        setup = f"{data['broker'].upper()} broker, Q_WORKERS={data['q_workers']}"
        rate = burst["per_second"]
        self.figure(
            f"Notifications delivered per second (burst of {burst['count']:,}; {setup})",
            rate,
            ">= 100 /s",
            rate is not None and rate >= 100,
            "/s",
        )
        at = f"{paced['count']:,} at {paced['rate_per_second']:g}/s; {setup}"
        self.figure(
            f"Notification commit->sent p50 ({at})", paced["p50_ms"], "reported", True, "ms"
        )
        self.figure(
            f"Notification commit->sent p95 ({at})",
            paced["p95_ms"],
            "< 1 s",
            paced["p95_ms"] < 1000,
            "ms",
        )
        once = data["exactly_once"]
        self.figure(
            f"Notifications sent exactly once ({data['broker'].upper()} broker)",
            f"{once['accepted']:,} / {once['expected']:,}",
            "each once",
            once["ok"] and data["worker_stop"]["clean"],
        )
        cut = data["interruptions"]
        self.figure(
            f"Notification sends interrupted / resent / held ({data['broker'].upper()} broker)",
            f"{cut['interrupted']:,} / {cut['resent']:,} / {cut['held']:,}",
            "counted; every 2nd copy flagged",
            cut["ok"],
        )
        crash = data.get("crash")
        if crash:
            self.figure(
                f"SIGKILL mid-send, restart ({data['broker'].upper()} broker): "
                "lost / interrupted / resent / held",
                f"{crash['lost']} / {crash['interrupted']} / {crash['resent']} / {crash['held']}",
                "0 lost; each send in flight interrupted; every 2nd copy flagged",
                crash["ok"],
            )

    def read_web_config(self) -> dict[str, str]:
        """The worker class, workers and threads gunicorn.conf.py gives under this run's
        environment (what `bin/web` would start)."""
        code = (
            "import json, runpy; c = runpy.run_path('gunicorn.conf.py'); "
            "print(json.dumps({'WEB_WORKER_CLASS': c['_worker_class_name'], "
            "'WEB_CONCURRENCY': str(c['workers']), 'WEB_THREADS': str(c['threads'])}))"
        )
        done = subprocess.run(  # noqa: S603
            [PYTHON, "-c", code],
            cwd=ROOT,
            env=self.env(PROCESS_ROLE="web"),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    @staticmethod
    def _label(config: dict[str, str]) -> str:
        if config["WEB_WORKER_CLASS"] == "sync":
            return f"sync x{config['WEB_CONCURRENCY']}"
        return f"{config['WEB_WORKER_CLASS']} {config['WEB_CONCURRENCY']}x{config['WEB_THREADS']}"

    def other_web_config(self) -> dict[str, str]:
        """The worker class gunicorn.conf.py did not choose, to compare against: sync
        with 2 x cores + 1 processes, or gthread with 3 processes x 2 threads."""
        if self.web_config["WEB_WORKER_CLASS"] == "sync":
            return {"WEB_WORKER_CLASS": "gthread", "WEB_CONCURRENCY": "3", "WEB_THREADS": "2"}
        workers = str(2 * (os.cpu_count() or 1) + 1)
        return {"WEB_WORKER_CLASS": "sync", "WEB_CONCURRENCY": workers, "WEB_THREADS": "1"}

    def start_other_web(self) -> tuple[Process, str, int]:
        other = self.other_web_config()
        port = self.port + 1
        web = self.start_web("web-other", port=port, **other)
        path, headers = (
            (API_LIST, self.api_headers())
            if self.results["details"].get("api_available")
            else ("/readyz", {})
        )
        self.wait_for(web, path, headers, limit=60, port=port)
        return web, self._label(other), port

    # -- the whole run -------------------------------------------------------------------

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Times a step of the run (results "step_seconds") and says it on stderr."""
        print(f"bench: {name}...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds = round(time.perf_counter() - started, 1)
            self.results.setdefault("step_seconds", {})[name] = seconds

    def run(self) -> dict[str, Any]:
        p = self.profile
        started = time.perf_counter()
        self.web_config = self.read_web_config()
        self.results.update(
            {
                "mode": p.name,
                "run_id": self.run_id,
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": machine(),
                "database": urlsplit(self.db_url).path.lstrip("/"),
                "web": {
                    "config": "gunicorn.conf.py",
                    **self.web_config,
                    "WEB_MAX_REQUESTS": "0 (off, so growth is measured)",
                },
            }
        )
        details = self.results["details"]
        details["stops"] = {}
        # The machine is shared: how busy it was is part of every figure.
        self.results["load_average"] = {"start": _loadavg()}
        with self.step("prepare"):
            self.prepare()
        with self.step("pipeline"):
            self.pipeline()
        with self.step("webhooks"):
            self.webhooks()
        details["vacuum_analyze_seconds"] = vacuum_analyze(self.db_url)
        monitor = ConnectionMonitor(self.db_url)
        try:
            with self.step("cold start"):
                web = self.cold_start()
            details["api_available"] = self.api_available()
            if not details["api_available"]:
                self.results["notes"].append("/api/v1/bookings/ does not answer 200 yet (issue 5)")
            with self.step("throughput"):
                servers = {self._label(self.web_config): self.port}
                other = None
                if p.compare_workers:
                    other, label, port = self.start_other_web()
                    servers[label] = port
                pids = {self._label(self.web_config): web.pid}
                if other is not None:
                    pids[label] = other.pid
                try:
                    tp = self.throughput(servers, pids)
                finally:
                    if other is not None:
                        rss = [rss_mib(pid) for pid in children(other.pid)]
                        details["stops"]["web-other"] = other.stop()
                if other is not None:
                    comparison = tp["comparison"][label]
                    comparison[label]["rss_mib_total"] = round(sum(r or 0 for r in rss), 1)
                    comparison[comparison["chosen"]]["rss_mib_total"] = round(
                        sum(rss_mib(pid) or 0 for pid in children(web.pid)), 1
                    )
                    details["worker_class_comparison"] = comparison
            details["throughput"] = tp
            if tp.get("ratio") is not None:
                self.figure(
                    "API throughput ratio (api / baseline)",
                    tp["ratio"],
                    ">= 0.6",
                    tp["ratio"] >= 0.6,
                )
                self.figure("API list req/s (page of 50)", tp["api_rps"], "reported", True, "/s")
            else:
                self.figure("API throughput ratio (api / baseline)", "missing", ">= 0.6", None)
            self.figure("Baseline req/s (.values(), 50 rows)", tp["baseline_rps"], "reported", True)
            cpu = tp.get("cpu_ms_per_request", {})
            for kind, name in (("api", "API list"), ("baseline", "baseline")):
                if kind in cpu:
                    self.figure(
                        f"CPU per request, {name}: gunicorn / PostgreSQL / wrk / machine",
                        " / ".join(str(cpu[kind][part]) for part in cpu[kind]),
                        "reported",
                        True,
                        "ms",
                    )
            self.compression()
            with self.step("latency"):
                self.latency()
            with self.step("soak"):
                self.soak(web, monitor)
            details["stops"]["web"] = web.stop()
            after_stop = monitor.snapshot()
            details["connections_after_stop"] = after_stop
        finally:
            for process in self.processes:
                details["stops"].setdefault(process.name, process.stop())
            monitor.close()
        leftovers = processes_with_marker(self.run_id)
        web_left = after_stop["by_application"].get("bookings-web", {})
        clean = all(s["clean"] for s in details["stops"].values()) and not leftovers
        self.figure(
            "Clean stop (SIGTERM) and nothing left running",
            "yes" if clean else f"no: {leftovers or details['stops']}",
            "yes",
            clean,
        )
        self.figure(
            "Web DB connections after gunicorn stopped",
            sum(web_left.values()),
            "0",
            not web_left,
        )
        self.results["load_average"]["end"] = _loadavg()
        self.results["seconds"] = round(time.perf_counter() - started, 1)
        return self.results

    def run_scale(self, *, bookings: int, rebuild: bool) -> dict[str, Any]:
        """The scale step alone (``--scale``, see bench/scale.py)."""
        from bench import scale

        started = time.perf_counter()
        self.web_config = self.read_web_config()
        self.results["load_average"] = {"start": _loadavg()}
        measured = scale.run(self, bookings=bookings, rebuild=rebuild)
        self.results["load_average"]["end"] = _loadavg()
        return {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": "make bench BENCH_ARGS=--scale",
            "machine": machine(),
            "web": {"config": "gunicorn.conf.py", **self.web_config},
            "load_average": self.results["load_average"],
            "step_seconds": self.results.get("step_seconds", {}),
            "seconds": round(time.perf_counter() - started, 1),
            "stops": self.results["details"].get("stops", {}),
            **measured,
        }

    def cleanup(self) -> None:
        for process in self.processes:
            process.stop(timeout=10)
        if self.keep_logs:
            print(f"logs kept in {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _rates(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Median req/s per kind and, when the API ran, the median of the rounds' ratios:
    each round's API run follows its baseline run within seconds, so the machine's
    load (shared) swings less within a round than across rounds."""
    rates: dict[str, Any] = {
        f"{kind}_rps": round(_median([r["rps"] for r in results]), 1)
        for kind, results in runs.items()
    }
    if "api" in runs:
        ratios = [
            a["rps"] / b["rps"]
            for b, a in zip(runs["baseline"], runs["api"], strict=True)
            if b["rps"]
        ]
        rates["round_ratios"] = [round(r, 3) for r in ratios]
        rates["ratio"] = round(_median(ratios), 3) if ratios else None
    # Where each request's CPU goes (median over the rounds): the gunicorn workers,
    # PostgreSQL, wrk and the whole machine, per kind of request.
    cpu = {
        kind: {
            part: round(_median([r["cpu_ms_per_request"][part] for r in results]), 3)
            for part in results[0]["cpu_ms_per_request"]
        }
        for kind, results in runs.items()
        if results and all("cpu_ms_per_request" in r for r in results)
    }
    if cpu:
        rates["cpu_ms_per_request"] = cpu
    return rates


def _redis_answers(url: str) -> bool:
    """Whether a Redis server answers PING at this loopback URL."""
    parts = urlsplit(url)
    if parts.hostname not in loadgen.LOOPBACK:
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _interleave(n: int) -> Iterator[int]:
    """Indices 0..n-1 in a stride order that spreads neighbours apart."""
    stride = next((s for s in (7, 11, 13, 17, 19, 23) if n % s), 1) if n > 1 else 1
    return ((i * stride) % n for i in range(n))


def _all_idle(snapshot: dict[str, Any]) -> bool:
    """No connection of our processes is stuck in a transaction or a query."""
    for app, states in snapshot["by_application"].items():
        if app == "bookings-web" and set(states) - {"idle"}:
            return False
        if app.startswith("bookings-") and "idle in transaction" in states:
            return False
    return True


def _last_json(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                return json.loads(line)
    with contextlib.suppress(ValueError):
        value = json.loads(text)
        return value if isinstance(value, dict) else None
    return None


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        mem_gib = round(int(first.split()[1]) / 1024 / 1024, 1)
    pg = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        pg = subprocess.run(
            ["psql", "--version"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql_client": pg,
        "load_generator": "wrk" if loadgen.wrk_available() else "python",
    }


def table(results: dict[str, Any]) -> str:
    rows = [("figure", "value", "goal", "ok")]
    for f in results["figures"]:
        value = f["value"]
        if isinstance(value, float):
            value = f"{value:,.3f}".rstrip("0").rstrip(".") if value < 10 else f"{value:,.1f}"
        shown = f"{value} {f['unit']}".strip()
        ok = {True: "yes", False: "NO", None: "-"}[f["ok"]]
        rows.append((f["name"], shown, f["goal"], ok))
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    m = results.get("machine", {})
    head = (
        f"make bench ({results.get('mode')}) {results.get('date')} on {m.get('cpu')}, "
        f"{m.get('cores')} cores, {m.get('memory_gib')} GiB; load: {m.get('load_generator')}"
    )
    load = results.get("load_average", {})
    if load:
        head += f"; load average (1/5/15 min) at start {load.get('start')}, end {load.get('end')}"
    notes = "".join(f"\nnote: {n}" for n in results.get("notes", []))
    return f"{head}\n" + "\n".join(lines) + notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Production figures for this project.")
    parser.add_argument("--quick", action="store_true", help="tiny counts, for CI")
    parser.add_argument("--out", type=Path, default=None, help=f"default {RESULTS}")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8799")))
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument(
        "--q-workers", type=int, default=None, help="Q_WORKERS of the pipeline's cluster"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="only the scale step: every list at a million bookings against the demo size "
        "(kept database bench_scale; results under 'scale' in bench/results.json)",
    )
    parser.add_argument("--scale-bookings", type=int, default=1_000_000)
    parser.add_argument(
        "--rebuild-scale", action="store_true", help="load the large database again"
    )
    args = parser.parse_args(argv)
    if args.scale:
        return _main_scale(args)
    profile = QUICK if args.quick else FULL
    # A quick run's figures mean nothing: they never replace the committed results.
    quick_out = Path(tempfile.gettempdir()) / "bench-quick.json"
    out = args.out or (quick_out if args.quick else RESULTS)
    bench = Bench(profile, port=args.port, keep_logs=args.keep_logs, q_workers=args.q_workers)

    def interrupted(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        results = bench.run()
    except BaseException:
        for process in bench.processes:
            if process.stop_result is None or not process.stop_result["clean"]:
                print(f"--- {process.name} log tail ---\n{process.tail()}", file=sys.stderr)
        # What was measured before the failure, for the post-mortem (never over the
        # last complete results).
        partial = Path(tempfile.gettempdir()) / f"bench-{profile.name}.partial.json"
        partial.write_bytes(orjson.dumps(bench.results, option=orjson.OPT_INDENT_2) + b"\n")
        print(f"partial results in {partial}", file=sys.stderr)
        raise
    finally:
        bench.cleanup()
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    print(table(results))
    print(f"\nwritten to {out}")
    missed = [f["name"] for f in results["figures"] if f["ok"] is False]
    return 1 if (args.strict and missed) else 0


def _main_scale(args: argparse.Namespace) -> int:
    from bench import scale

    out = args.out or RESULTS
    bench = Bench(FULL, port=args.port, keep_logs=args.keep_logs)
    try:
        measured = bench.run_scale(bookings=args.scale_bookings, rebuild=args.rebuild_scale)
    finally:
        bench.cleanup()
    # Beside the last full run's figures, which stay as they are.
    results = orjson.loads(out.read_bytes()) if out.exists() else {}
    results["scale"] = measured
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    print(scale.table(measured))
    print(f"\nwritten to {out} (under 'scale')")
    missed = [name for name, m in measured["pages"].items() if not m["ok"]]
    return 1 if (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())

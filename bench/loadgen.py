"""Load generators for the bench: wrk for throughput, Python clients for the rest.

- ``wrk_throughput``: closed-loop requests per second (wrk, when installed).
- ``closed_loop``: the Python fallback for throughput, and the soak's driver (a
  weighted mix of requests, every status checked).
- ``constant_rate``: an open-loop client that sends at a fixed rate and measures each
  latency from the moment the request was *due*, so a stalled server shows up in the
  percentiles instead of silently slowing the client down (wrk's own latencies hide
  that queueing).

Everything targets loopback only, and every loop is bounded by a count or a time.
"""

from __future__ import annotations

import http.client
import itertools
import queue
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]


class Client:
    """One keep-alive HTTP/1.1 connection with a cookie jar, for one thread."""

    def __init__(
        self,
        host: str,
        port: int,
        headers: dict[str, str] | None = None,
        *,
        keep_cookies: bool = False,
    ) -> None:
        if host not in LOOPBACK:
            raise ValueError("the bench only talks to loopback")
        self.host, self.port = host, port
        self.headers = dict(headers or {})
        # Load clients send the cookies their steps give; only a login keeps a jar.
        self.keep_cookies = keep_cookies
        self.cookies: dict[str, str] = {}
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        all_headers = {**self.headers, **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            reused = self._conn is not None
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self._conn.request(method, path, body=body, headers=all_headers)
                raw = self._conn.getresponse()
                data = raw.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed an idle keep-alive connection before reading this
                # request: nothing was processed, so sending it again is safe.
                self.close()
                if reused and attempt == 1:
                    continue
                raise
            response_headers = {k.lower(): v for k, v in raw.getheaders()}
            for header, value in raw.getheaders():
                if self.keep_cookies and header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            if response_headers.get("connection", "").lower() == "close":
                self.close()
            return Response(raw.status, data, response_headers)
        raise RuntimeError("unreachable")  # pragma: no cover


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Stats:
    requests: int = 0
    elapsed: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    by_name: Counter[str] = field(default_factory=Counter)

    @property
    def bad(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 400) + sum(self.errors.values())

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.elapsed, 2),
            "rps": round(self.requests / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": round(percentile(self.latencies_ms, 50), 2),
            "p90_ms": round(percentile(self.latencies_ms, 90), 2),
            "p99_ms": round(percentile(self.latencies_ms, 99), 2),
            "max_ms": round(max(self.latencies_ms, default=0.0), 2),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": dict(self.errors),
            "by_request": dict(self.by_name),
        }


# A request in a plan: a name for the report and a function that sends it with a
# thread's client and returns the response (it may check the body itself).
Step = tuple[str, Callable[[Client], Response]]


def closed_loop(
    *,
    make_client: Callable[[], Client],
    plan: Sequence[Step],
    concurrency: int,
    total: int | None = None,
    duration: float | None = None,
    expect: Callable[[str, Response], bool] | None = None,
) -> Stats:
    """``concurrency`` threads send the steps of ``plan`` in turn, as fast as answered,
    until ``total`` requests were sent or ``duration`` seconds passed."""
    if total is None and duration is None:
        raise ValueError("bound the loop by total or duration")
    stats = Stats()
    lock = threading.Lock()
    counter = itertools.count()
    deadline = time.perf_counter() + duration if duration else None
    expect = expect or (lambda name, r: r.status < 400)

    def run() -> None:
        client = make_client()
        local_lat: list[float] = []
        local_status: Counter[int] = Counter()
        local_err: Counter[str] = Counter()
        local_names: Counter[str] = Counter()
        try:
            while True:
                i = next(counter)
                if total is not None and i >= total:
                    break
                if deadline is not None and time.perf_counter() >= deadline:
                    break
                name, send = plan[i % len(plan)]
                started = time.perf_counter()
                try:
                    response = send(client)
                except (OSError, http.client.HTTPException) as exc:
                    local_err[f"{name}: {exc.__class__.__name__}"] += 1
                    client.close()
                    continue
                local_lat.append((time.perf_counter() - started) * 1000)
                local_status[response.status] += 1
                local_names[name] += 1
                if not expect(name, response):
                    local_err[f"{name}: unexpected {response.status}"] += 1
        finally:
            client.close()
            with lock:
                stats.latencies_ms.extend(local_lat)
                stats.statuses.update(local_status)
                stats.errors.update(local_err)
                stats.by_name.update(local_names)

    started = time.perf_counter()
    threads = [threading.Thread(target=run, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats.elapsed = time.perf_counter() - started
    stats.requests = sum(stats.statuses.values())
    return stats


def constant_rate(
    *,
    make_client: Callable[[], Client],
    step: Step,
    rate: float,
    duration: float,
    max_in_flight: int = 32,
) -> Stats:
    """Send ``step`` at ``rate`` per second for ``duration`` seconds (open loop).

    Latency is measured from each request's scheduled time, so time spent waiting
    for a free connection (because the server is slow) counts against the server.
    """
    stats = Stats()
    lock = threading.Lock()
    due: queue.Queue[float | None] = queue.Queue()
    name, send = step
    count = int(rate * duration)

    def run() -> None:
        client = make_client()
        try:
            while True:
                scheduled = due.get()
                if scheduled is None:
                    return
                try:
                    response = send(client)
                except (OSError, http.client.HTTPException) as exc:
                    client.close()
                    with lock:
                        stats.errors[exc.__class__.__name__] += 1
                    continue
                latency = (time.perf_counter() - scheduled) * 1000
                with lock:
                    stats.latencies_ms.append(latency)
                    stats.statuses[response.status] += 1
                    stats.by_name[name] += 1
        finally:
            client.close()

    workers = [threading.Thread(target=run, daemon=True) for _ in range(max_in_flight)]
    for t in workers:
        t.start()
    start = time.perf_counter() + 0.05
    for i in range(count):
        scheduled = start + i / rate
        pause = scheduled - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        due.put(scheduled)
    for _ in workers:
        due.put(None)
    for t in workers:
        t.join(timeout=60)
    stats.elapsed = time.perf_counter() - start
    stats.requests = sum(stats.statuses.values())
    return stats


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


_WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_WRK_TOTAL = re.compile(r"(\d+) requests in")
_WRK_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def wrk_throughput(
    *, url: str, headers: dict[str, str], seconds: float, threads: int = 2, connections: int = 8
) -> dict[str, Any]:
    """Requests per second by wrk (closed loop, keep-alive)."""
    if not url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        raise ValueError("the bench only talks to loopback")
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    command.append(url)
    out = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
        command, capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    rps = float(_WRK_RPS.search(out).group(1)) if _WRK_RPS.search(out) else 0.0
    non2xx = int(m.group(1)) if (m := _WRK_NON2XX.search(out)) else 0
    total = int(m.group(1)) if (m := _WRK_TOTAL.search(out)) else 0
    socket_errors = sum(int(g) for g in m.groups()) if (m := _WRK_ERRORS.search(out)) else 0
    return {"rps": rps, "requests": total, "non_2xx": non2xx, "socket_errors": socket_errors}

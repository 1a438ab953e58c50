"""The web worker class (bookings_site/gunicorn_workers.py): gthread that, while all of
its threads are busy, leaves new connections for a while to a process with a free one,
so a burst of connections spreads over the processes instead of piling onto the first
one awake."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.run import children
from tests.production.conftest import PASSED_ENV, ROOT, free_port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = {key: os.environ[key] for key in PASSED_ENV if key in os.environ}
    env.update(
        PORT=str(port),
        HOST="127.0.0.1",
        WEB_CONCURRENCY="2",
        WEB_THREADS="2",
        WEB_MAX_REQUESTS="0",
        LOG_LEVEL="warning",
    )
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "tests.production.pid_app:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(children(process.pid)) == 2:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    pass
            time.sleep(0.1)
        else:
            pytest.fail((tmp_path / "gunicorn.log").read_text())
        time.sleep(0.5)  # both workers in their event loops
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def _send(sock: socket.socket, sleep: float) -> None:
    sock.sendall(f"GET /?sleep={sleep} HTTP/1.1\r\nHost: test\r\n\r\n".encode())


def _pid(sock: socket.socket) -> int:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, body = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200"), head
    length = int(
        next(
            line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        ).split(b":")[1]
    )
    while len(body) < length:
        body += sock.recv(4096)
    return int(body)


def test_a_burst_of_connections_is_shared_between_the_processes(server: int) -> None:
    # Four connections at once, each with a request that holds a thread: two threads
    # per process, so each process takes two and leaves the rest in the backlog.
    sockets = [socket.create_connection(("127.0.0.1", server), timeout=10) for _ in range(4)]
    try:
        for sock in sockets:
            _send(sock, 0.5)
        pids = [_pid(sock) for sock in sockets]
        assert sorted(Counter(pids).values()) == [2, 2], pids
        # Keep-alive: the next request on each connection goes to the same process.
        for sock in sockets:
            _send(sock, 0)
        assert [_pid(sock) for sock in sockets] == pids
    finally:
        for sock in sockets:
            sock.close()


def test_a_connection_past_every_free_thread_waits_and_is_served(server: int) -> None:
    sockets = [socket.create_connection(("127.0.0.1", server), timeout=10) for _ in range(5)]
    try:
        started = time.monotonic()
        for sock in sockets:
            _send(sock, 0.5)
        pids = [_pid(sock) for sock in sockets]
        assert len(set(pids)) == 2
        # The fifth waited for a thread: served after one of the first four finished.
        assert 0.5 <= time.monotonic() - started < 5
    finally:
        for sock in sockets:
            sock.close()


def test_a_new_connection_is_not_starved_by_busy_keep_alive_ones(server: int) -> None:
    # Eight keep-alive clients keep every thread of both processes busy. A ninth,
    # new connection still gets its answer promptly: a busy process holds new
    # connections back only for ACCEPT_HOLD_SECONDS, then accepts like stock gthread.
    stop = threading.Event()
    served = Counter()

    def client() -> None:
        with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
            while not stop.is_set():
                _send(sock, 0.02)
                served[_pid(sock)] += 1

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        waits = []
        for _ in range(3):
            started = time.monotonic()
            with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
                _send(sock, 0)
                _pid(sock)
            waits.append(time.monotonic() - started)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    assert sum(served.values()) > 50
    assert max(waits) < 1.0, waits

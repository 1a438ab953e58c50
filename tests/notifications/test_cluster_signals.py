"""The qcluster signal handling patches, unit by unit (the subprocess tests in
test_qcluster.py send the real signals)."""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from typing import Any

import pytest
from django_q.cluster import Cluster, Sentinel

from notifications import cluster_signals


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """install() on the real classes, undone after the test; the original
    reincarnate replaced by a recorder."""
    calls: list[Any] = []
    for name in ("sig_handler", "start"):
        monkeypatch.setattr(Cluster, name, getattr(Cluster, name))
    monkeypatch.setattr(Sentinel, "start", Sentinel.start)
    monkeypatch.setattr(Sentinel, "reincarnate", lambda self, process: calls.append(process))
    monkeypatch.setattr(cluster_signals, "_installed", False)
    assert cluster_signals.install() is True
    assert cluster_signals.install() is False  # once
    return calls


def _ignore_sigterm_and_wait() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(30)


class FakeSentinel:
    monitor = object()
    pusher = object()


def stubborn_worker(timer: int) -> Any:
    process = multiprocessing.get_context("fork").Process(target=_ignore_sigterm_and_wait)
    process.timer = multiprocessing.Value("f", timer)
    process.start()
    time.sleep(0.2)  # its handler is set
    return process


def test_a_timed_out_worker_that_ignores_sigterm_is_killed(patched: list[Any]) -> None:
    process = stubborn_worker(timer=0)
    try:
        Sentinel.reincarnate(FakeSentinel(), process)
        process.join(5)
        assert process.exitcode == -signal.SIGKILL
        assert patched == [process]  # django-q2's own reincarnation still runs
    finally:
        process.kill()


def test_a_worker_that_is_not_timed_out_is_left_to_django_q(patched: list[Any]) -> None:
    process = stubborn_worker(timer=-1)
    try:
        Sentinel.reincarnate(FakeSentinel(), process)
        process.join(0.3)
        assert process.is_alive()
        assert patched == [process]
    finally:
        process.kill()
        process.join(5)


def test_the_main_process_handler_stops_the_cluster_from_a_thread(patched: list[Any]) -> None:
    stopped = threading.Event()
    where: list[str] = []

    class FakeCluster:
        def stop(self) -> None:
            where.append(threading.current_thread().name)
            stopped.set()

    cluster = FakeCluster()
    Cluster.sig_handler(cluster, signal.SIGTERM, None)
    Cluster.sig_handler(cluster, signal.SIGTERM, None)  # a second signal: one stop
    assert stopped.wait(5)
    cluster._stop_thread.join(5)
    assert where == ["qcluster-stop"]

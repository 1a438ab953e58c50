"""gunicorn's gthread worker, leaving new connections to a process with a free thread.

Stock gthread accepts every connection it can, up to ``worker_connections`` (1,000),
whether or not a thread is free to serve it (gunicorn issues #908 and #3433). The
processes share one listening socket, so when several connections arrive together (a
load balancer opening its pool, a client's burst) the process that wakes first takes
them all: its threads queue behind one GIL while the other processes idle, and with
keep-alive that split lasts as long as the connections do. ``make bench`` saw it as
rounds at half the throughput: wrk's eight connections all on one of the two processes.

This worker, while all of its threads are busy, leaves new connections in the shared
backlog for ``ACCEPT_HOLD_SECONDS``, time for a process with a free thread to take
them. Past that it accepts as stock gthread does, so a connection is never starved
when every process is busy (the keep-alive connections a process already holds would
otherwise keep its threads busy for as long as their clients send). Keep-alive is
unchanged: connections between requests wait in the poller without holding a thread.
"""

from __future__ import annotations

import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

# How long a process whose threads are all busy leaves new connections to the others.
ACCEPT_HOLD_SECONDS = 0.05


class FairThreadWorker(ThreadWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Requests handed to the thread pool and not finished. Only the main thread
        # (the event loop) touches it: the pool reports back through method_queue.
        self.busy = 0
        # Since when every thread has been busy (None while one is free).
        self.busy_since: float | None = None

    def enqueue_req(self, conn: Any) -> None:
        self.busy += 1
        super().enqueue_req(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        self.busy -= 1
        super().finish_request(conn, fs)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        # The run loop has just decided from the connection count alone; this adds the
        # hold. Called once per loop turn, and a turn accepts at most one connection,
        # so the check is made again before the next.
        accept = self.alive and self.nr_conns < self.worker_connections
        if self.busy < self.cfg.threads:
            self.busy_since = None
        else:
            now = time.monotonic()
            if self.busy_since is None:
                self.busy_since = now
            held = now - self.busy_since
            if held < ACCEPT_HOLD_SECONDS:
                accept = False
                timeout = min(timeout, ACCEPT_HOLD_SECONDS - held)
        self.set_accept_enabled(accept)
        super().wait_for_and_dispatch_events(timeout)

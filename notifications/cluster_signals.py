"""Make ``manage.py qcluster`` stop on SIGTERM in bounded time, however it is sent.

django-q2 1.11 has two ways to hang on SIGTERM (the cluster logs "stopping." and
then waits until it is SIGKILLed):

- the main process stops the cluster from inside its signal handler: it sets a
  multiprocessing Event and joins the sentinel there, and neither is safe in signal
  context (django-q2 issue #346);
- when SIGTERM reaches the whole process group (``timeout``, systemd's default
  ``KillMode=control-group``, Heroku, a terminal), the sentinel, which resets SIGTERM
  to its default action, dies at once, possibly holding that Event's lock; the main
  process then blocks on it forever, and the workers die mid-task.

So, in the qcluster process only (``NotificationsConfig.ready``):

- the main process's handler hands the stop to a thread and returns at once; the
  main process waits for the cluster, then for that thread, before it exits;
- the sentinel ignores SIGTERM (its children inherit that), so a group-wide SIGTERM
  leaves the stop to the main process: the pusher stops, each worker finishes the
  task it holds and the few in its queue, the monitor records them, then all exit;
- because the workers now ignore SIGTERM, the guard kills a worker stuck past its
  task timeout with SIGKILL instead of SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

logger = logging.getLogger(__name__)

_installed = False


def install() -> bool:
    """Patch django-q2's Cluster and Sentinel (once). Returns whether it did."""
    global _installed
    if _installed:
        return False
    try:
        from django_q.cluster import Cluster, Sentinel
    except ImportError:  # pragma: no cover - django_q is a dependency
        return False
    if not all(
        callable(getattr(cls, name, None))
        for cls, name in (
            (Cluster, "sig_handler"),
            (Cluster, "start"),
            (Sentinel, "start"),
            (Sentinel, "reincarnate"),
        )
    ):
        logger.warning("django-q2 changed: qcluster signal handling left as it is")
        return False

    def sig_handler(self: Any, signum: int, frame: Any) -> None:
        # Nothing here may take a lock the interrupted code could hold: the stop,
        # which sets an Event and joins the sentinel, runs in a thread of its own.
        if getattr(self, "_stop_thread", None) is None:
            self._stop_thread = threading.Thread(target=self.stop, name="qcluster-stop")
            self._stop_thread.start()

    original_cluster_start = Cluster.start

    def cluster_start(self: Any) -> Any:
        pid = original_cluster_start(self)
        if "--run-once" in sys.argv:
            return pid
        # Wait here for the cluster to end, then for the stop to finish its work,
        # instead of in the interpreter's exit (which no longer waits for threads).
        while self.sentinel is not None and self.sentinel.is_alive():
            self.sentinel.join(0.5)
        stopping = getattr(self, "_stop_thread", None)
        if stopping is not None:
            stopping.join(30)
        return pid

    original_start = Sentinel.start

    def sentinel_start(self: Any) -> Any:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        return original_start(self)

    original_reincarnate = Sentinel.reincarnate

    def reincarnate(self: Any, process: Any) -> Any:
        timed_out = (
            process is not self.monitor
            and process is not self.pusher
            and getattr(process, "timer", None) is not None
            and process.timer.value == 0
        )
        if timed_out and process.is_alive():
            process.kill()  # it ignores SIGTERM, the guard's usual way
        return original_reincarnate(self, process)

    Cluster.sig_handler = sig_handler
    Cluster.start = cluster_start
    Sentinel.start = sentinel_start
    Sentinel.reincarnate = reincarnate
    _installed = True
    return True

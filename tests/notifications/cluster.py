"""Run a real ``manage.py qcluster`` against the stand-ins, for tests and the pipeline bench.

The cluster runs the production settings module (``bookings_site.settings``), not the
test settings (which force django-q2's sync mode and locmem email), on the database
the caller uses, with EMAIL_URL and WHATSAPP_API_URL pointed at the stand-ins.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url(settings_dict: dict[str, Any] | None = None) -> str:
    """The URL of the database this process is connected to (the test database)."""
    db = settings_dict or connection.settings_dict
    if db["ENGINE"] == "django.db.backends.postgresql":
        user = quote(db.get("USER") or "")
        password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
        auth = f"{user}{password}@" if user else ""
        host = db.get("HOST") or "127.0.0.1"
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


def cluster_env(
    *, smtp_port: int, api_url: str, redis_url: str = "", **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("Q_", "NOTIFICATION_"))}
    env.pop("REDIS_URL", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bookings_site.settings",
            "PROCESS_ROLE": "worker",
            "DATABASE_URL": database_url(),
            # Signed task packages: the same key and queue name as the enqueuing process.
            "SECRET_KEY": settings.SECRET_KEY,
            "Q_NAME": settings.Q_CLUSTER["name"],
            "DEBUG": "false",
            "LOG_FORMAT": "plain",
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "EMAIL_TIMEOUT": "2",
            "WHATSAPP_API_URL": api_url,
            "WHATSAPP_PHONE_NUMBER_ID": "1234567890",
            "WHATSAPP_ACCESS_TOKEN": "test-access-token",
            "WHATSAPP_CONNECT_TIMEOUT": "1",
            "WHATSAPP_READ_TIMEOUT": "2",
            # Short enough for a test: a task is killed after 3 s, the ORM broker hands
            # out an unacknowledged task again after 13 s, a claim is stale after 8 s.
            "Q_WORKERS": "2",
            "Q_TIMEOUT": "3",
            "Q_RETRY": "13",
            "NOTIFICATION_CLAIM_STALE_AFTER": "8",
            "NOTIFICATION_RETRY_DELAY": "0.2",
            "NOTIFICATION_RETRY_MAX_DELAY": "1",
            "NOTIFICATION_SWEEP_GRACE": "1",
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


class QCluster:
    """One ``manage.py qcluster`` process (in its own process group), its log in a file."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="qcluster-", suffix=".log", delete=False
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> QCluster:
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def wait_for(self, predicate: Callable[[], Any], *, timeout: float, what: str = "") -> Any:
        """``wait_for`` that fails at once, with the log, if the cluster exits."""
        assert self.process is not None

        def check() -> Any:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(
                    f"qcluster exited ({self.process.returncode}) while waiting for {what}:\n"
                    + self.output()[-3000:]
                )
            return predicate()

        try:
            return wait_for(check, timeout=timeout, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- qcluster log ---\n{self.output()[-3000:]}") from None

    def terminate(self, timeout: float = 20.0, *, group: bool = False) -> tuple[int, float]:
        """SIGTERM to the cluster's main process (``docker stop``, Kubernetes), or with
        ``group`` to every process of it (systemd, Heroku, ``timeout``); returns the exit
        code and how long the cluster took to stop."""
        assert self.process is not None
        started = time.monotonic()
        if group:
            os.killpg(self.process.pid, signal.SIGTERM)
        else:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL to the whole process group: main, sentinel, workers, monitor, pusher."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.terminate(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        # Children left behind by a killed main process (never by a clean stop).
        if self.process is not None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


@contextmanager
def running_cluster(env: dict[str, str]) -> Iterator[QCluster]:
    cluster = QCluster(env).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def wait_for(
    predicate: Callable[[], Any], *, timeout: float, interval: float = 0.1, what: str = ""
) -> Any:
    """Poll until ``predicate()`` is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


@contextmanager
def enqueue_to_broker(*, redis_url: str = "") -> Iterator[None]:
    """Let ``async_task`` in this (sync-mode test) process push to the real broker."""
    from django_q.conf import Conf

    saved = (Conf.SYNC, Conf.ORM, Conf.REDIS)
    Conf.SYNC = False
    if redis_url:
        Conf.ORM, Conf.REDIS = None, redis_url
    try:
        yield
    finally:
        Conf.SYNC, Conf.ORM, Conf.REDIS = saved

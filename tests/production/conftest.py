"""A real production server for the tests that need one.

gunicorn started with the repository's gunicorn.conf.py, DEBUG off, production
security settings behind a (simulated) TLS proxy, static files collected into a
temporary STATIC_ROOT by the manifest + brotli storage, and its own SQLite file
migrated for it (the pytest database lives inside a transaction other processes
cannot see). Every server started here is stopped by its fixture.
"""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
# Only these pass from the test run to the server: the test settings' own defaults
# (insecure cookies, plain static storage) must not leak into "production".
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "VIRTUAL_ENV")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {key: os.environ[key] for key in PASSED_ENV if key in os.environ}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bookings_site.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CSRF_TRUSTED_ORIGINS": "https://127.0.0.1",
            "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "STATIC_ROOT": str(tmp / "static"),
            "EMAIL_URL": "dummymail://",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argument lists
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    tmp: Path
    env: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        *,
        https: bool = True,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            all_headers = {"X-Forwarded-Proto": "https"} if https else {}
            all_headers.update(headers or {})
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            # Header names are case-insensitive; Set-Cookie may repeat.
            merged: dict[str, str] = {}
            for key, value in response.getheaders():
                key = key.lower()
                merged[key] = f"{merged[key]}\n{value}" if key in merged else value
            return Reply(response.status, merged, response.read())
        finally:
            conn.close()

    def get(self, path: str, **kwargs: object) -> Reply:
        return self.request("GET", path, **kwargs)  # type: ignore[arg-type]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return self.process.returncode


def start_server(tmp: Path, env: dict[str, str], *, wait_path: str = "/healthz") -> Server:
    port = free_port()
    log_path = tmp / f"gunicorn-{port}.log"
    env = {"WEB_CONCURRENCY": "1", **env, "PORT": str(port), "HOST": "127.0.0.1"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603
            [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(port=port, process=process, log_path=log_path, tmp=tmp, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log()[-3000:]}")
        try:
            if server.get(wait_path, https=False).status in (200, 503):
                return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"gunicorn did not answer in 30 s:\n{server.log()[-3000:]}")


@pytest.fixture(scope="module")
def prod_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prod")


@pytest.fixture(scope="module")
def prod_env(prod_tmp: Path) -> dict[str, str]:
    """Production settings with a migrated database and collected static files."""
    env = production_env(prod_tmp)
    # The release step's commands (bin/release), in its order.
    for args in (
        ("migrate", "--noinput", "-v0"),
        ("createcachetable",),
        ("collectstatic", "--noinput", "-v0"),
    ):
        done = manage(env, *args)
        assert done.returncode == 0, done.stderr
    return env


@pytest.fixture(scope="module")
def prod_server(prod_tmp: Path, prod_env: dict[str, str]) -> Iterator[Server]:
    server = start_server(prod_tmp, prod_env)
    try:
        yield server
    finally:
        server.stop()

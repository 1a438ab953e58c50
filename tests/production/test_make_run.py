"""`PORT=... make run` serves on that port, links in messages follow it, and Ctrl-C
stops the web server and the worker without an error."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (loopback)
                return response.status == 200
        except OSError:
            time.sleep(0.3)
    return False


def test_make_run_on_another_port_and_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    database = tmp_path / "run.sqlite3"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SITE_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "MAKEFLAGS"}
    }
    env.update(PORT=str(port), DATABASE_URL=f"sqlite:///{database}", DEBUG="1")
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run"],  # noqa: S607
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    try:
        assert wait_for(f"http://127.0.0.1:{port}/healthz", time.monotonic() + 180)
        time.sleep(2.5)  # the banner is printed 2 s after start
    finally:
        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C does
        out, err = make.communicate(timeout=60)
    out_text, err_text = out.decode(), err.decode()
    assert f"running at http://127.0.0.1:{port}/" in out_text
    assert "Stopped web and worker." in out_text
    # Ctrl-C ends make the way it ends any command (by the signal), with no error line.
    assert make.returncode in (0, -signal.SIGINT), err_text[-2000:]
    assert "no such job" not in err_text
    assert "make: ***" not in err_text, err_text[-2000:]
    # Nothing of ours is left listening.
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    # Links in the demo data's messages point at the port it runs on.
    with sqlite3.connect(database) as db:
        (here,) = db.execute(
            "SELECT count(*) FROM notifications_notification WHERE body_text LIKE ?",
            (f"%http://127.0.0.1:{port}/%",),
        ).fetchone()
        (default,) = db.execute(
            "SELECT count(*) FROM notifications_notification WHERE body_text LIKE ?",
            ("%http://127.0.0.1:8000/%",),
        ).fetchone()
    assert here > 0
    assert default == 0

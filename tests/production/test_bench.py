"""`make bench` in its quick mode, so the harness cannot rot between full runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bench.run import processes_with_marker, table
from tests.production.conftest import PASSED_ENV, ROOT, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FIGURES = (
    "Cold start to first 200",
    "API throughput ratio (api / baseline)",
    "Baseline req/s (.values(), 50 rows)",
    "Soak: RSS growth per worker (max)",
    "DB connections before / max during / after",
    "Clean stop (SIGTERM) and nothing left running",
    "Web DB connections after gunicorn stopped",
    "Notifications sent exactly once (ORM broker)",
    "Notification sends interrupted / resent / held (ORM broker)",
    "SIGKILL mid-send, restart (ORM broker): lost / interrupted / resent / held",
)
# Figures whose names carry their counts ("burst of 50", "50 at 50/s").
FIGURE_PREFIXES = (
    "Notifications delivered per second (burst of 50; ORM broker, Q_WORKERS=",
    "Notification commit->sent p50 (",
    "Notification commit->sent p95 (",
)


def _bench_database_url() -> str:
    # Beside the test database, under a name of its own.
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = parts.path.lstrip("/") or "bookings"
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}_benchq", "", ""))


def test_quick_bench_runs_end_to_end_and_leaves_nothing_running(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {key: os.environ[key] for key in PASSED_ENV if key in os.environ}
    env["BENCH_DATABASE_URL"] = _bench_database_url()
    port = str(free_port())
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(out), "--port", port],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    results = json.loads(out.read_text())
    figures = {f["name"]: f for f in results["figures"]}
    for name in FIGURES:
        assert name in figures, name
        assert name in done.stdout  # the printed table shows it beside its goal
    for prefix in FIGURE_PREFIXES:
        assert any(name.startswith(prefix) for name in figures), prefix
    # The notification pipeline ran through a real qcluster to the stand-ins: every
    # row of the burst and of the paced run sent, each accepted exactly once.
    pipeline = results["details"]["pipeline"]
    assert pipeline["burst"]["count"] == 50 and pipeline["paced"]["count"] == 50
    assert pipeline["exactly_once"]["ok"] is True
    assert pipeline["exactly_once"]["expected"] == 102  # + one warm-up per channel
    assert pipeline["burst"]["per_second"] > 0 and pipeline["paced"]["p95_ms"] > 0
    assert pipeline["worker_stop"]["clean"] is True
    # Webhooks too: a change committed -> a signed POST at a loopback receiver, each once.
    webhooks = results["details"]["webhooks"]
    assert webhooks["burst"]["count"] == 25 and webhooks["paced"]["count"] == 25
    assert webhooks["exactly_once"]["ok"] is True and webhooks["exactly_once"]["expected"] == 51
    assert webhooks["exactly_once"]["bad_signatures"] == 0
    assert webhooks["paced"]["p95_ms"] > 0 and webhooks["worker_stop"]["clean"] is True
    assert any(name.startswith("Webhook commit->received p95") for name in figures)
    assert figures["Notifications sent exactly once (ORM broker)"]["ok"] is True
    # Counted beside it: no crash in this run, so no interrupted, resent or held row.
    assert pipeline["interruptions"] == {
        "interrupted": 0,
        "resent": 0,
        "held": 0,
        "unflagged_duplicates": 0,
        "ok": True,
    }
    assert figures["Notification sends interrupted / resent / held (ORM broker)"]["value"] == (
        "0 / 0 / 0"
    )
    # Then the worker is killed with an email and a WhatsApp message in flight to slow
    # stand-ins, and restarted: nothing lost, the email resent and flagged, the
    # WhatsApp message held for a person.
    crash = pipeline["crash"]
    assert crash["in_flight"] == crash["interrupted"] == 2
    assert (crash["lost"], crash["resent"], crash["held"]) == (0, 1, 1)
    assert crash["unflagged_duplicates"] == 0 and crash["ok"] is True
    assert results["mode"] == "quick"
    assert results["machine"]["cores"] and results["date"]
    assert len(results["load_average"]["start"]) == 3
    # The harness's own checks hold even at tiny counts.
    assert figures["Clean stop (SIGTERM) and nothing left running"]["ok"] is True
    assert figures["Web DB connections after gunicorn stopped"]["ok"] is True
    assert figures["DB connections before / max during / after"]["ok"] is True
    soak = results["details"]["soak"]
    assert soak["requests"]["requests"] >= 300 and soak["requests"]["errors"] == {}
    assert soak["rss_mib_after_warmup"] and soak["connections"]["during"]["samples"] > 0
    assert "bookings-web" in soak["connections"]["before"]["by_application"]
    throughput = results["details"]["throughput"]
    assert throughput["baseline_rps"] > 0
    if throughput["load_generator"].startswith("wrk"):
        # Where each request's CPU went, per kind: every part measured, the API's
        # database share above the baseline's (it renders items and totals).
        cpu = throughput["cpu_ms_per_request"]
        assert set(cpu["api"]) == {"gunicorn", "postgres", "wrk", "machine"}
        assert all(value > 0 for value in cpu["api"].values()), cpu
        assert cpu["api"]["postgres"] > cpu["baseline"]["postgres"], cpu
    assert results["details"]["readyz_after_soak"]["status"] == 200
    assert results["details"]["seed"]["bookings"] == 200
    assert table(results).count("\n") >= len(FIGURES)
    # Nothing that run started is still alive (it marks every child's environment).
    assert all(stop["clean"] for stop in results["details"]["stops"].values())
    assert processes_with_marker(results["run_id"]) == []

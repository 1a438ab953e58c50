"""Production settings: `check --deploy`, connection settings per process type, and
the gunicorn config file."""

from __future__ import annotations

import json
import os
import runpy
import secrets
import subprocess
import sys
import types
from pathlib import Path

import pytest
from gunicorn.config import Config
from gunicorn.workers.gthread import ThreadWorker

from bookings_site.gunicorn_workers import FairThreadWorker
from tests.production.conftest import PASSED_ENV, ROOT

PYTHON = sys.executable


def _production_env(**extra: str) -> dict[str, str]:
    env = {key: os.environ[key] for key in PASSED_ENV if key in os.environ}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bookings_site.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50)[:50],
            "ALLOWED_HOSTS": "bookings.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://bookings.example.com",
            "DATABASE_URL": "postgres://bookings@db.internal:5432/bookings",
            "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
            "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
        }
    )
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [PYTHON, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_deploy_is_clean_with_production_environment() -> None:
    done = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _production_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_check_deploy_catches_a_weakened_setting() -> None:
    # The same check fails when one protection is switched off: it is really looking.
    done = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        _production_env(SECURE_HSTS_SECONDS="0", SESSION_COOKIE_SECURE="false"),
    )
    assert done.returncode != 0
    assert "security.W004" in done.stderr and "security.W012" in done.stderr


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = _production_env()
    del env["SECRET_KEY"]
    done = _run(["manage.py", "check"], env)
    assert done.returncode != 0
    assert "SECRET_KEY must be set" in done.stderr


def _database_settings(**env: str) -> dict:
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "db = settings.DATABASES['default']; "
        "print(json.dumps({'options': db.get('OPTIONS', {}), 'max_age': db['CONN_MAX_AGE'], "
        "'health': db['CONN_HEALTH_CHECKS']}, default=str))"
    )
    done = _run(["-c", code], _production_env(**env))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_web_process_keeps_persistent_health_checked_connections() -> None:
    db = _database_settings(PROCESS_ROLE="web")
    assert db["max_age"] == 60 and db["health"] is True
    assert db["options"]["application_name"] == "bookings-web"
    assert "pool" not in db["options"]


def test_postgresql_connections_bind_on_the_server_and_prepare_repeated_queries() -> None:
    for role in ("web", "worker"):
        options = _database_settings(PROCESS_ROLE=role)["options"]
        assert options["server_side_binding"] is True
        assert options["prepare_threshold"] == 5
    options = _database_settings(DATABASE_PREPARE_THRESHOLD="2")["options"]
    assert options["prepare_threshold"] == 2


def test_prepared_statements_can_be_turned_off_for_a_pooler() -> None:
    options = _database_settings(DATABASE_PREPARE_THRESHOLD="")["options"]
    # Django's default: client-side binding, psycopg never prepares.
    assert "server_side_binding" not in options and "prepare_threshold" not in options


def test_a_bad_prepare_threshold_is_a_clear_error() -> None:
    done = _run(["manage.py", "check"], _production_env(DATABASE_PREPARE_THRESHOLD="often"))
    assert done.returncode != 0
    assert "DATABASE_PREPARE_THRESHOLD must be a whole number or empty, not 'often'" in done.stderr


@pytest.mark.postgres
def test_web_pool_connects_and_prepares_like_persistent_connections() -> None:
    """DATABASE_POOL on a real PostgreSQL: the pool opens (psycopg-pool installed) and
    its connections prepare repeated queries too."""
    code = (
        "import django; from django.db import connection; django.setup(); "
        "runs = [connection.cursor().execute('SELECT %s::int + 1', [n]).fetchone()[0] "
        "for n in range(7)]; "
        "cursor = connection.cursor(); "
        'cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '
        "'SELECT $1::int + 1'\"); "
        "print(type(connection.pool).__name__, runs[-1], cursor.fetchone()[0])"
    )
    env = _production_env(
        DATABASE_URL=os.environ["DATABASE_URL"], DATABASE_POOL="true", PROCESS_ROLE="web"
    )
    done = _run(["-c", code], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ConnectionPool", "7", "1"]


def test_worker_never_gets_a_connection_pool() -> None:
    web = _database_settings(PROCESS_ROLE="web", DATABASE_POOL="true")
    assert web["options"]["pool"]["max_size"] == 4 and web["max_age"] == 0
    worker = _database_settings(PROCESS_ROLE="worker", DATABASE_POOL="true")
    assert "pool" not in worker["options"]
    assert worker["options"]["application_name"] == "bookings-worker"


def _load_config(monkeypatch, **env: str) -> dict:
    for key in (
        "WEB_CONCURRENCY",
        "WEB_THREADS",
        "PORT",
        "HOST",
        "WEB_MAX_REQUESTS",
        "WEB_WORKER_CLASS",
    ):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PROCESS_ROLE", "web")
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_config_loads_with_known_settings_only(monkeypatch) -> None:
    namespace = _load_config(monkeypatch, WEB_CONCURRENCY="3", PORT="9123")
    names = {
        k
        for k, v in namespace.items()
        if not k.startswith("_") and not callable(v) and not isinstance(v, types.ModuleType)
    }
    config = Config()
    unknown = names - set(config.settings)
    assert not unknown, f"not gunicorn settings (typos?): {unknown}"
    for name in names:
        config.set(name, namespace[name])  # gunicorn validates each value
    assert config.worker_class is FairThreadWorker and issubclass(FairThreadWorker, ThreadWorker)
    assert config.workers == 3
    assert config.threads == 2
    assert config.address == [("0.0.0.0", 9123)]  # noqa: S104
    assert config.max_requests > 0 and 0 < config.max_requests_jitter < config.max_requests
    assert config.timeout == 30 and 0 < config.graceful_timeout <= config.timeout
    assert config.worker_tmp_dir == "/dev/shm"  # noqa: S108
    assert config.accesslog == "-"
    assert config.preload_app is True
    assert "x-request-id" in config.access_log_format


def test_web_worker_class_switches_to_gunicorns_own(monkeypatch) -> None:
    assert _load_config(monkeypatch, WEB_WORKER_CLASS="sync")["worker_class"] == "sync"
    assert _load_config(monkeypatch)["_worker_class_name"] == "gthread"


def test_gunicorn_accepts_the_config_file() -> None:
    env = _production_env(DATABASE_URL="sqlite:////tmp/never-opened.sqlite3")
    done = _run(["-m", "gunicorn", "-c", "gunicorn.conf.py", "--check-config"], env)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("script", ["web", "worker", "release"])
def test_process_scripts_exist_and_are_executable(script: str) -> None:
    path = ROOT / "bin" / script
    assert os.access(path, os.X_OK)
    assert f"{script}: bin/{script}" in (ROOT / "Procfile").read_text()
    assert "set -euo pipefail" in Path(path).read_text()

"""django-q2's configuration as bookings_site/settings.py builds it from the environment.

The settings module is executed afresh for each environment (runpy), so these check
what a web process, a worker and a Redis deployment would really get.
"""

from __future__ import annotations

import logging
import runpy
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications.logging import QuietTaskLines

SETTINGS = Path(__file__).resolve().parents[2] / "bookings_site" / "settings.py"
CLEAN = (
    "DATABASE_URL",
    "DATABASE_POOL",
    "PROCESS_ROLE",
    "REDIS_URL",
    "Q_TIMEOUT",
    "Q_RETRY",
    "Q_WORKERS",
    "Q_LOG_TASKS",
    "WHATSAPP_ACCESS_TOKEN",
    "NOTIFICATION_CLAIM_STALE_AFTER",
)


def load(monkeypatch: pytest.MonkeyPatch, argv: list[str] | None = None, **env: str) -> dict:
    for name in CLEAN:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "config-test")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("sys.argv", argv or ["manage.py", "runserver"])
    return runpy.run_path(str(SETTINGS))


def test_default_is_the_orm_broker_on_the_default_database(monkeypatch: pytest.MonkeyPatch) -> None:
    q = load(monkeypatch)["Q_CLUSTER"]
    assert q["orm"] == "default"
    assert "redis" not in q


def test_redis_url_switches_the_broker_and_the_cache_to_redis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = load(monkeypatch, REDIS_URL="redis://127.0.0.1:6379/3")
    assert conf["Q_CLUSTER"]["redis"] == "redis://127.0.0.1:6379/3"
    assert "orm" not in conf["Q_CLUSTER"]
    assert conf["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_timeouts_attempts_catch_up_stats_and_recycling(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load(monkeypatch)
    q = conf["Q_CLUSTER"]
    # A task is killed well before the broker would hand it out a second time.
    assert q["timeout"] + 10 <= q["retry"]
    assert q["timeout"] * 2 <= q["retry"]
    assert 0 < q["max_attempts"] <= 5
    assert q["catch_up"] is False
    # Stats go to the database cache every process shares (qinfo, the admin).
    assert q["cache"] == "default"
    assert conf["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert q["recycle"] > 0 and q["max_rss"] > 0
    # The task's own network timeouts fit inside the task timeout.
    assert conf["EMAIL_TIMEOUT"] < q["timeout"]
    assert conf["WHATSAPP_CONNECT_TIMEOUT"] + conf["WHATSAPP_READ_TIMEOUT"] < q["timeout"]
    # A claim is stale only after the task that held it is surely dead.
    assert conf["NOTIFICATION_CLAIM_STALE_AFTER"] > q["timeout"]
    assert conf["NOTIFICATION_MAX_ATTEMPTS"] > 1


def test_retry_too_close_to_the_timeout_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="Q_RETRY"):
        load(monkeypatch, Q_TIMEOUT="30", Q_RETRY="35")


def test_a_claim_that_could_go_stale_mid_task_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="CLAIM_STALE_AFTER"):
        load(monkeypatch, Q_TIMEOUT="30", NOTIFICATION_CLAIM_STALE_AFTER="31")


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["manage.py", "qcluster"], {}),
        (["manage.py", "runserver"], {"PROCESS_ROLE": "worker"}),
    ],
)
def test_the_worker_never_uses_the_connection_pool(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str]
) -> None:
    conf = load(
        monkeypatch,
        argv=argv,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/x",
        DATABASE_POOL="true",
        **env,
    )
    assert conf["PROCESS_ROLE"] == "worker"
    db = conf["DATABASES"]["default"]
    assert "pool" not in db.get("OPTIONS", {})
    # Persistent, health-checked connections instead.
    assert db["CONN_MAX_AGE"] > 0
    assert db["CONN_HEALTH_CHECKS"] is True
    assert db["OPTIONS"]["application_name"] == "bookings-worker"


def test_the_web_process_may_use_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """The contrast that makes the worker test meaningful."""
    conf = load(
        monkeypatch, DATABASE_URL="postgres://postgres@127.0.0.1:5432/x", DATABASE_POOL="true"
    )
    assert conf["PROCESS_ROLE"] == "web"
    assert "pool" in conf["DATABASES"]["default"]["OPTIONS"]


def test_whatsapp_uses_the_cloud_api_only_with_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load(monkeypatch)["NOTIFICATION_BACKENDS"]["whatsapp"].endswith("ConsoleBackend")
    conf = load(monkeypatch, WHATSAPP_ACCESS_TOKEN="t")
    assert conf["NOTIFICATION_BACKENDS"]["whatsapp"].endswith("CloudApiBackend")


def test_django_q_per_task_lines_are_quiet_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load(monkeypatch)["LOGGING"]["loggers"]["django-q"]["filters"] == ["quiet_tasks"]
    assert load(monkeypatch, Q_LOG_TASKS="true")["LOGGING"]["loggers"]["django-q"]["filters"] == []


def record(message: str, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("django-q", level, __file__, 1, message, None, None)


@pytest.mark.parametrize(
    "message",
    [
        "Enqueued [bookings] 42",
        "Process-1:1 processing notification-7 'notifications.tasks.deliver' [notifications]",
        "Processed 'notifications.tasks.deliver' (notification-7)",
        "Process-1 created task sweep-1 from schedule [notifications: sweep the outbox]",
    ],
)
def test_per_task_lines_are_dropped(message: str) -> None:
    assert QuietTaskLines().filter(record(message)) is False


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ("Q Cluster bookings starting.", logging.INFO),
        ("Process-1 stopping cluster processes", logging.INFO),
        ("Failed 'notifications.tasks.deliver' (notification-7) - boom", logging.ERROR),
        ("Process-1:1 processing notification-7 'x'", logging.WARNING),
    ],
)
def test_cluster_lines_and_failures_are_kept(message: str, level: int) -> None:
    assert QuietTaskLines().filter(record(message, level)) is True


@pytest.mark.slow
@pytest.mark.django_db
def test_seed_demo_queues_no_delivery_task(
    django_capture_on_commit_callbacks: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.management import call_command
    from django_q.models import OrmQ

    from notifications.models import Notification
    from offers.management.commands import seed_demo

    settings.DEBUG = True
    # A few bookings and offers of each kind are enough to record every sort of message.
    monkeypatch.setattr(seed_demo, "BOOKING_PLAN", tuple(dict.fromkeys(seed_demo.BOOKING_PLAN)))
    monkeypatch.setattr(seed_demo, "OFFER_PLAN", tuple(dict.fromkeys(seed_demo.OFFER_PLAN)))
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    rows = Notification.objects.all()
    assert rows.count() > 10
    assert set(rows.values_list("status", flat=True)) == {Notification.Status.CANCELLED}
    assert [c for c in callbacks if "enqueue_delivery" in repr(c)] == []
    assert OrmQ.objects.count() == 0

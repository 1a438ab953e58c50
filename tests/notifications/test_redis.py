"""The Redis broker path: REDIS_URL -> django-q2's Redis broker -> delivery.

Runs against REDIS_TEST_URL, or redis://127.0.0.1:6379/15. Without a Redis server
these tests skip on a developer's machine, and fail in CI (CI=true), where Redis is
part of the job and its absence is a broken pipeline, not a reason to go green.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from notifications.models import Notification
from notifications.services import Recipient, notify
from tests.notifications.cluster import cluster_env, enqueue_to_broker, running_cluster
from tests.notifications.standins import CloudApiStandIn, SmtpStandIn

pytestmark = pytest.mark.redis
S = Notification.Status
CONTEXT = {"reference": "BK-REDIS", "customer_name": "Ada", "total": "EUR 1.00", "items": []}


def redis_test_url() -> str:
    return os.environ.get("REDIS_TEST_URL") or "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    url = redis_test_url()
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must provide Redis at {url}: {exc}")
        pytest.skip(f"no Redis at {url} ({exc}); CI runs this")
    yield url
    client.close()


@pytest.fixture
def queue_name(redis_url: str) -> Iterator[str]:
    """A queue of its own, so parallel runs sharing the Redis database never meet."""
    import redis
    from django_q.conf import Conf

    name = f"test-{uuid.uuid4().hex[:10]}"
    saved = (Conf.PREFIX, Conf.CLUSTER_NAME)
    Conf.PREFIX = Conf.CLUSTER_NAME = name
    yield name
    Conf.PREFIX, Conf.CLUSTER_NAME = saved
    redis.Redis.from_url(redis_url).delete(f"django_q:{name}:q")


def record(n: int, channel: str = "email") -> Notification:
    (row,) = notify(
        kind="booking_approved",
        recipients=[
            Recipient(
                name=f"Guest {n}",
                email=f"guest{n}@example.com",
                phone=f"+3519100{n:05d}",
                channels=(channel,),
            )
        ],
        context={**CONTEXT, "n": n},
        reference="BK-REDIS",
    )
    return row


@pytest.mark.django_db
def test_commit_enqueues_on_redis_and_the_task_from_redis_delivers(
    redis_url: str,
    queue_name: str,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list,
) -> None:
    import redis
    from django_q.brokers import get_broker
    from django_q.brokers.redis_broker import Redis
    from django_q.tasks import _sync

    with enqueue_to_broker(redis_url=redis_url):
        broker = get_broker()
        assert isinstance(broker, Redis)
        with django_capture_on_commit_callbacks(execute=True):
            row = record(1)
        # The task waits in Redis, not in the database, and nothing was sent yet.
        assert redis.Redis.from_url(redis_url).llen(f"django_q:{queue_name}:q") == 1
        assert Notification.objects.get(pk=row.pk).status == S.PENDING
        ((_, package),) = broker.dequeue()
    # What a worker does with the package it popped: run it.
    _sync(package)
    row.refresh_from_db()
    assert row.status == S.SENT and row.attempts == 1
    assert [m.subject for m in mailoutbox] == ["Booking BK-REDIS is approved"]


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(60)
@pytest.mark.django_db(transaction=True)
def test_a_qcluster_on_redis_delivers_every_row_once(redis_url: str, queue_name: str) -> None:
    smtp, api = SmtpStandIn().start(), CloudApiStandIn().start()
    try:
        ids = []
        with enqueue_to_broker(redis_url=redis_url):
            for n in range(12):
                with transaction.atomic():
                    ids.append(record(n, "email" if n % 2 else "whatsapp").pk)
        env = cluster_env(
            smtp_port=smtp.port, api_url=api.url, redis_url=redis_url, Q_NAME=queue_name
        )
        with running_cluster(env) as cluster:
            cluster.wait_for(
                lambda: Notification.objects.filter(pk__in=ids, status=S.SENT).count() == 12,
                timeout=30,
                what="every row sent through Redis",
            )
        received = smtp.handler.accepted_ids() + api.state.accepted_ids()
        assert received == Counter({pk: 1 for pk in ids})
        from django_q.models import OrmQ

        assert OrmQ.objects.count() == 0  # nothing went through the database broker
    finally:
        api.stop()
        smtp.stop()


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(60)
@pytest.mark.django_db(transaction=True)
def test_after_a_kill_on_redis_the_sweep_recovers_every_row(
    redis_url: str, queue_name: str, settings: Any
) -> None:
    """Redis hands a task out once (no acknowledgement): what a killed cluster held, in
    flight or in its local queue, is gone from Redis. The sweep finds those rows."""
    from notifications.services import notifications_send_again, notifications_sweep
    from tests.notifications.standins import HANG

    smtp, api = SmtpStandIn().start(), CloudApiStandIn().start()
    api.state.responder = lambda request, number: HANG if number in (2, 3) else None
    try:
        ids = []
        with enqueue_to_broker(redis_url=redis_url):
            for n in range(16):
                with transaction.atomic():
                    ids.append(record(n, "email" if n % 2 else "whatsapp").pk)
        env = cluster_env(
            smtp_port=smtp.port,
            api_url=api.url,
            redis_url=redis_url,
            Q_NAME=queue_name,
            Q_TIMEOUT="5",
            Q_RETRY="15",
            WHATSAPP_READ_TIMEOUT="4.5",
            NOTIFICATION_CLAIM_STALE_AFTER="10",
        )
        with running_cluster(env) as cluster:
            cluster.wait_for(lambda: api.state.hanging == 2, timeout=20, what="two requests held")
            cluster.kill()
        api.state.release.set()
        api.state.responder = None
        rows = Notification.objects.filter(pk__in=ids)
        assert rows.filter(status=S.SENDING).count() == 2
        # Time passes: the claims go stale and the lost rows' grace runs out.
        rows.filter(status=S.SENDING).update(claimed_at=timezone.now() - timedelta(hours=1))
        rows.filter(status=S.PENDING).update(next_attempt_at=timezone.now() - timedelta(hours=1))
        # What the scheduler runs every minute, run now. The two WhatsApp sends were
        # interrupted: held until a person decides, who decides to send them again.
        with enqueue_to_broker(redis_url=redis_url):
            swept = notifications_sweep()
            assert swept["interrupted"] == swept["held"] == 2
            held = list(rows.filter(status=S.INTERRUPTED).values_list("pk", flat=True))
            assert notifications_send_again(notification_ids=held) == 2
        with running_cluster(
            cluster_env(
                smtp_port=smtp.port, api_url=api.url, redis_url=redis_url, Q_NAME=queue_name
            )
        ) as cluster:
            cluster.wait_for(
                lambda: rows.filter(status=S.SENT).count() == len(ids),
                timeout=30,
                what="every row sent after the sweep",
            )
        received = smtp.handler.accepted_ids() + api.state.accepted_ids()
        assert received == Counter({pk: 1 for pk in ids})
        # Never accepted the first time (the stand-in answered 500 once released),
        # but nobody could know that: the copies are flagged.
        assert set(rows.filter(possible_duplicate=True).values_list("pk", flat=True)) == set(held)
        # Never accepted the first time (the stand-in answered 500 once released),
        # but nobody could know that: the copies are flagged.
        assert set(rows.filter(possible_duplicate=True).values_list("pk", flat=True)) == set(held)
    finally:
        api.stop()
        smtp.stop()

"""A real ``manage.py qcluster`` delivering the outbox to the stand-ins.

Each notification is counted at the receiving end (SMTP messages and Cloud API
requests accepted, per notification id), so "exactly once" is what the stand-ins saw,
not what the database says. PostgreSQL only: the cluster is another process and must
see the rows this test commits.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from django.db import transaction

from notifications.models import DeliveryAttempt, Notification
from notifications.services import Recipient, notify
from tests.notifications.cluster import cluster_env, enqueue_to_broker, running_cluster
from tests.notifications.standins import HANG, CloudApiStandIn, SmtpStandIn

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(90),
]
S = Notification.Status


def record_and_enqueue(count: int, *, redis_url: str = "") -> list[int]:
    """``count`` rows, half email and half WhatsApp, queued on commit like a service's."""
    ids: list[int] = []
    context = {"reference": "BK-CLUSTER", "customer_name": "Ada", "total": "EUR 1.00",
               "items": [], "services": "Transfer"}  # fmt: skip
    with enqueue_to_broker(redis_url=redis_url):
        for n in range(count):
            channel = "email" if n % 2 else "whatsapp"
            with transaction.atomic():
                rows = notify(
                    kind="booking_approved",
                    recipients=[
                        Recipient(
                            name=f"Guest {n}",
                            email=f"guest{n}@example.com",
                            phone=f"+3519100{n:05d}",
                            channels=(channel,),
                        )
                    ],
                    context={**context, "n": n},
                    reference="BK-CLUSTER",
                )
            ids.extend(row.pk for row in rows)
    return ids


def received(smtp: SmtpStandIn, api: CloudApiStandIn) -> Counter[int]:
    return smtp.handler.accepted_ids() + api.state.accepted_ids()


def all_sent(ids: list[int]) -> bool:
    return Notification.objects.filter(pk__in=ids, status=S.SENT).count() == len(ids)


@pytest.fixture(autouse=True)
def _cache_table(django_db_blocker: Any) -> None:
    """The cluster keeps its stats in the database cache, as in production."""
    from django.core.management import call_command
    from django.test import override_settings

    db_cache = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "django_cache",
    }
    with override_settings(CACHES={"default": db_cache}):
        call_command("createcachetable", verbosity=0)


@pytest.fixture
def standins() -> Any:
    smtp, api = SmtpStandIn().start(), CloudApiStandIn().start()
    yield smtp, api
    api.stop()
    smtp.stop()


@pytest.mark.parametrize("to", ["main", "group"])
def test_qcluster_delivers_every_row_once_and_stops_cleanly_on_sigterm(
    standins: Any, to: str
) -> None:
    smtp, api = standins
    # A slow provider, so SIGTERM lands while messages are in flight.
    api.state.responder = lambda request, number: time.sleep(0.15)
    ids = record_and_enqueue(40)
    env = cluster_env(smtp_port=smtp.port, api_url=api.url)
    with running_cluster(env) as cluster:
        cluster.wait_for(lambda: len(api.state.requests) >= 5, timeout=20, what="deliveries")
        code, took = cluster.terminate(timeout=20, group=to == "group")
        assert code == 0, cluster.output()[-3000:]
        # Bounded: the workers finish what they hold (a few tasks), then stop.
        assert took < 15, took
        log = cluster.output()
    assert "has stopped" in log
    assert " ERROR " not in log and "Traceback" not in log, log
    # Nothing claimed was dropped: whatever a worker took was finished and recorded.
    assert Notification.objects.filter(pk__in=ids, status=S.SENDING).count() == 0
    assert DeliveryAttempt.objects.filter(notification_id__in=ids, finished_at=None).count() == 0
    sent_before = set(
        Notification.objects.filter(pk__in=ids, status=S.SENT).values_list("pk", flat=True)
    )
    assert 0 < len(sent_before) < len(ids)
    assert set(received(smtp, api)) == sent_before
    # The per-task lines of django-q2 stay out of the log.
    assert "processing notification-" not in log and "Processed '" not in log

    # The rest stayed queued; a new cluster delivers them.
    with running_cluster(env) as cluster:
        cluster.wait_for(lambda: all_sent(ids), timeout=30, what="every row sent")
    counts = received(smtp, api)
    assert counts == Counter({pk: 1 for pk in ids})
    assert set(Notification.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}


def test_qcluster_killed_mid_send_and_restarted_delivers_everything_exactly_once(
    standins: Any,
) -> None:
    smtp, api = standins
    # Two WhatsApp requests hang (the provider never answers them): both workers are
    # stuck mid-send when the whole cluster is killed.
    hung: set[int] = set()

    def responder(request: Any, number: int) -> Any:
        if number in (4, 5):
            hung.add(request.notification_id)
            return HANG
        return None

    api.state.responder = responder
    ids = record_and_enqueue(24)
    # Timings that leave the workers blocked for a few seconds; the broker hands an
    # unacknowledged task out again Q_RETRY seconds after this cluster took it.
    env = cluster_env(
        smtp_port=smtp.port,
        api_url=api.url,
        Q_TIMEOUT="5",
        Q_RETRY="15",
        WHATSAPP_READ_TIMEOUT="4.5",
        NOTIFICATION_CLAIM_STALE_AFTER="10",
    )
    with running_cluster(env) as cluster:
        cluster.wait_for(lambda: api.state.hanging == 2, timeout=20, what="two requests in flight")
        cluster.kill()
    api.state.release.set()  # the provider answers 500 to sockets nobody reads
    claimed = Notification.objects.filter(pk__in=ids, status=S.SENDING)
    assert set(claimed.values_list("pk", flat=True)) == hung
    sent_before = received(smtp, api)
    assert not set(sent_before) & hung

    api.state.responder = None
    # Restarted: the ORM broker hands the killed tasks out again once their lock runs
    # out, by then the claims are stale (8 s), and they are sent.
    with running_cluster(cluster_env(smtp_port=smtp.port, api_url=api.url)) as cluster:
        cluster.wait_for(lambda: all_sent(ids), timeout=45, what="every row sent after restart")
    assert received(smtp, api) == Counter({pk: 1 for pk in ids})
    for pk in hung:
        outcomes = list(
            DeliveryAttempt.objects.filter(notification_id=pk)
            .order_by("number")
            .values_list("outcome", flat=True)
        )
        assert outcomes == ["lost", "sent"]


def group_processes(pgid: int) -> list[int]:
    """Live (not zombie) processes of the cluster's process group."""
    import os

    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry))
    return found


def test_a_task_past_its_timeout_is_retried_and_its_worker_replaced(standins: Any) -> None:
    """The provider never answers: django-q2 stops the task at Q_TIMEOUT, the row is
    scheduled for a retry (not left 'sending'), the worker is replaced and no worker
    is left over."""
    smtp, api = standins
    api.state.responder = lambda request, number: HANG if number == 1 else None
    ids = record_and_enqueue(6)
    env = cluster_env(
        smtp_port=smtp.port,
        api_url=api.url,
        Q_TIMEOUT="2",
        Q_RETRY="12",
        NOTIFICATION_CLAIM_STALE_AFTER="7",
        WHATSAPP_READ_TIMEOUT="20",  # longer than the task may take
    )
    with running_cluster(env) as cluster:
        cluster.wait_for(
            lambda: Notification.objects.filter(pk__in=ids, status=S.SENT).count() == 5,
            timeout=30,
            what="the other rows sent",
        )
        timed_out = cluster.wait_for(
            lambda: Notification.objects.filter(pk__in=ids, attempts=1, status=S.PENDING).first(),
            timeout=15,
            what="the timed-out row back to pending",
        )
        assert timed_out.last_error == "Timed out (task timeout)."
        cluster.wait_for(
            lambda: "reincarnated worker" in cluster.output(), timeout=15, what="a new worker"
        )
        # main, sentinel, monitor, pusher and Q_WORKERS workers: no worker left over.
        cluster.wait_for(
            lambda: len(group_processes(cluster.pid)) == 4 + int(env["Q_WORKERS"]),
            timeout=10,
            what="the timed-out worker gone",
        )
        code, _ = cluster.terminate(timeout=20)
        assert code == 0
    api.state.release.set()
    assert received_total(smtp, api) == 5


def received_total(smtp: SmtpStandIn, api: CloudApiStandIn) -> int:
    return sum(received(smtp, api).values())

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
from django.urls import reverse

from notifications.delivery import TASK_TIMEOUT
from notifications.models import DeliveryAttempt, Notification
from notifications.services import Recipient, notifications_sweep, notify
from tests.notifications.cluster import cluster_env, enqueue_to_broker, running_cluster, wait_for
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


def test_sigkill_mid_burst_then_restart_loses_nothing_and_every_duplicate_is_recorded(
    standins: Any, client: Any
) -> None:
    """Issue 12, defect 9: a slow SMTP relay and a slow Cloud API, the whole cluster
    SIGKILLed while both workers are mid-send, then restarted. Nothing is lost; the
    email in flight is sent again with the same Message-ID and recorded as a possible
    duplicate; the WhatsApp message in flight is held, and sent only once a person
    decides so in the admin."""
    from partners.roles import AGENTS
    from tests import factories

    smtp, api = standins
    # Each message is taken and its acceptance answered 1.2 s later: a worker killed
    # meanwhile has handed over a message it never hears was accepted.
    smtp.handler.reply_delay = 1.2
    slow: Counter[str] = Counter()

    def slow_accept(request: Any, number: int) -> None:
        slow["in flight"] += 1
        try:
            time.sleep(1.2)
        finally:
            slow["in flight"] -= 1

    api.state.responder = slow_accept
    ids = record_and_enqueue(12)
    env = cluster_env(smtp_port=smtp.port, api_url=api.url)
    with running_cluster(env) as cluster:
        cluster.wait_for(
            lambda: smtp.handler.replying and slow["in flight"],
            timeout=20,
            what="an email and a WhatsApp message in flight at once",
        )
        cluster.kill()
    rows = Notification.objects.filter(pk__in=ids)
    in_flight = dict(rows.filter(status=S.SENDING).values_list("pk", "channel"))
    emails = {pk for pk, channel in in_flight.items() if channel == "email"}
    chats = {pk for pk, channel in in_flight.items() if channel == "whatsapp"}
    assert emails and chats, in_flight
    # The stand-ins took every message in flight: the recipients have them.
    wait_for(lambda: set(received(smtp, api)) >= set(in_flight), timeout=5, what="acceptances")
    smtp.handler.reply_delay = 0
    api.state.responder = None

    # Restarted: the killed tasks come back from the ORM broker (Q_RETRY), their
    # claims are stale by then, and each kind's policy applies.
    def settled() -> bool:
        return rows.filter(status__in=[S.SENT, S.INTERRUPTED]).count() == len(ids)

    with running_cluster(env) as cluster:
        cluster.wait_for(settled, timeout=45, what="every row sent or held after the restart")
        assert set(rows.filter(status=S.INTERRUPTED).values_list("pk", flat=True)) == chats
        # Held means held: another sweep and a few seconds of a running cluster send nothing.
        with enqueue_to_broker():
            assert notifications_sweep()["interrupted"] == 0
        time.sleep(2)
        assert all(received(smtp, api)[pk] == 1 for pk in chats)

        counts = received(smtp, api)
        # Nothing lost, and every second copy is one the outbox says may be a duplicate.
        assert set(counts) == set(ids)
        twice = {pk for pk, n in counts.items() if n == 2}
        assert twice == emails and max(counts.values()) == 2
        assert set(rows.filter(possible_duplicate=True).values_list("pk", flat=True)) == emails
        for pk in emails:
            first, second = smtp.handler.message_ids(pk)
            assert first == second  # a mail system can drop the copy
            assert outcomes(pk) == ["interrupted", "sent"]
        for pk in chats:
            assert outcomes(pk) == ["interrupted"]

        # A person decides: send the held messages again, from the admin.
        client.force_login(factories.StaffFactory(username="ops", groups=[AGENTS]))
        with enqueue_to_broker():
            response = client.post(
                reverse("admin:notifications_notification_changelist"),
                {"action": "send_again", "_selected_action": sorted(chats)},
            )
        assert response.status_code == 302
        cluster.wait_for(
            lambda: rows.filter(pk__in=chats, status=S.SENT).count() == len(chats),
            timeout=20,
            what="the held messages sent after the decision",
        )
    counts = received(smtp, api)
    assert {pk for pk, n in counts.items() if n == 2} == emails | chats
    assert set(rows.filter(possible_duplicate=True).values_list("pk", flat=True)) == emails | chats
    assert rows.filter(status=S.SENT).count() == len(ids)


def outcomes(pk: int) -> list[str]:
    return list(
        DeliveryAttempt.objects.filter(notification_id=pk)
        .order_by("number")
        .values_list("outcome", flat=True)
    )


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


def test_a_task_past_its_timeout_is_settled_as_interrupted_and_its_worker_replaced(
    standins: Any,
) -> None:
    """The provider never answers: django-q2 stops the task at Q_TIMEOUT, the row is
    settled as an interrupted send at once (not left 'sending'), the worker is replaced
    and no worker is left over."""
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
        # The request had left: an interrupted send, and WhatsApp's are held.
        timed_out = cluster.wait_for(
            lambda: Notification.objects.filter(
                pk__in=ids, attempts=1, status=S.INTERRUPTED
            ).first(),
            timeout=15,
            what="the timed-out row held as interrupted",
        )
        assert timed_out.last_error.startswith(TASK_TIMEOUT)
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

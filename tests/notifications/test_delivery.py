"""Delivery of one outbox row: claim, send over a real protocol, record the outcome.

Email goes over a real SMTP conversation with the aiosmtpd stand-in on loopback and
WhatsApp over real HTTP to the Cloud API stand-in; both count what they accepted per
notification id, so "sent once" is counted at the receiving end.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from notifications import delivery, services
from notifications.apps import PURGE_SCHEDULE, SWEEP_SCHEDULE, create_schedules
from notifications.backends import get_backend
from notifications.backends.whatsapp import ConsoleBackend
from notifications.models import DeliveryAttempt, Notification
from notifications.services import Recipient, notify, recording_only
from tests.notifications.conftest import WHATSAPP_SETTINGS
from tests.notifications.standins import HANG, CloudApiStandIn, SmtpStandIn

pytestmark = pytest.mark.django_db
S = Notification.Status


def record(
    *,
    channel: str = "email",
    email: str = "ada@example.com",
    phone: str = "+351910000009",
    kind: str = "booking_approved",
    **context: Any,
) -> Notification:
    """One row as a service would record it, without queueing its task."""
    ctx = {
        "reference": "BK-TEST1",
        "customer_name": "Ada",
        "total": "EUR 1.00",
        "items": [],
        "services": "Transfer Fri 12 Mar 2027 14:00 (UTC, UTC+00:00)",
        **context,
    }
    with recording_only():
        (row,) = notify(
            kind=kind,
            recipients=[
                Recipient(name="Ada Lovelace", email=email, phone=phone, channels=(channel,))
            ],
            context=ctx,
            reference="BK-TEST1",
        )
    return row


def make_due(row: Notification) -> None:
    Notification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())


def attempts(row: Notification) -> list[tuple[int, str]]:
    return list(
        DeliveryAttempt.objects.filter(notification=row)
        .order_by("number")
        .values_list("number", "outcome")
    )


# --- email over SMTP ------------------------------------------------------------------


def test_email_is_sent_over_a_real_smtp_conversation(smtp_settings: SmtpStandIn) -> None:
    row = record()
    assert delivery.deliver(row.pk) == delivery.SENT
    (mail,) = smtp_settings.handler.messages
    message = mail.message
    assert mail.rcpt_tos == ["ada@example.com"]
    assert message["Subject"] == "Booking BK-TEST1 is approved"
    assert message["To"] == "Ada Lovelace <ada@example.com>"
    assert message.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part for part in message.walk()}
    assert "BK-TEST1" in parts["text/plain"].get_payload(decode=True).decode()
    assert "BK-TEST1" in parts["text/html"].get_payload(decode=True).decode()
    row.refresh_from_db()
    assert row.status == S.SENT and row.attempts == 1 and row.sent_at is not None
    assert f"<{row.provider_message_id}>" == message["Message-ID"]
    assert smtp_settings.handler.accepted_ids() == {row.pk: 1}
    assert attempts(row) == [(1, "sent")]


def test_one_smtp_session_serves_several_messages(smtp_settings: SmtpStandIn) -> None:
    rows = [record(email=f"guest{n}@example.com") for n in range(3)]
    for row in rows:
        assert delivery.deliver(row.pk) == delivery.SENT
    assert smtp_settings.handler.sessions == 1
    assert smtp_settings.handler.accepted_ids() == {row.pk: 1 for row in rows}


def test_smtp_4xx_then_success_is_one_message_after_two_attempts(
    smtp_settings: SmtpStandIn,
) -> None:
    smtp_settings.handler.data_replies.append("451 4.3.0 Try again later")
    row = record()
    before = timezone.now()
    assert delivery.deliver(row.pk) == delivery.RETRY
    row.refresh_from_db()
    assert row.status == S.PENDING and row.attempts == 1
    assert "SMTP 451" in row.last_error
    # Retried after NOTIFICATION_RETRY_DELAY (60 s) with +-20 % jitter, not at once.
    assert before + timedelta(seconds=47) < row.next_attempt_at < before + timedelta(seconds=73)
    assert delivery.deliver(row.pk) == delivery.SKIPPED  # not due yet

    make_due(row)
    assert delivery.deliver(row.pk) == delivery.SENT
    row.refresh_from_db()
    assert row.status == S.SENT and row.attempts == 2 and row.last_error == ""
    assert attempts(row) == [(1, "retry"), (2, "sent")]
    assert smtp_settings.handler.accepted_ids() == {row.pk: 1}


def test_smtp_5xx_fails_at_once_with_the_reason(smtp_settings: SmtpStandIn) -> None:
    smtp_settings.handler.refuse["nobody@example.com"] = "550 5.1.1 No such user"
    row = record(email="nobody@example.com")
    assert delivery.deliver(row.pk) == delivery.FAILED
    row.refresh_from_db()
    assert row.status == S.FAILED and row.attempts == 1 and row.failed_at is not None
    assert "SMTP 550" in row.last_error and "No such user" in row.last_error
    # No more attempts: not by the task, not by the sweep.
    make_due(row)
    assert delivery.deliver(row.pk) == delivery.SKIPPED
    assert services.notifications_sweep() == {"due": 0, "interrupted": 0, "held": 0}
    assert attempts(row) == [(1, "failed")]
    assert smtp_settings.handler.messages == []


def test_smtp_server_down_is_transient(settings: Any) -> None:
    server = SmtpStandIn()  # never started: the port refuses connections
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 2
    row = record()
    assert delivery.deliver(row.pk) == delivery.RETRY
    row.refresh_from_db()
    assert row.status == S.PENDING and "SMTP" in row.last_error


def test_a_recipient_without_an_address_fails_at_once(smtp_settings: SmtpStandIn) -> None:
    row = record(email="")
    assert delivery.deliver(row.pk) == delivery.FAILED
    row.refresh_from_db()
    assert row.status == S.FAILED and row.last_error == "The recipient has no email address."
    assert smtp_settings.handler.messages == []


def test_transient_failures_give_up_after_max_attempts(
    smtp_settings: SmtpStandIn, settings: Any
) -> None:
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    smtp_settings.handler.data_replies.extend(["421 busy", "452 full"])
    row = record()
    assert delivery.deliver(row.pk) == delivery.RETRY
    make_due(row)
    assert delivery.deliver(row.pk) == delivery.FAILED
    row.refresh_from_db()
    assert row.status == S.FAILED and row.attempts == 2
    assert row.last_error.startswith("Gave up after 2 attempts.")
    assert "SMTP 452" in row.last_error
    assert attempts(row) == [(1, "retry"), (2, "failed")]


def test_the_same_task_run_twice_sends_once(smtp_settings: SmtpStandIn) -> None:
    row = record()
    assert delivery.deliver(row.pk) == delivery.SENT
    assert delivery.deliver(row.pk) == delivery.SKIPPED
    assert smtp_settings.handler.accepted_ids() == {row.pk: 1}
    assert attempts(row) == [(1, "sent")]


def test_a_run_that_lost_its_claim_cannot_overwrite_the_outcome(
    smtp_settings: SmtpStandIn,
) -> None:
    row = record()
    first = delivery.claim(row.pk)
    assert first is not None
    assert delivery.claim(row.pk) is None  # claimed: nobody else may take it
    # The claim goes stale (its worker presumed dead) and another run takes over.
    Notification.objects.filter(pk=row.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    assert delivery.deliver(row.pk) == delivery.SENT
    attempt = DeliveryAttempt.objects.create(notification=row, number=99)
    assert delivery._finish(first, attempt, outcome="failed", status=S.FAILED) is False
    row.refresh_from_db()
    assert row.status == S.SENT and row.attempts == 2


# --- WhatsApp over HTTP ------------------------------------------------------------------


def test_whatsapp_is_sent_to_the_cloud_api_over_http(whatsapp_settings: CloudApiStandIn) -> None:
    row = record(
        channel="whatsapp",
        kind="item_assigned",
        service="Transfer",
        when="Fri 12 Mar 2027 14:00 – 15:00 (UTC, UTC+00:00)",
        quantity="2",
        start="Fri 12 Mar 2027 14:00 (UTC, UTC+00:00)",
        description="Van",
    )
    assert delivery.deliver(row.pk) == delivery.SENT
    (request,) = whatsapp_settings.state.requests
    assert request.path == "/v21.0/1234567890/messages"
    assert request.headers["authorization"] == "Bearer test-access-token"
    assert request.headers["content-type"] == "application/json"
    body = request.body
    assert body["messaging_product"] == "whatsapp" and body["type"] == "template"
    assert body["to"] == "351910000009"
    assert body["template"]["name"] == "item_assigned"
    params = [p["text"] for p in body["template"]["components"][0]["parameters"]]
    assert params == ["BK-TEST1", "Transfer", "Fri 12 Mar 2027 14:00 – 15:00 (UTC, UTC+00:00)", "2"]
    assert body["biz_opaque_callback_data"] == f"notification:{row.pk}"
    row.refresh_from_db()
    assert row.status == S.SENT and row.provider_message_id == "wamid.standin.1"
    assert whatsapp_settings.state.accepted_ids() == {row.pk: 1}


def test_one_http_session_is_reused_across_messages(whatsapp_settings: CloudApiStandIn) -> None:
    rows = [record(channel="whatsapp", phone=f"+35191000001{n}") for n in range(3)]
    for row in rows:
        assert delivery.deliver(row.pk) == delivery.SENT
    ports = {request.client_port for request in whatsapp_settings.state.requests}
    assert len(ports) == 1  # one keep-alive connection
    assert get_backend("whatsapp").session is get_backend("whatsapp").session


@pytest.mark.parametrize(
    "failure",
    [503, (429, {"error": {"message": "slow down", "code": 130429}}, {"Retry-After": "120"})],
)
def test_http_5xx_or_429_then_success_is_one_message_after_two_attempts(
    whatsapp_settings: CloudApiStandIn, failure: Any
) -> None:
    whatsapp_settings.state.responder = lambda request, number: failure if number == 1 else None
    row = record(channel="whatsapp")
    before = timezone.now()
    assert delivery.deliver(row.pk) == delivery.RETRY
    row.refresh_from_db()
    assert row.status == S.PENDING and row.attempts == 1
    if isinstance(failure, tuple):
        assert "HTTP 429" in row.last_error
        assert row.next_attempt_at >= before + timedelta(seconds=119)  # Retry-After honoured
    else:
        assert "HTTP 503" in row.last_error
    make_due(row)
    assert delivery.deliver(row.pk) == delivery.SENT
    row.refresh_from_db()
    assert row.status == S.SENT and row.attempts == 2
    assert attempts(row) == [(1, "retry"), (2, "sent")]
    assert len(whatsapp_settings.state.requests) == 2
    assert whatsapp_settings.state.accepted_ids() == {row.pk: 1}


def test_http_4xx_fails_at_once_with_the_providers_reason(
    whatsapp_settings: CloudApiStandIn,
) -> None:
    whatsapp_settings.state.responder = lambda request, number: (
        400,
        {
            "error": {
                "message": "Template name does not exist",
                "code": 132001,
                "error_data": {"details": "item_assigned (en)"},
            }
        },
    )
    row = record(channel="whatsapp")
    assert delivery.deliver(row.pk) == delivery.FAILED
    row.refresh_from_db()
    assert row.status == S.FAILED
    assert row.last_error == (
        "HTTP 400, error 132001: Template name does not exist (item_assigned (en))"
    )
    make_due(row)
    assert delivery.deliver(row.pk) == delivery.SKIPPED
    assert len(whatsapp_settings.state.requests) == 1


def test_an_api_that_never_answers_is_an_interrupted_send_held_for_whatsapp(
    whatsapp_settings: CloudApiStandIn, settings: Any
) -> None:
    """The request left and no answer came: the Cloud API may have accepted it. A
    WhatsApp message is not sent again without a person's decision."""
    settings.WHATSAPP_READ_TIMEOUT = 0.3
    whatsapp_settings.state.responder = lambda request, number: HANG
    row = record(channel="whatsapp")
    assert delivery.deliver(row.pk) == delivery.INTERRUPTED
    whatsapp_settings.state.release.set()
    row.refresh_from_db()
    assert row.status == S.INTERRUPTED and row.interrupted_at is not None
    assert "did not answer in time" in row.last_error and "Held" in row.last_error
    assert attempts(row) == [(1, "interrupted")]
    make_due(row)
    assert delivery.deliver(row.pk) == delivery.SKIPPED
    assert services.notifications_sweep() == {"due": 0, "interrupted": 0, "held": 0}
    assert len(whatsapp_settings.state.requests) == 1


def test_an_api_that_cannot_be_reached_is_a_plain_transient_failure(settings: Any) -> None:
    """Nothing left the building: retried on schedule, no interruption, no duplicate."""
    from tests.notifications.standins import free_port

    settings.WHATSAPP_API_URL = f"http://127.0.0.1:{free_port()}/v21.0"
    for name, value in WHATSAPP_SETTINGS.items():
        setattr(settings, name, value)
    settings.NOTIFICATION_BACKENDS = {
        **settings.NOTIFICATION_BACKENDS,
        "whatsapp": "notifications.backends.whatsapp.CloudApiBackend",
    }
    row = record(channel="whatsapp")
    assert delivery.deliver(row.pk) == delivery.RETRY
    row.refresh_from_db()
    assert row.status == S.PENDING and row.interrupted_at is None
    assert attempts(row) == [(1, "retry")]


def test_a_phone_that_is_not_e164_fails_without_a_request(
    whatsapp_settings: CloudApiStandIn,
) -> None:
    row = record(channel="whatsapp", phone="call me")
    assert delivery.deliver(row.pk) == delivery.FAILED
    row.refresh_from_db()
    assert "not an E.164 phone number" in row.last_error
    assert whatsapp_settings.state.requests == []


def test_console_backend_prints_the_template_call(capsys: Any) -> None:
    row = record(channel="whatsapp")
    assert isinstance(get_backend("whatsapp"), ConsoleBackend)
    assert delivery.deliver(row.pk) == delivery.SENT
    out = capsys.readouterr().out
    assert "WhatsApp to +351910000009 (Ada Lovelace)" in out
    assert "template booking_approved(BK-TEST1)" in out


# --- the sweep ----------------------------------------------------------------------------


def test_sweep_delivers_a_row_whose_enqueue_was_lost(smtp_settings: SmtpStandIn) -> None:
    """A crash between commit and enqueue: the row is pending, never tried, and no task."""
    lost = record()
    fresh = record(email="fresh@example.com")
    Notification.objects.filter(pk=lost.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    # sync mode: the sweep's async_task runs the delivery in-process.
    assert services.notifications_sweep() == {"due": 1, "interrupted": 0, "held": 0}
    lost.refresh_from_db()
    assert lost.status == S.SENT and lost.attempts == 1
    # A row younger than NOTIFICATION_SWEEP_GRACE is still on its way: left alone.
    assert Notification.objects.get(pk=fresh.pk).status == S.PENDING
    assert smtp_settings.handler.accepted_ids() == {lost.pk: 1}


def test_sweep_sends_a_retry_only_once_it_is_due(smtp_settings: SmtpStandIn) -> None:
    smtp_settings.handler.data_replies.append("451 later")
    row = record()
    assert delivery.deliver(row.pk) == delivery.RETRY
    assert services.notifications_sweep() == {"due": 0, "interrupted": 0, "held": 0}
    make_due(row)
    assert services.notifications_sweep() == {"due": 1, "interrupted": 0, "held": 0}
    assert Notification.objects.get(pk=row.pk).status == S.SENT


def test_schedules_are_created_once_by_name_with_catch_up_off(settings: Any) -> None:
    from django_q.models import Schedule

    create_schedules()
    create_schedules()
    sweep = Schedule.objects.get(name=SWEEP_SCHEDULE)
    assert (sweep.func, sweep.schedule_type, sweep.minutes, sweep.repeats) == (
        "notifications.tasks.sweep",
        Schedule.MINUTES,
        1,
        -1,
    )
    assert (
        Schedule.objects.filter(name=PURGE_SCHEDULE, func="notifications.tasks.purge").count() == 1
    )
    assert Schedule.objects.filter(name="offers: expire due offers").count() == 1
    assert settings.Q_CLUSTER["catch_up"] is False


# --- concurrency (PostgreSQL: real parallel transactions) ----------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_row_send_it_once(whatsapp_settings: CloudApiStandIn) -> None:
    row = record(channel="whatsapp")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def run() -> None:
        try:
            barrier.wait()
            outcomes.append(delivery.deliver(row.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == [delivery.SENT] + [delivery.SKIPPED] * 3
    assert whatsapp_settings.state.accepted_ids() == {row.pk: 1}
    assert Notification.objects.get(pk=row.pk).attempts == 1


# --- failures inside the task ------------------------------------------------------------


class Raising:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def send(self, notification: Notification) -> str:
        raise self.exc

    def close(self) -> None:
        pass


def test_task_timeout_is_an_interrupted_send_resent_for_email_and_reraised(
    monkeypatch: Any,
) -> None:
    from django_q.exceptions import TimeoutException

    monkeypatch.setattr(delivery, "get_backend", lambda channel: Raising(TimeoutException()))
    row = record()
    with pytest.raises(TimeoutException):
        delivery.deliver(row.pk)
    row.refresh_from_db()
    # Settled now, not left 'sending' until the claim goes stale; email is resent
    # after the retry delay.
    assert row.status == S.PENDING and row.attempts == 1 and row.interrupted_at is not None
    assert row.next_attempt_at > row.interrupted_at
    assert (
        row.last_error
        == f"{delivery.TASK_TIMEOUT} Sent again: the copy is marked as a possible duplicate."
    )
    assert attempts(row) == [(1, "interrupted")]


def test_an_unexpected_error_is_logged_and_retried_a_bounded_number_of_times(
    monkeypatch: Any, settings: Any, caplog: Any
) -> None:
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    monkeypatch.setattr(delivery, "get_backend", lambda channel: Raising(KeyError("boom")))
    row = record()
    assert delivery.deliver(row.pk) == delivery.RETRY
    assert "unexpected error while sending" in caplog.text
    make_due(row)
    assert delivery.deliver(row.pk) == delivery.FAILED
    row.refresh_from_db()
    assert row.status == S.FAILED and "KeyError" in row.last_error


def test_a_missing_row_is_skipped() -> None:
    assert delivery.deliver(987654321) == delivery.SKIPPED


def test_sweep_leaves_rows_whose_task_still_waits_in_a_backlogged_queue() -> None:
    """With the ORM broker: a row due before the oldest waiting task is lost; one after
    it may still have its task in the queue, and is not given a second one."""
    from django_q.models import OrmQ

    from tests.notifications.cluster import enqueue_to_broker

    now = timezone.now()
    lost, queued = record(), record(email="queued@example.com")
    Notification.objects.filter(pk=lost.pk).update(next_attempt_at=now - timedelta(minutes=10))
    Notification.objects.filter(pk=queued.pk).update(next_attempt_at=now - timedelta(minutes=5))
    with enqueue_to_broker():
        services.enqueue_delivery(queued.pk)
        # Enqueued five minutes ago and still waiting: the workers are behind.
        OrmQ.objects.update(lock=now - timedelta(minutes=5))
        assert services.notifications_sweep() == {"due": 1, "interrupted": 0, "held": 0}
        tasks = list(OrmQ.objects.order_by("lock"))
    assert len(tasks) == 2
    assert tasks[1].task["args"] == (lost.pk,)
    # Once the queue has drained, a row due for longer than the grace period is lost.
    OrmQ.objects.all().delete()
    with enqueue_to_broker():
        assert services.notifications_sweep() == {"due": 2, "interrupted": 0, "held": 0}

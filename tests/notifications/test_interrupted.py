"""Interrupted sends: a send began and no outcome was recorded (the worker died, the
task was stopped, the provider never answered). Whether the message arrived is unknown,
so the row says so, and its kind's policy sends it again as a possible duplicate or
holds it until a person decides.

Email over real SMTP to the aiosmtpd stand-in, WhatsApp over real HTTP to the Cloud API
stand-in; a worker's death is a claim left open and aged past the stale limit.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEntry
from notifications import delivery, services
from notifications.backends import get_backend
from notifications.kinds import HOLD, KINDS, RESEND, policy_after_interruption
from notifications.models import Notification
from notifications.receipts import receipts_apply
from partners.roles import AGENTS, PARTNER_MANAGERS
from tests import factories
from tests.notifications.standins import CloudApiStandIn, SmtpStandIn
from tests.notifications.test_delivery import attempts, record

pytestmark = pytest.mark.django_db
S = Notification.Status
CHANGELIST = reverse("admin:notifications_notification_changelist")
NOTHING = {"due": 0, "interrupted": 0, "held": 0}


def killed_mid_send(row: Notification, *, handed_over: bool = True) -> None:
    """A worker claims the row, hands the message to the provider (or not) and dies
    before recording the answer; time passes until its claim is stale."""
    assert delivery.claim(row.pk) is not None
    if handed_over:
        get_backend(row.channel).send(Notification.objects.get(pk=row.pk))
    Notification.objects.filter(pk=row.pk).update(claimed_at=timezone.now() - timedelta(hours=1))


def set_policy(monkeypatch: Any, kind: str, **policy: str) -> None:
    monkeypatch.setitem(KINDS, kind, dataclasses.replace(KINDS[kind], after_interruption=policy))


# --- the policy ---------------------------------------------------------------------------


def test_every_kind_resends_email_and_holds_whatsapp_by_default() -> None:
    for kind in KINDS:
        assert policy_after_interruption(kind, "email") == RESEND, kind
        assert policy_after_interruption(kind, "whatsapp") == HOLD, kind
    # A channel or a kind nobody declared: a copy nobody can take back is held.
    assert policy_after_interruption("booking_approved", "webhook") == HOLD
    assert policy_after_interruption("no_such_kind", "email") == HOLD


# --- the sweep ------------------------------------------------------------------------------


def test_sweep_marks_a_dead_workers_email_interrupted_and_resends_it_as_a_possible_duplicate(
    smtp_settings: SmtpStandIn,
) -> None:
    row = record()
    killed_mid_send(row)
    live = record(email="live@example.com")
    assert delivery.claim(live.pk) is not None  # claimed just now: still being sent
    assert attempts(row) == [(1, "")]  # opened with the claim, never finished

    assert services.notifications_sweep() == {"due": 1, "interrupted": 1, "held": 0}

    row.refresh_from_db()
    assert row.status == S.SENT and row.attempts == 2
    assert row.possible_duplicate is True and row.interrupted_at is not None
    assert attempts(row) == [(1, "interrupted"), (2, "sent")]
    # Both copies reached the server, with one Message-ID: a mail system can drop one.
    first, second = smtp_settings.handler.message_ids(row.pk)
    assert first == second == get_backend("email").message_id(row)
    live.refresh_from_db()
    assert live.status == S.SENDING and live.interrupted_at is None
    assert services.notifications_sweep() == NOTHING


def test_the_message_id_is_the_rows_own_and_differs_between_rows(
    smtp_settings: SmtpStandIn,
) -> None:
    one, other = record(), record(email="other@example.com")
    backend = get_backend("email")
    assert backend.message_id(one) == backend.message_id(Notification.objects.get(pk=one.pk))
    assert backend.message_id(one) != backend.message_id(other)
    assert f"notification.{one.pk}." in backend.message_id(one)


def test_sweep_holds_an_interrupted_whatsapp_message_until_a_person_decides(
    whatsapp_settings: CloudApiStandIn,
) -> None:
    row = record(channel="whatsapp")
    killed_mid_send(row)
    assert services.notifications_sweep() == {"due": 0, "interrupted": 1, "held": 1}
    row.refresh_from_db()
    assert row.status == S.INTERRUPTED and row.interrupted_at is not None
    assert "Held" in row.last_error and row.claim_token is None
    assert attempts(row) == [(1, "interrupted")]
    # Nothing sends it: not the sweep, not a task handed out again, not a due date.
    Notification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert services.notifications_sweep() == NOTHING
    assert delivery.deliver(row.pk) == delivery.SKIPPED
    assert whatsapp_settings.state.accepted_ids() == {row.pk: 1}
    assert Notification.objects.get(pk=row.pk).possible_duplicate is False


def test_a_kind_may_hold_email_and_resend_whatsapp(
    monkeypatch: Any, smtp_settings: SmtpStandIn, whatsapp_settings: CloudApiStandIn
) -> None:
    set_policy(monkeypatch, "booking_approved", email=HOLD, whatsapp=RESEND)
    mail, chat = record(), record(channel="whatsapp")
    killed_mid_send(mail)
    killed_mid_send(chat)
    assert services.notifications_sweep() == {"due": 1, "interrupted": 2, "held": 1}
    assert Notification.objects.get(pk=mail.pk).status == S.INTERRUPTED
    assert smtp_settings.handler.accepted_ids() == {mail.pk: 1}
    chat.refresh_from_db()
    assert chat.status == S.SENT and chat.possible_duplicate is True
    assert whatsapp_settings.state.accepted_ids() == {chat.pk: 2}


def test_a_task_handed_out_again_settles_the_interruption_itself(
    smtp_settings: SmtpStandIn, whatsapp_settings: CloudApiStandIn
) -> None:
    """The ORM broker hands a dead worker's task out again: the run that gets it does
    what the sweep would have done, without waiting for it."""
    mail, chat = record(), record(channel="whatsapp")
    killed_mid_send(mail)
    killed_mid_send(chat)
    assert delivery.deliver(mail.pk) == delivery.SENT
    assert delivery.deliver(chat.pk) == delivery.SKIPPED
    assert attempts(mail) == [(1, "interrupted"), (2, "sent")]
    assert Notification.objects.get(pk=mail.pk).possible_duplicate is True
    assert Notification.objects.get(pk=chat.pk).status == S.INTERRUPTED
    assert services.notifications_sweep() == NOTHING


def test_an_interrupted_send_that_was_never_handed_over_is_still_a_possible_duplicate(
    smtp_settings: SmtpStandIn,
) -> None:
    """Nobody can tell from the outbox whether the dead worker's message left: the
    resend is flagged either way (the stand-in knows it got one copy)."""
    row = record()
    killed_mid_send(row, handed_over=False)
    services.notifications_sweep()
    row.refresh_from_db()
    assert row.status == S.SENT and row.possible_duplicate is True
    assert smtp_settings.handler.accepted_ids() == {row.pk: 1}


def test_an_interruption_with_every_attempt_spent_fails_instead_of_resending(
    smtp_settings: SmtpStandIn, settings: Any
) -> None:
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    row = record()
    killed_mid_send(row)
    assert services.notifications_sweep() == {"due": 0, "interrupted": 1, "held": 0}
    row.refresh_from_db()
    assert row.status == S.FAILED and row.last_error.startswith("Gave up after 1 attempts.")
    assert attempts(row) == [(1, "interrupted")]


def test_a_run_that_outlived_its_claim_cannot_undo_the_interruption(
    smtp_settings: SmtpStandIn,
) -> None:
    row = record(channel="whatsapp")
    taken = delivery.claim(row.pk)
    assert taken is not None
    Notification.objects.filter(pk=row.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    services.notifications_sweep()
    assert delivery._finish(taken, taken.attempt, outcome="sent", status=S.SENT) is False
    assert Notification.objects.get(pk=row.pk).status == S.INTERRUPTED


def test_a_relay_that_takes_the_message_and_answers_too_late_is_an_interrupted_send(
    smtp_settings: SmtpStandIn, settings: Any
) -> None:
    """The slow relay of issue 12: the message was taken, the "250" came after the
    client's timeout. The resend is flagged, with the first copy's Message-ID."""
    settings.EMAIL_TIMEOUT = 0.3
    smtp_settings.handler.reply_delay = 1.0
    row = record()
    assert delivery.deliver(row.pk) == delivery.INTERRUPTED
    row.refresh_from_db()
    assert row.status == S.PENDING and row.interrupted_at is not None
    assert "no answer in time" in row.last_error
    assert attempts(row) == [(1, "interrupted")]
    smtp_settings.handler.reply_delay = 0
    Notification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery.deliver(row.pk) == delivery.SENT
    row.refresh_from_db()
    assert row.possible_duplicate is True
    first, second = smtp_settings.handler.message_ids(row.pk)
    assert first == second


def test_a_relay_that_cannot_be_reached_is_a_plain_transient_failure(settings: Any) -> None:
    from tests.notifications.standins import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    row = record()
    assert delivery.deliver(row.pk) == delivery.RETRY
    row.refresh_from_db()
    assert row.interrupted_at is None and attempts(row) == [(1, "retry")]


def test_a_clean_send_is_never_a_possible_duplicate(smtp_settings: SmtpStandIn) -> None:
    smtp_settings.handler.data_replies.append("451 later")
    row = record()
    assert delivery.deliver(row.pk) == delivery.RETRY
    Notification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery.deliver(row.pk) == delivery.SENT
    row.refresh_from_db()
    assert row.possible_duplicate is False and row.interrupted_at is None


# --- a person decides ---------------------------------------------------------------------


@pytest.fixture
def held(whatsapp_settings: CloudApiStandIn) -> list[Notification]:
    rows = [record(channel="whatsapp", phone=f"+35191000001{n}") for n in range(2)]
    for row in rows:
        killed_mid_send(row)
    assert services.notifications_sweep()["held"] == 2
    return rows


def test_send_again_sends_a_held_row_as_a_possible_duplicate_and_records_who(
    held: list[Notification],
    whatsapp_settings: CloudApiStandIn,
    django_capture_on_commit_callbacks: Any,
) -> None:
    person = factories.StaffFactory(username="ops", first_name="Olga", last_name="Ops")
    sent_row = record(email="done@example.com")
    Notification.objects.filter(pk=sent_row.pk).update(status=S.SENT)
    with django_capture_on_commit_callbacks(execute=True):
        done = services.notifications_send_again(
            notification_ids=[held[0].pk, sent_row.pk], user=person
        )
    assert done == 1
    row = Notification.objects.get(pk=held[0].pk)
    assert row.status == S.SENT and row.possible_duplicate is True
    assert attempts(row) == [(1, "interrupted"), (2, "sent")]
    assert whatsapp_settings.state.accepted_ids() == {held[0].pk: 2, held[1].pk: 1}
    assert Notification.objects.get(pk=held[1].pk).status == S.INTERRUPTED
    (entry,) = AuditEntry.objects.filter(object_id=row.pk, action="notification_sent_again")
    assert entry.actor == person and entry.actor_label == "Olga Ops"
    assert (entry.from_status, entry.to_status) == ("interrupted", "pending")


def test_mark_delivered_settles_a_held_row_without_sending(
    held: list[Notification], whatsapp_settings: CloudApiStandIn
) -> None:
    person = factories.StaffFactory(username="ops")
    assert services.notifications_mark_delivered(notification_ids=[held[0].pk], user=person) == 1
    row = Notification.objects.get(pk=held[0].pk)
    assert row.status == S.SENT and row.possible_duplicate is False
    first = row.delivery_attempts.get(number=1)
    assert row.sent_at == first.started_at
    assert whatsapp_settings.state.accepted_ids() == {held[0].pk: 1, held[1].pk: 1}
    assert AuditEntry.objects.filter(
        object_id=row.pk, action="notification_marked_delivered", actor=person
    ).exists()
    # Decided once: a second decision finds nothing to do.
    assert services.notifications_send_again(notification_ids=[row.pk]) == 0


def test_cancel_drops_a_held_row(held: list[Notification]) -> None:
    assert services.notifications_cancel(notification_ids=[held[0].pk]) == 1
    assert Notification.objects.get(pk=held[0].pk).status == S.CANCELLED
    assert delivery.deliver(held[0].pk) == delivery.SKIPPED


@pytest.mark.parametrize(
    ("receipt", "status"),
    [("sent", S.SENT), ("delivered", S.DELIVERED), ("read", S.READ), ("failed", S.FAILED)],
)
def test_a_whatsapp_receipt_for_a_held_send_settles_it_without_a_person(
    held: list[Notification], receipt: str, status: str
) -> None:
    row = held[0]
    payload = {
        "entry": [
            {
                "changes": [
                    {
                        "value": {
                            "statuses": [
                                {
                                    "id": "wamid.interrupted",
                                    "status": receipt,
                                    "timestamp": "1790000000",
                                    "biz_opaque_callback_data": f"notification:{row.pk}",
                                }
                            ]
                        }
                    }
                ]
            }
        ]
    }
    assert receipts_apply(payload=payload).updated == 1
    row.refresh_from_db()
    assert row.status == status and row.provider_message_id == "wamid.interrupted"
    assert Notification.objects.get(pk=held[1].pk).status == S.INTERRUPTED


# --- the admin ------------------------------------------------------------------------------


def run_action(client: Client, action: str, *rows: Notification) -> Any:
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [r.pk for r in rows]}, follow=True
    )


def test_agents_send_again_and_mark_delivered_from_the_admin(
    client: Client,
    held: list[Notification],
    whatsapp_settings: CloudApiStandIn,
    django_capture_on_commit_callbacks: Any,
) -> None:
    agent = factories.StaffFactory(username="agent", groups=[AGENTS])
    client.force_login(agent)
    listing = client.get(CHANGELIST, {"status__exact": "interrupted"})
    assert {r.pk for r in listing.context["cl"].result_list} == {r.pk for r in held}
    assert "Interrupted (held)" in listing.content.decode()
    pending = record(email="pending@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(client, "send_again", held[0], pending)
    messages = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("1 notification(s) queued to be sent again") for m in messages)
    assert any(m.startswith("1 notification(s) skipped: only interrupted") for m in messages)
    assert Notification.objects.get(pk=pending.pk).status == S.PENDING
    response = run_action(client, "mark_delivered", held[1])
    assert "1 notification(s) marked as delivered." in [
        str(m) for m in response.context["messages"]
    ]
    assert Notification.objects.get(pk=held[0].pk).status == S.SENT
    assert Notification.objects.get(pk=held[1].pk).status == S.SENT
    assert whatsapp_settings.state.accepted_ids() == {held[0].pk: 2, held[1].pk: 1}
    # The resend shows up under the possible-duplicate filter, and only it.
    duplicates = client.get(CHANGELIST, {"possible_duplicate__exact": "1"})
    assert {r.pk for r in duplicates.context["cl"].result_list} == {held[0].pk}
    detail = client.get(reverse("admin:notifications_notification_change", args=[held[0].pk]))
    html = detail.content.decode()
    assert "interrupted" in html and delivery.STALE_CLAIM in html


def test_partner_managers_cannot_decide_on_interrupted_rows(
    client: Client, held: list[Notification], whatsapp_settings: CloudApiStandIn
) -> None:
    manager = factories.StaffFactory(username="manager", groups=[PARTNER_MANAGERS])
    client.force_login(manager)
    assert client.get(CHANGELIST).context["action_form"] is None
    run_action(client, "send_again", held[0])
    run_action(client, "mark_delivered", held[1])
    assert set(
        Notification.objects.filter(pk__in=[r.pk for r in held]).values_list("status", flat=True)
    ) == {S.INTERRUPTED}
    assert whatsapp_settings.state.accepted_ids() == {held[0].pk: 1, held[1].pk: 1}

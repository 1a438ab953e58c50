"""Password reset: the email goes through the outbox and the worker sends it, so the
page answers at once and alike whether or not the address has an account, however
slow the mail relay is; the reset link is a secret, stored sealed."""

from __future__ import annotations

import json
import re
import time
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.module_loading import import_string
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from notifications import delivery
from notifications.models import Notification
from notifications.sealed import HIDDEN_LINK
from tests.notifications.standins import SmtpStandIn

pytestmark = pytest.mark.django_db

SLOW_RELAY = 2.0


def ask(client: Client, email: str) -> tuple[Any, float]:
    started = time.perf_counter()
    response = client.post(reverse("password_reset"), {"email": email})
    return response, time.perf_counter() - started


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Tasks go to the real (ORM) broker instead of running in-process; ``run()`` is
    the worker: it takes each waiting task from the broker and runs it."""
    monkeypatch.setattr(Conf, "SYNC", False)
    broker = get_broker()

    def waiting() -> list[dict[str, Any]]:
        return [
            SignedPackage.loads(row.payload)
            for row in OrmQ.objects.filter(key=broker.list_key).order_by("id")
        ]

    def run() -> None:
        while True:
            taken = broker.dequeue()
            if not taken:
                return
            for ack_id, package in taken:
                task = SignedPackage.loads(package)
                import_string(task["func"])(*task["args"], **task["kwargs"])
                broker.acknowledge(ack_id)

    return SimpleNamespace(waiting=waiting, run=run)


def test_the_request_does_not_wait_for_a_slow_relay_and_answers_alike(
    smtp_settings: SmtpStandIn,
    vendor_user: Any,
    queued: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    smtp_settings.handler.reply_delay = SLOW_RELAY
    ask(Client(), "warm-up@example.com")  # first request of the process: imports, templates
    OrmQ.objects.all().delete()
    known, known_took = ask(Client(), vendor_user.email)
    unknown, unknown_took = ask(Client(), "nobody@example.com")
    # Nothing went over SMTP inside either request, and both did the same: one task.
    assert smtp_settings.handler.data_commands == 0
    assert known_took < SLOW_RELAY / 4 and unknown_took < SLOW_RELAY / 4
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("password_reset_done")
    tasks = queued.waiting()
    assert [(t["func"], t["args"]) for t in tasks] == [
        ("partners.tasks.password_reset_email", (vendor_user.email,)),
        ("partners.tasks.password_reset_email", ("nobody@example.com",)),
    ]
    assert not Notification.objects.filter(kind="password_reset").exists()

    # The worker: an outbox row for the known address only, sent after its commit.
    with django_capture_on_commit_callbacks() as deliveries:
        queued.run()
    row = Notification.objects.get(kind="password_reset")
    assert row.recipient == vendor_user.email and row.status == Notification.Status.PENDING
    assert len(deliveries) == 1


def test_known_and_unknown_addresses_get_the_same_page(vendor_user: Any) -> None:
    pages = []
    for email in (vendor_user.email, "nobody@example.com"):
        response = Client().post(reverse("password_reset"), {"email": email}, follow=True)
        pages.append((response.status_code, response.redirect_chain, response.content))
    assert pages[0] == pages[1]


def test_the_worker_sends_a_working_link_that_is_stored_nowhere_readable(
    smtp_settings: SmtpStandIn, vendor_user: Any, client: Client
) -> None:
    client.post(reverse("password_reset"), {"email": vendor_user.email})
    row = Notification.objects.get(kind="password_reset")
    assert HIDDEN_LINK in row.body_text and HIDDEN_LINK in row.body_html
    assert "/accounts/password/reset/" not in json.dumps(
        [row.subject, row.body_text, row.body_html, row.context, row.whatsapp_params]
    )

    assert delivery.deliver(row.pk) == delivery.SENT
    (mail,) = smtp_settings.handler.messages
    assert mail.rcpt_tos == [vendor_user.email]
    assert mail.message["Subject"] == "Choose a new password for the booking office portal"
    text = next(
        part.get_payload(decode=True).decode()
        for part in mail.message.walk()
        if part.get_content_type() == "text/plain"
    )
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", text)
    assert link is not None
    row.refresh_from_db()
    assert link.group(1) not in json.dumps([row.body_text, row.body_html, row.context])

    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "fresh-Passphrase-77", "new_password2": "fresh-Passphrase-77"},
        follow=True,
    )
    assert "Your new password is saved" in done.content.decode()
    vendor_user.refresh_from_db()
    assert vendor_user.check_password("fresh-Passphrase-77")


def test_no_row_for_an_unknown_or_inactive_address(client: Client, vendor_user: Any) -> None:
    vendor_user.is_active = False
    vendor_user.save(update_fields=["is_active"])
    for email in ("nobody@example.com", vendor_user.email):
        client.post(reverse("password_reset"), {"email": email})
    assert not Notification.objects.filter(kind="password_reset").exists()

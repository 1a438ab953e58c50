"""A recipient's display name is folded to one line, so nothing stored (a customer
name typed with CR/LF before names were checked) can break or extend a message."""

from __future__ import annotations

import pytest

from notifications import delivery
from notifications.models import Notification
from notifications.services import Recipient, notify, recording_only
from tests.notifications.standins import SmtpStandIn

pytestmark = pytest.mark.django_db


def _row(name: str) -> Notification:
    with recording_only():
        (row,) = notify(
            kind="booking_approved",
            recipients=[Recipient(name=name, email="ann@example.com")],
            context={"reference": "BK-CRLF1", "customer_name": name, "total": "", "items": []},
        )
    return row


@pytest.mark.parametrize("name", ["Ann\r\nBcc: x@example.com", "Ann\nBcc: x@example.com"])
def test_crlf_in_a_stored_name_is_folded_and_the_mail_goes(
    smtp_settings: SmtpStandIn, name: str
) -> None:
    row = _row(name)
    # As rows recorded before names were checked hold it.
    Notification.objects.filter(pk=row.pk).update(recipient_name=name)
    assert delivery.deliver(row.pk) == delivery.SENT
    (mail,) = smtp_settings.handler.messages
    assert mail.rcpt_tos == ["ann@example.com"]
    message = mail.message
    # One address, its name quoted: nothing of the name became a header of its own.
    assert message["To"] == '"Ann Bcc: x@example.com" <ann@example.com>'
    assert message["Bcc"] is None
    assert b"\r\nBcc:" not in mail.data.split(b"\r\n\r\n", 1)[0]


def test_control_characters_in_a_name_are_dropped(smtp_settings: SmtpStandIn) -> None:
    row = _row("Ann")
    Notification.objects.filter(pk=row.pk).update(recipient_name="Ann\x1b\x0b\tSmith")
    assert delivery.deliver(row.pk) == delivery.SENT
    (mail,) = smtp_settings.handler.messages
    assert mail.message["To"] == "Ann Smith <ann@example.com>"

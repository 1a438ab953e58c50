"""Email through Django's email API: whatever ``EMAIL_BACKEND`` is (SMTP from
``EMAIL_URL`` in production, console in development, locmem in tests)."""

from __future__ import annotations

import contextlib
import smtplib
import unicodedata
from email.utils import formataddr
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.core.validators import validate_email

from notifications.backends.base import (
    BaseBackend,
    PermanentDeliveryError,
    TransientDeliveryError,
)

if TYPE_CHECKING:
    from notifications.models import Notification


def _by_code(code: int, text: str) -> TransientDeliveryError | PermanentDeliveryError:
    # RFC 5321: 4yz is a transient negative reply, 5yz a permanent one.
    if 400 <= code < 500:
        return TransientDeliveryError(f"SMTP {code}: {text}")
    return PermanentDeliveryError(f"SMTP {code}: {text}")


def one_line(name: str) -> str:
    """A display name on one line: control characters and line or paragraph
    separators become spaces, runs of spaces one. A name stored with CR/LF would
    otherwise make Django refuse the whole message (or, elsewhere, add a header)."""
    spaced = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in name)
    return " ".join(spaced.split())


def _decode(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class EmailBackend(BaseBackend):
    """Sends through one Django email connection kept open across the worker's tasks.

    Reusing the SMTP session saves the connect, EHLO, STARTTLS and AUTH round trips
    per message; a session the server dropped while idle is reopened once.
    """

    channel = "email"

    def __init__(self) -> None:
        self.connection: Any = None
        self.domain = urlsplit(settings.SITE_URL).hostname or "localhost"

    def message_id(self, notification: Notification) -> str:
        # The same id on every attempt, so a receiver can drop a duplicate that a
        # connection lost after the server's "250 OK" would otherwise cause.
        stamp = int(notification.created_at.timestamp())
        return f"<notification.{notification.pk}.{stamp}@{self.domain}>"

    def build(self, notification: Notification) -> EmailMultiAlternatives:
        if not notification.recipient:
            raise PermanentDeliveryError("The recipient has no email address.")
        try:
            validate_email(notification.recipient)
        except ValidationError as exc:
            raise PermanentDeliveryError(
                f"{notification.recipient!r} is not a valid email address."
            ) from exc
        name = one_line(notification.recipient_name)
        to = formataddr((name, notification.recipient)) if name else notification.recipient
        message = EmailMultiAlternatives(
            subject=notification.subject,
            body=notification.body_text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
            headers={"Message-ID": self.message_id(notification)},
        )
        if notification.body_html:
            message.attach_alternative(notification.body_html, "text/html")
        for attachment in notification.attachments.all():
            message.attach(attachment.filename, bytes(attachment.content), attachment.mimetype)
        return message

    def send(self, notification: Notification) -> str:
        message = self.build(notification)
        try:
            self._send(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise _by_code(code, _decode(text)) from exc
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, _decode(exc.smtp_error)) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentDeliveryError(f"SMTP: {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Disconnected, refused, timed out, DNS: the server may be back later.
            self.close()
            raise TransientDeliveryError(f"SMTP: {exc.__class__.__name__}: {exc}") from exc
        except (BadHeaderError, ValueError, UnicodeError) as exc:
            raise PermanentDeliveryError(f"The message cannot be sent: {exc}") from exc
        return self.message_id(notification).strip("<>")

    def _send(self, message: EmailMultiAlternatives) -> None:
        reused = self.connection is not None
        if self.connection is None:
            self.connection = get_connection(fail_silently=False)
        try:
            # open() is a no-op on an open connection; send_messages leaves open a
            # connection it did not open itself.
            self.connection.open()
            self._hand_over(message)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            self.close()
            if not reused:
                raise
            self.connection = get_connection(fail_silently=False)
            self.connection.open()
            self._hand_over(message)

    def _hand_over(self, message: EmailMultiAlternatives) -> None:
        try:
            self.connection.send_messages([message])
        except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
            # smtplib reports a reply that never came as "disconnected", the timeout
            # as its context. The conversation had begun and the server went quiet,
            # most often while the client waits for the "250" after the message
            # itself: it may have been taken. (A timeout while connecting is
            # certain: nothing left. A connection found closed is reopened by _send.)
            if not isinstance(exc, TimeoutError) and not isinstance(exc.__context__, TimeoutError):
                raise
            self.close()
            raise TransientDeliveryError(
                f"SMTP: no answer in time once the message was on its way: {exc}",
                uncertain=True,
            ) from exc

    def close(self) -> None:
        if self.connection is not None:
            # Closing a connection the server already dropped may fail; it is gone anyway.
            with contextlib.suppress(Exception):
                self.connection.close()
            self.connection = None

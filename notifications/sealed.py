"""Secrets in messages (invitation and password-reset links): sealed when recorded,
put into the message only when it is sent.

A notification that carries a secret link is rendered and stored with
``HIDDEN_LINK`` where the link goes, so its stored subject, bodies, WhatsApp
parameters and context (what the admin, the API and a database dump show) hold no
usable link. The link itself is kept on the row encrypted (Fernet: AES-128-CBC with an
HMAC-SHA256, from the ``cryptography`` library) under a key derived from
``SECRET_KEY``; the delivery task alone opens it and swaps it in, in memory, just
before handing the message to its channel. ``SECRET_KEY_FALLBACKS`` still open rows
sealed before a key rotation.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.html import escape

from notifications.backends.base import PermanentDeliveryError

if TYPE_CHECKING:
    from notifications.models import Notification

HIDDEN_LINK = "[link hidden]"
_SALT = "notifications.sealed"


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(
                    salted_hmac(_SALT, "fernet", secret=key, algorithm="sha256").digest()
                )
            )
            for key in keys
        ]
    )


def seal(values: dict[str, str]) -> str:
    return _fernet().encrypt(json.dumps(values).encode()).decode()


def unseal(token: str) -> dict[str, str]:
    return json.loads(_fernet().decrypt(token.encode()))


def reveal(notification: Notification) -> Notification:
    """The message as it is to be sent: a copy with its sealed link put in place.

    The row itself (and the database) keeps the hidden form.
    """
    if not notification.sealed:
        return notification
    try:
        link = unseal(notification.sealed)["link"]
    except (InvalidToken, ValueError, KeyError) as exc:
        raise PermanentDeliveryError(
            "The message's link cannot be opened (SECRET_KEY changed without keeping the "
            "old one in SECRET_KEY_FALLBACKS); send a new one."
        ) from exc
    message = copy.copy(notification)
    message.body_text = notification.body_text.replace(HIDDEN_LINK, link)
    message.body_html = notification.body_html.replace(escape(HIDDEN_LINK), escape(link))
    message.whatsapp_params = [
        str(value).replace(HIDDEN_LINK, link) for value in notification.whatsapp_params or []
    ]
    return message

"""What every channel backend implements, and how it reports a failure."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from notifications.models import Notification


class DeliveryError(Exception):
    """The message was not handed over. ``transient`` says whether trying later can help.

    ``uncertain`` says the message may have been handed over all the same: the request
    left and no answer came back (a read timeout). Such a send counts as interrupted,
    and the kind's policy decides whether it is sent again (notifications/kinds.py).
    """

    transient = False

    def __init__(
        self, message: str, *, retry_after: float | None = None, uncertain: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.uncertain = uncertain


class TransientDeliveryError(DeliveryError):
    """Connection refused or dropped, a timeout, SMTP 4xx, HTTP 429 or 5xx."""

    transient = True


class PermanentDeliveryError(DeliveryError):
    """SMTP 5xx, HTTP 4xx other than 429, a recipient without an address."""

    transient = False


class BaseBackend:
    channel = ""

    def send(self, notification: Notification) -> str:
        """Hand ``notification`` to the channel; return the provider's message id."""
        raise NotImplementedError

    def close(self) -> None:
        """Release whatever the backend holds open (connection, session)."""

"""Apply WhatsApp delivery receipts (status callbacks) to outbox rows.

Receipts may arrive more than once and out of order (``read`` before ``delivered``):
each update is conditional on the row's current status, so a row only moves forward
(sent -> delivered -> read; failed from sent or delivered; a held interrupted send to
whatever the receipt says) and a repeated receipt changes nothing. Receipts for ids we
do not know are acknowledged and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from notifications.models import Notification

S = Notification.Status
CALLBACK_DATA = re.compile(r"^notification:(\d{1,18})$")


class MalformedReceipt(ValueError):
    pass


@dataclass(frozen=True)
class ReceiptResult:
    updated: int = 0
    ignored: int = 0


@dataclass(frozen=True)
class Receipt:
    message_id: str
    status: str
    at: datetime
    error: str
    callback_data: str


def _timestamp(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return timezone.now()


def _error_text(errors: Any) -> str:
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return "WhatsApp reported the message as failed."
    error = errors[0]
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    text = f"WhatsApp error {error.get('code', '?')}: {error.get('title') or error.get('message')}"
    return f"{text} ({details})" if details else text


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedReceipt(f"{what} must be a list")
    return value


def parse(payload: Any) -> list[Receipt]:
    """Every status in a webhook payload; raises MalformedReceipt on a bad shape."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise MalformedReceipt("expected an object with an 'entry' list")
    receipts = []
    for entry in payload["entry"]:
        if not isinstance(entry, dict):
            raise MalformedReceipt("each entry must be an object")
        for change in _list(entry.get("changes"), "changes"):
            if not isinstance(change, dict) or not isinstance(change.get("value", {}), dict):
                raise MalformedReceipt("each change must be an object with an object 'value'")
            for status in _list(change.get("value", {}).get("statuses"), "statuses"):
                if (
                    not isinstance(status, dict)
                    or not isinstance(status.get("id"), str)
                    or not isinstance(status.get("status"), str)
                ):
                    raise MalformedReceipt("each status needs a string 'id' and 'status'")
                receipts.append(
                    Receipt(
                        message_id=status["id"][:255],
                        status=status["status"],
                        at=_timestamp(status.get("timestamp")),
                        error=_error_text(status.get("errors"))
                        if status["status"] == "failed"
                        else "",
                        callback_data=str(status.get("biz_opaque_callback_data") or ""),
                    )
                )
    return receipts


def _rows(receipt: Receipt) -> Any:
    rows = Notification.objects.filter(
        channel=Notification.Channel.WHATSAPP, provider_message_id=receipt.message_id
    )
    if rows.exists():
        return rows
    match = CALLBACK_DATA.match(receipt.callback_data)
    if match is None:
        return None
    # The receipt beat the worker to storing the message id: find the row by the
    # id we sent along, and store the message id for the receipts that follow.
    rows = Notification.objects.filter(
        pk=int(match.group(1)), channel=Notification.Channel.WHATSAPP, provider_message_id=""
    )
    if not rows.update(provider_message_id=receipt.message_id):
        return None
    return Notification.objects.filter(pk=int(match.group(1)))


def _apply(receipt: Receipt) -> bool:
    rows = _rows(receipt)
    if rows is None:
        return False
    now = timezone.now()
    # A receipt for a held interrupted send proves what nobody knew: the message
    # reached WhatsApp (sent, delivered, read) or did not (failed). It settles the row.
    if receipt.status == "sent":
        settled = rows.filter(status=S.INTERRUPTED).update(
            status=S.SENT, sent_at=receipt.at, updated_at=now
        )
        stamped = rows.filter(sent_at__isnull=True).update(sent_at=receipt.at, updated_at=now)
        return bool(settled or stamped)
    if receipt.status == "delivered":
        moved = rows.filter(status__in=[S.SENT, S.INTERRUPTED]).update(
            status=S.DELIVERED, delivered_at=receipt.at, updated_at=now
        )
        # Already read (receipts out of order), or still being recorded as sent.
        stamped = rows.filter(delivered_at__isnull=True).update(
            delivered_at=receipt.at, updated_at=now
        )
        return bool(moved or stamped)
    if receipt.status == "read":
        moved = rows.filter(status__in=[S.SENT, S.DELIVERED, S.INTERRUPTED]).update(
            status=S.READ, read_at=receipt.at, updated_at=now
        )
        stamped = rows.filter(read_at__isnull=True).update(read_at=receipt.at, updated_at=now)
        rows.filter(delivered_at__isnull=True).update(delivered_at=receipt.at)
        return bool(moved or stamped)
    if receipt.status == "failed":
        return bool(
            rows.filter(status__in=[S.SENT, S.DELIVERED, S.INTERRUPTED]).update(
                status=S.FAILED, failed_at=receipt.at, last_error=receipt.error, updated_at=now
            )
        )
    return False  # "deleted", "warning" and statuses WhatsApp may add later


def receipts_apply(*, payload: Any) -> ReceiptResult:
    """Apply every status in a verified webhook payload. Returns what was done."""
    receipts = parse(payload)
    updated = sum(1 for receipt in receipts if _apply(receipt))
    return ReceiptResult(updated=updated, ignored=len(receipts) - updated)

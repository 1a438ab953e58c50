"""Vendor answers on time: each request's deadline, its reminders, the alert to staff.

Asking a vendor (assigning, reassigning, asking again after a change) starts a clock:
``respond_by`` is the earlier of "asked + the vendor's response hours" and
``VENDOR_ANSWER_LEAD_HOURS`` before the service starts. Accepting stops it and starts
the confirmation clock (``confirm_by``: accepted + ``VENDOR_CONFIRM_HOURS``, with the
same lead); confirming, declining, cancelling or reassigning stops whichever runs.

The scheduled ``deadlines_sweep`` reminds the vendor, on its channels, at
``VENDOR_REMINDER_POINTS`` percent of the window (50 and 90 by default). When the
deadline passes it alerts staff (a notification and an audit entry) and tells the
vendor, on its channels, that it is late ("You have not answered ... please answer
now", with the portal link). Each reminder, and the alert with the vendor's notice, is
a ``VendorReminder`` row, unique per (item, request, stage, threshold; ``OVERDUE`` for
the deadline itself): the row is inserted before anything is sent, in the same
transaction as the outbox rows, so a second sweep or a second worker gets an integrity
error for it and sends nothing. An answer or a reassignment before the sweep comes
round ends the request, and nothing of it is sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from bookings import notify as tell
from bookings.models import Booking, BookingItem, VendorReminder
from core.audit import audit
from core.domain import Actor
from notifications.formatting import format_moment
from partners.models import Vendor

logger = logging.getLogger(__name__)

V = BookingItem.VendorStatus
OVERDUE = 100
STAGE = VendorReminder.Stage
SWEEP_ACTOR_LABEL = "vendor deadline sweep"
CLOSED_BOOKINGS = (Booking.Status.CANCELLED, Booking.Status.COMPLETED, Booking.Status.DRAFT)


# --- the arithmetic ------------------------------------------------------------------


def response_hours(vendor: Vendor | None) -> int:
    hours = getattr(vendor, "response_hours", None)
    return int(hours or settings.VENDOR_RESPONSE_HOURS)


def _capped(start_of_window: datetime, hours: int, service_start: datetime) -> datetime:
    """``start_of_window + hours``, but no later than the lead time before the service.

    Never before the window's start: a request made inside the lead time is due at once
    (and so overdue at the next sweep), which is what staff need to know.
    """
    lead = timedelta(hours=settings.VENDOR_ANSWER_LEAD_HOURS)
    deadline = min(start_of_window + timedelta(hours=hours), service_start - lead)
    return max(deadline, start_of_window)


def respond_by_for(*, asked_at: datetime, start: datetime, vendor: Vendor | None) -> datetime:
    return _capped(asked_at, response_hours(vendor), start)


def confirm_by_for(*, accepted_at: datetime, start: datetime) -> datetime:
    return _capped(accepted_at, settings.VENDOR_CONFIRM_HOURS, start)


def threshold_moment(window_start: datetime, deadline: datetime, percent: int) -> datetime:
    return window_start + (deadline - window_start) * percent / 100


# --- the clock, as the item services move an item ------------------------------------
#
# These set fields on the (locked) item and return the names to save with it; the
# service saves them in its own ``update_fields``.


def clock_on_ask(item: BookingItem, *, vendor: Vendor, now: datetime) -> list[str]:
    """A vendor is asked (first time, again, or another vendor): a new request."""
    item.request_seq = (item.request_seq or 0) + 1
    item.respond_by = respond_by_for(asked_at=now, start=item.start, vendor=vendor)
    item.confirm_by = None
    return ["request_seq", "respond_by", "confirm_by"]


def clock_on_accept(item: BookingItem, *, now: datetime) -> list[str]:
    item.respond_by = None
    item.confirm_by = confirm_by_for(accepted_at=now, start=item.start)
    return ["respond_by", "confirm_by"]


def clock_stop(item: BookingItem) -> list[str]:
    """Confirmed, declined, cancelled: no clock runs."""
    item.respond_by = None
    item.confirm_by = None
    return ["respond_by", "confirm_by"]


# --- the sweep --------------------------------------------------------------------------


@dataclass
class SweepResult:
    checked: int = 0
    reminders: int = 0
    alerts: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.checked / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Due:
    item_id: int
    request_seq: int
    stage: str
    deadline: datetime
    thresholds: tuple[int, ...]  # due now, ascending; OVERDUE last when passed


def _points() -> tuple[int, ...]:
    return tuple(settings.VENDOR_REMINDER_POINTS)


def _due_thresholds(window_start: datetime, deadline: datetime, now: datetime) -> tuple[int, ...]:
    if deadline <= now:
        return (*_points(), OVERDUE)
    return tuple(p for p in _points() if threshold_moment(window_start, deadline, p) <= now)


def _open_requests() -> Q:
    return Q(cancelled_at__isnull=True) & ~Q(booking__status__in=CLOSED_BOOKINGS)


def _candidates(now: datetime, chunk: int) -> Iterator[tuple[int, Due | None]]:
    """Every open request once, with what is due of it now (None: nothing yet)."""
    answer = (
        BookingItem.objects.filter(_open_requests(), vendor_status=V.PENDING)
        .exclude(respond_by=None)
        .exclude(assigned_at=None)
        .values_list("id", "request_seq", "assigned_at", "respond_by")
    )
    confirm = (
        BookingItem.objects.filter(_open_requests(), vendor_status=V.ACCEPTED)
        .exclude(confirm_by=None)
        .exclude(responded_at=None)
        .values_list("id", "request_seq", "responded_at", "confirm_by")
    )
    for stage, rows in ((STAGE.ANSWER, answer), (STAGE.CONFIRM, confirm)):
        for item_id, seq, window_start, deadline in rows.order_by().iterator(chunk_size=chunk):
            thresholds = _due_thresholds(window_start, deadline, now)
            due = Due(item_id, seq, stage, deadline, thresholds) if thresholds else None
            yield item_id, due


def _already_sent(due: list[Due]) -> set[tuple[int, int, str, int]]:
    sent = VendorReminder.objects.filter(item_id__in=[d.item_id for d in due]).values_list(
        "item_id", "request_seq", "stage", "threshold"
    )
    return set(sent)


def deadlines_sweep(*, now: datetime | None = None, chunk: int = 5000) -> SweepResult:
    """Scheduled: send what is due of every open request, each reminder exactly once."""
    started = time.perf_counter()
    now = now or timezone.now()
    result = SweepResult()
    batch: list[Due] = []
    for _item_id, due in _candidates(now, chunk):
        result.checked += 1
        if due is not None:
            batch.append(due)
        if len(batch) >= chunk:
            _send_batch(batch, now, result)
            batch = []
    if batch:
        _send_batch(batch, now, result)
    result.seconds = time.perf_counter() - started
    logger.info(
        "deadline sweep: %s open requests checked (%.0f/s), %s reminders, %s alerts",
        result.checked,
        result.per_second,
        result.reminders,
        result.alerts,
    )
    return result


def _send_batch(batch: list[Due], now: datetime, result: SweepResult) -> None:
    sent = _already_sent(batch)
    for due in batch:
        key = (due.item_id, due.request_seq, due.stage)
        missing = [t for t in due.thresholds if (*key, t) not in sent]
        if not missing:
            continue
        outcome = _remind(due, missing, now)
        if outcome == OVERDUE:
            result.alerts += 1
        elif outcome:
            result.reminders += 1


@transaction.atomic
def _remind(due: Due, thresholds: list[int], now: datetime) -> int:
    """Claim the due thresholds of one request and send the latest: 0 if another sweep
    (or the vendor's answer) got there first.

    Lower thresholds passed while nobody swept are claimed silently: a vendor gets one
    message per sweep, the most urgent; once it is late, that is the notice that it is
    late (no reminder with it), and staff get the alert.
    """
    item = (
        BookingItem.objects.select_for_update(of=("self",))
        .select_related("booking", "vendor")
        .filter(pk=due.item_id)
        .first()
    )
    if item is None or not _still_due(item, due):
        return 0
    claimed = []
    for threshold in thresholds:
        try:
            with transaction.atomic():
                VendorReminder.objects.create(
                    item=item,
                    request_seq=due.request_seq,
                    stage=due.stage,
                    threshold=threshold,
                    deadline=due.deadline,
                    created_at=now,
                )
        except IntegrityError:
            continue  # another sweep sent this one
        claimed.append(threshold)
    if not claimed:
        return 0
    latest = max(claimed)
    if latest == OVERDUE:
        _alert_staff(item, due)
    _remind_vendor(item, due, latest)
    return latest


def _still_due(item: BookingItem, due: Due) -> bool:
    if item.request_seq != due.request_seq or not item.is_live or item.vendor is None:
        return False
    if item.booking.status in CLOSED_BOOKINGS:
        return False
    if due.stage == STAGE.ANSWER:
        return item.vendor_status == V.PENDING and item.respond_by == due.deadline
    return item.vendor_status == V.ACCEPTED and item.confirm_by == due.deadline


def _sweep_actor() -> Actor:
    return Actor(via="system", label=SWEEP_ACTOR_LABEL)


def _remind_vendor(item: BookingItem, due: Due, threshold: int) -> None:
    """A reminder at ``threshold`` per cent of the window or, at ``OVERDUE``, the
    vendor's own notice that its deadline has passed (claimed with the staff alert's
    row): once per request and stage, with the deadline in the vendor's local time."""
    assert item.vendor is not None  # noqa: S101 - checked by _still_due
    entry = audit(
        item,
        "vendor_reminded",
        _sweep_actor(),
        stage=due.stage,
        threshold=threshold,
        request=due.request_seq,
        deadline=due.deadline.isoformat(),
        vendor=item.vendor.name,
    )
    extra = {"stage": due.stage, "deadline": format_moment(due.deadline, item.vendor.timezone)}
    if threshold == OVERDUE:
        extra["ask"] = "answer" if due.stage == STAGE.ANSWER else "confirm"
        tell.notify_item_vendor("item_overdue_vendor", item, item.vendor, entry, extra=extra)
    else:
        tell.notify_item_vendor("item_reminder", item, item.vendor, entry, extra=extra)


def _alert_staff(item: BookingItem, due: Due) -> None:
    assert item.vendor is not None  # noqa: S101 - checked by _still_due
    action = "answer_overdue" if due.stage == STAGE.ANSWER else "confirmation_overdue"
    entry = audit(
        item,
        action,
        _sweep_actor(),
        from_status=item.vendor_status,
        to_status=item.vendor_status,
        request=due.request_seq,
        deadline=due.deadline.isoformat(),
        vendor=item.vendor.name,
    )
    deadline = format_moment(due.deadline, item.timezone)
    tell.notify_item_staff(
        "item_overdue", item, entry, extra={"stage": due.stage, "deadline": deadline}
    )

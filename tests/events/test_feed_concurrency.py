"""The feed while other transactions commit: no event skipped, none repeated, in commit
order, each caller seeing only its own (PostgreSQL: real concurrent transactions, with
the sequencer's advisory lock)."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction

from bookings import services as bookings
from events.feed import START, Cursor, feed_page
from events.models import Event
from tests.events.flows import SYSTEM, pending_booking

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _touch(booking: Any, note: str) -> None:
    bookings.booking_update(booking=booking, actor=SYSTEM, notes=note)


def test_an_event_committed_late_is_not_passed_over(broker: Any) -> None:
    """A transaction that wrote an event first but commits last: a reader paging by the
    insert id would hand out a cursor past it and never show it."""
    first, second = (pending_booking(broker=broker, vendors=[]) for _ in range(2))
    start = feed_page(audience="staff", party_id=None, after=START, types=[], limit=1000).cursor
    written, release = threading.Event(), threading.Event()
    held: list[Event] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                _touch(first, "written first, committed last")
                held.append(Event.objects.get(reference=first.reference, type="booking.updated"))
                written.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert written.wait(10)
    _touch(second, "written second, committed first")
    early = held[0]
    late = Event.objects.filter(reference=second.reference, type="booking.updated").get()
    assert early.seq < late.seq  # ids drawn in that order, committed in the other

    page = feed_page(audience="staff", party_id=None, after=start, types=[], limit=1000)
    assert [e.pk for e in page.events] == [late.pk]
    release.set()
    thread.join(10)
    page = feed_page(audience="staff", party_id=None, after=page.cursor, types=[], limit=1000)
    assert [e.pk for e in page.events] == [early.pk]  # after the cursor, not skipped


def test_concurrent_writers_and_a_paging_reader_see_every_event_once(
    broker: Any, other_broker: Any
) -> None:
    ours = [pending_booking(broker=broker, vendors=[]) for _ in range(3)]
    theirs = [pending_booking(broker=other_broker, vendors=[]) for _ in range(3)]
    start = {
        kind: feed_page(audience=kind, party_id=pid, after=START, types=[], limit=10_000).cursor
        for kind, pid in (("staff", None), ("broker", broker.pk))
    }
    writers, per_writer = 4, 15
    done = threading.Event()
    errors: list[BaseException] = []

    def write(n: int) -> None:
        rng = random.Random(n)
        try:
            for i in range(per_writer):
                with transaction.atomic():
                    _touch(rng.choice(ours + theirs), f"writer {n} change {i}")
                    # Hold the transaction open a while after drawing the event's id,
                    # so commits land out of id order.
                    time.sleep(rng.uniform(0, 0.02))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    def read(kind: str, party_id: int | None, out: list[int]) -> None:
        cursor: Cursor = start[kind]
        try:
            while True:
                finished = done.is_set()
                page = feed_page(audience=kind, party_id=party_id, after=cursor, types=[], limit=3)
                out.extend(e.pk for e in page.events)
                cursor = page.cursor
                if finished and not page.has_more and not page.events:
                    return
                if not page.events:
                    time.sleep(0.002)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    seen: dict[str, list[int]] = {"staff": [], "broker": []}
    readers = [
        threading.Thread(target=read, args=("staff", None, seen["staff"])),
        threading.Thread(target=read, args=("broker", broker.pk, seen["broker"])),
    ]
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in readers + threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    done.set()
    for thread in readers:
        thread.join(60)
    assert not errors, errors

    new = Event.objects.filter(type="booking.updated", payload__data__notes__startswith="writer")
    everything = list(new.order_by("position").values_list("pk", flat=True))
    assert len(everything) == writers * per_writer
    assert seen["staff"] == everything  # all of them, once each, in commit order
    refs = {b.reference for b in ours}
    assert seen["broker"] == [
        pk for pk, ref in new.order_by("position").values_list("pk", "reference") if ref in refs
    ]

"""The feed's order: positions given to events after they commit, by one writer at a time.

An event's ``seq`` is drawn when it is inserted, and transactions commit in another
order than they draw ids: a feed paged by ``seq`` would hand out a cursor past a row
whose transaction had not yet committed, and never show that row. So the feed pages
by ``position``, which ``sequence()`` gives to committed rows that have none, in
``seq`` order, numbering on from the highest position given so far.

Runs are serialised (a transaction-level advisory lock on PostgreSQL; SQLite has one
writer at a time anyway) and each commits before the next begins, so the positioned
rows a reader can see are always 1..N with no hole: a row committed late is numbered
after those already numbered, never below a cursor handed out.

It runs after each commit that wrote events, before every feed read, and in the
minute sweep (which catches a row whose after-commit run was lost to a crash).
"""

from __future__ import annotations

import logging

from django.db import connection, transaction

logger = logging.getLogger(__name__)

LOCK_KEY = 7_320_150_015  # any constant of our own: "the events sequencer"
BATCH = 10_000

_NUMBER = """
WITH todo AS (
    SELECT seq, row_number() OVER (ORDER BY seq) AS n
    FROM events_event WHERE position IS NULL ORDER BY seq LIMIT %s
), base AS (
    SELECT coalesce(max(position), 0) AS top FROM events_event
)
UPDATE events_event SET position = base.top + todo.n
FROM todo, base WHERE events_event.seq = todo.seq
"""


def sequence() -> int:
    """Number every committed event that has no position yet; returns how many."""
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            cursor.execute(_NUMBER, [BATCH])
            done = cursor.rowcount
        total += done
        if done < BATCH:
            return total


def _after_commit() -> None:
    try:
        sequence()
    except Exception:
        # The next feed read or the sweep numbers the rows; the change itself is saved.
        logger.exception("could not sequence events after commit")


def sequence_after_commit() -> None:
    """Once per transaction, however many events it writes."""
    if any(func is _after_commit for _, func, _ in connection.run_on_commit):
        return
    transaction.on_commit(_after_commit)

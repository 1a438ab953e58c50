"""Keep django-q2's per-task log lines out of the worker's output.

django-q2 logs at INFO every task it enqueues, starts, finishes and creates from a
schedule: one outbox row is four lines, and a burst of rows buries everything else
(the cluster's own start and stop lines, warnings, our delivery log). The outcome of
each delivery is on its row and its attempts; failures are still logged (ERROR).
``Q_LOG_TASKS=true`` shows the per-task lines again.
"""

from __future__ import annotations

import logging
import re

PER_TASK = re.compile(
    r"(^Enqueued \[|^Pushed |^Processed '| processing \S+ '| created task \S+ from schedule)"
)


class QuietTaskLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        return PER_TASK.search(record.getMessage()) is None

"""Create django-q2 schedules idempotently, by name.

Each app creates the schedules that run its own code from a ``post_migrate``
handler, so a fresh database, a deploy and a test database all get them, and
running migrate again changes nothing but what the code now says (the function,
the interval); the next run time of an existing schedule is kept.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone


def schedule_ensure(*, name: str, func: str, minutes: int, using: str = "default") -> Any:
    from django_q.models import Schedule

    schedule, _ = Schedule.objects.using(using).update_or_create(
        name=name,
        defaults={
            "func": func,
            "schedule_type": Schedule.MINUTES,
            "minutes": minutes,
            "repeats": -1,
        },
        create_defaults={
            "func": func,
            "schedule_type": Schedule.MINUTES,
            "minutes": minutes,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )
    return schedule

"""The hourly purge of Idempotency-Key records is scheduled and does its job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import module_loading, timezone
from django_q.models import Schedule

from core.apps import IDEMPOTENCY_PURGE_SCHEDULE, create_schedules
from core.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


def _record(key: str, age: timedelta) -> IdempotencyRecord:
    return IdempotencyRecord.objects.create(
        owner="apikey:1",
        key=key,
        method="POST",
        path="/api/v1/bookings/",
        request_hash="0" * 64,
        created_at=timezone.now() - age,
    )


def test_purge_schedule_exists_once_and_runs_the_purge() -> None:
    create_schedules()
    create_schedules()
    schedule = Schedule.objects.get(name=IDEMPOTENCY_PURGE_SCHEDULE)
    assert schedule.minutes == 60 and schedule.repeats == -1

    old = _record("old", timedelta(hours=25))
    fresh = _record("fresh", timedelta(hours=23))
    purge = module_loading.import_string(schedule.func)
    assert purge() == 1
    assert not IdempotencyRecord.objects.filter(pk=old.pk).exists()
    assert IdempotencyRecord.objects.filter(pk=fresh.pk).exists()

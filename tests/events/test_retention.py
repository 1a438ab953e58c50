"""Events are kept EVENTS_RETENTION_DAYS, then purged from the bottom of the feed without
leaving a hole; a cursor below what is kept is a 410 that says where to resume."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from core.domain import Actor
from events import feed, sequencer, services
from events.models import Event, EventVendor, FeedHorizon, WebhookDelivery
from tests.events.flows import approved_booking

pytestmark = pytest.mark.django_db(transaction=True)


def _age(events: Any, days: float) -> None:
    events.update(occurred_at=timezone.now() - timedelta(days=days))


def _positions() -> list[int]:
    sequencer.sequence()
    return list(Event.objects.order_by("position").values_list("position", flat=True))


def test_events_past_retention_go_with_their_links_and_the_rest_stay(
    settings: Any, broker: Any, vendor: Any
) -> None:
    settings.EVENTS_RETENTION_DAYS = 30
    approved_booking(broker=broker, vendors=[vendor])
    positions = _positions()
    old = positions[:-1]
    _age(Event.objects.filter(position__in=old), 31)
    assert EventVendor.objects.filter(event__position__in=old).exists()
    kept_links = EventVendor.objects.filter(event__position=positions[-1]).count()
    assert services.events_purge() == len(old)
    assert _positions() == positions[-1:]
    assert not EventVendor.objects.filter(event__position__in=old).exists()
    assert EventVendor.objects.count() == kept_links
    horizon = FeedHorizon.objects.get()
    assert horizon.position == old[-1]
    assert horizon.oldest_kept_at == Event.objects.order_by("position").first().occurred_at
    # Run again: nothing more is old enough.
    assert services.events_purge() == 0


def test_an_old_event_with_a_delivery_still_to_make_stops_the_purge_there(
    settings: Any, broker: Any, vendor: Any
) -> None:
    settings.EVENTS_RETENTION_DAYS = 30
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    endpoint, _ = services.webhook_register(
        actor=Actor(broker=broker, via="api"),
        url="http://127.0.0.1:9/hook",
        event_types=["booking.approved"],
    )
    approved_booking(broker=broker, vendors=[vendor])
    positions = _positions()
    _age(Event.objects.all(), 40)
    waiting = WebhookDelivery.objects.get(endpoint=endpoint)
    assert waiting.status == WebhookDelivery.Status.PENDING
    stop = waiting.event.position
    assert services.events_purge() == len([p for p in positions if p < stop])
    assert _positions()[0] == stop  # that event and all after it stay, though old
    waiting.status = WebhookDelivery.Status.DELIVERED
    waiting.save(update_fields=["status"])
    assert services.events_purge() == len([p for p in positions if p >= stop])
    assert not Event.objects.exists()


def test_purging_goes_in_batches_until_done(settings: Any, broker: Any) -> None:
    settings.EVENTS_RETENTION_DAYS = 1
    approved_booking(broker=broker, vendors=[])
    total = len(_positions())
    _age(Event.objects.all(), 2)
    assert services.events_purge(batch=2) == total
    assert FeedHorizon.objects.get().position == total


def test_retention_zero_keeps_every_event(settings: Any, broker: Any) -> None:
    settings.EVENTS_RETENTION_DAYS = 0
    approved_booking(broker=broker, vendors=[])
    count = len(_positions())
    _age(Event.objects.all(), 10_000)
    assert services.events_purge() == 0
    assert Event.objects.count() == count


def test_the_feed_starts_at_what_is_kept_and_an_older_cursor_is_a_410(
    settings: Any, superuser_client: Any, broker_client: Any, broker: Any
) -> None:
    settings.EVENTS_RETENTION_DAYS = 30
    first = superuser_client.get("/api/v1/events/", {"limit": 1}).json()
    assert first["results"] == []
    stale_cursor = first["cursor"]  # handed out before anything happened
    approved_booking(broker=broker, vendors=[])
    positions = _positions()
    _age(Event.objects.filter(position__lte=positions[1]), 31)
    services.events_purge()

    # Without a cursor: from the oldest event kept.
    fresh = superuser_client.get("/api/v1/events/", {"limit": 500}).json()
    assert [e["id"] for e in fresh["results"]] == [
        str(i) for i in Event.objects.order_by("position").values_list("id", flat=True)
    ]
    # With a cursor from before the purge: a 410 in the API's error shape, which says
    # where to resume; resuming there gives the same events.
    for client in (superuser_client, broker_client):
        gone = client.get("/api/v1/events/", {"after": stale_cursor})
        assert gone.status_code == 410, gone.content
        body = gone.json()
        assert body["code"] == "cursor_expired"
        assert "30 days" in body["detail"]
        resume = feed.Cursor(positions[1]).encode()
        assert f"after={resume}" in body["detail"]
        again = client.get("/api/v1/events/", {"after": resume, "limit": 500})
        assert again.status_code == 200
    assert (
        superuser_client.get(
            "/api/v1/events/", {"after": feed.Cursor(positions[1]).encode(), "limit": 500}
        ).json()["results"]
        == fresh["results"]
    )


def test_the_purge_is_a_daily_schedule() -> None:
    from django_q.models import Schedule

    from events.apps import PURGE_SCHEDULE, create_schedules

    create_schedules()
    schedule = Schedule.objects.get(name=PURGE_SCHEDULE)
    assert (schedule.func, schedule.minutes) == ("events.tasks.purge", 24 * 60)

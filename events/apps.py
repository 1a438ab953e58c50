from typing import Any

from django.apps import AppConfig, apps
from django.db import connections
from django.db.models.signals import post_migrate

SWEEP_SCHEDULE = "events: sweep webhook deliveries"
PURGE_SCHEDULE = "events: purge events past EVENTS_RETENTION_DAYS"


def create_schedules(*, using: str = "default", **kwargs: Any) -> None:
    from django_q.models import Schedule

    from core.schedules import schedule_ensure

    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        return  # django_q not migrated yet; the next migrate will
    schedule_ensure(name=SWEEP_SCHEDULE, func="events.tasks.sweep", minutes=1, using=using)
    schedule_ensure(name=PURGE_SCHEDULE, func="events.tasks.purge", minutes=24 * 60, using=using)


class EventsConfig(AppConfig):
    name = "events"

    def ready(self) -> None:
        post_migrate.connect(
            create_schedules,
            sender=apps.get_app_config("django_q"),
            dispatch_uid="events.create_schedules",
        )

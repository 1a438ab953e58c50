from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.db import connections
from django.db.models.signals import post_migrate

DEADLINE_SCHEDULE = "bookings: vendor deadlines (reminders, overdue alerts)"


def create_schedules(*, using: str = "default", **kwargs: Any) -> None:
    """The vendor deadline sweep, created (or brought up to date) by name."""
    from django_q.models import Schedule

    from core.schedules import schedule_ensure

    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        return  # django_q not migrated yet (``migrate <one app>``)
    schedule_ensure(
        name=DEADLINE_SCHEDULE,
        func="bookings.tasks.sweep_vendor_deadlines",
        minutes=settings.VENDOR_DEADLINE_SWEEP_MINUTES,
        using=using,
    )


class BookingsConfig(AppConfig):
    name = "bookings"

    def ready(self) -> None:
        from bookings import events

        events.register()
        post_migrate.connect(
            create_schedules,
            sender=apps.get_app_config("django_q"),
            dispatch_uid="bookings.create_schedules",
        )

import sys
from typing import Any

from django.apps import AppConfig, apps
from django.db import connections
from django.db.models.signals import post_migrate

SWEEP_SCHEDULE = "notifications: sweep the outbox"
PURGE_SCHEDULE = "notifications: purge old rows"


def create_schedules(*, using: str = "default", **kwargs: Any) -> None:
    """The outbox's own schedules: the sweep every minute, the purge daily."""
    from django_q.models import Schedule

    from core.schedules import schedule_ensure

    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        return  # django_q not migrated yet (``migrate <one app>``); the next migrate will
    schedule_ensure(name=SWEEP_SCHEDULE, func="notifications.tasks.sweep", minutes=1, using=using)
    schedule_ensure(
        name=PURGE_SCHEDULE, func="notifications.tasks.purge", minutes=24 * 60, using=using
    )


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        if "qcluster" in sys.argv[1:2]:
            from notifications import cluster_signals

            cluster_signals.install()
        # After django_q's post_migrate: every app has migrated by then.
        post_migrate.connect(
            create_schedules,
            sender=apps.get_app_config("django_q"),
            dispatch_uid="notifications.create_schedules",
        )

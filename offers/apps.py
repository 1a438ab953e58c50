from typing import Any

from django.apps import AppConfig, apps
from django.db import connections
from django.db.models.signals import post_migrate

EXPIRY_SCHEDULE = "offers: expire due offers"


def create_schedules(*, using: str = "default", **kwargs: Any) -> None:
    """Offer expiry every five minutes, created (or brought up to date) by name."""
    from django_q.models import Schedule

    from core.schedules import schedule_ensure

    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        return  # django_q not migrated yet (``migrate <one app>``)
    schedule_ensure(
        name=EXPIRY_SCHEDULE, func="offers.tasks.expire_due_offers", minutes=5, using=using
    )


class OffersConfig(AppConfig):
    name = "offers"

    def ready(self) -> None:
        from offers import events

        events.register()
        post_migrate.connect(
            create_schedules,
            sender=apps.get_app_config("django_q"),
            dispatch_uid="offers.create_schedules",
        )

from typing import Any

from django.apps import AppConfig, apps
from django.db import connections
from django.db.models.signals import post_migrate

SWEEP_SCHEDULE = "billing: payment reminders and unsent documents"


def create_schedules(*, using: str = "default", **kwargs: Any) -> None:
    from django_q.models import Schedule

    from core.schedules import schedule_ensure

    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        return
    schedule_ensure(name=SWEEP_SCHEDULE, func="billing.tasks.sweep", minutes=60, using=using)


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from billing import events, services
        from billing.sections import money_section
        from bookings import extensions

        extensions.connect(services.on_booking_changed)
        extensions.add_section(money_section)
        events.register()
        post_migrate.connect(
            create_schedules,
            sender=apps.get_app_config("django_q"),
            dispatch_uid="billing.create_schedules",
        )

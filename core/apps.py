from typing import Any

from django.apps import AppConfig, apps
from django.db import connections
from django.db.models.signals import post_migrate

IDEMPOTENCY_PURGE_SCHEDULE = "core: purge expired Idempotency-Key records"
# The name the schedule had while idempotency lived in partners.
_OLD_SCHEDULE = "partners: purge expired Idempotency-Key records"


def create_schedules(*, using: str = "default", **kwargs: Any) -> None:
    """Hourly purge of API Idempotency-Key records past their 24-hour window."""
    from django_q.models import Schedule

    from core.schedules import schedule_ensure

    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        return  # django_q not migrated yet (``migrate <one app>``)
    Schedule.objects.using(using).filter(name=_OLD_SCHEDULE).delete()
    schedule_ensure(
        name=IDEMPOTENCY_PURGE_SCHEDULE,
        func="core.api.idempotency.purge_expired",
        minutes=60,
        using=using,
    )


class CoreConfig(AppConfig):
    """The bottom of the house: the domain error and ``Actor``, the audit writer, the
    admin kit, the API kit and idempotency. It imports no business app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        post_migrate.connect(
            create_schedules,
            sender=apps.get_app_config("django_q"),
            dispatch_uid="core.create_schedules",
        )

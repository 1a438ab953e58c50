from typing import Any

from django.apps import AppConfig, apps
from django.db import connections
from django.db.models.signals import post_migrate

IDEMPOTENCY_PURGE_SCHEDULE = "partners: purge expired Idempotency-Key records"


def _sync_groups(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    # Runs once per migrate/flush, after every app's tables exist (sender is the last
    # app config of INSTALLED_APPS to migrate, see ready()).
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    from partners.roles import sync_staff_groups

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    sync_staff_groups(group_model=Group, permission_model=Permission)


def create_schedules(*, using: str = "default", **kwargs: Any) -> None:
    """Hourly purge of API Idempotency-Key records past their 24-hour window."""
    from django_q.models import Schedule

    from notifications.schedules import schedule_ensure

    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        return  # django_q not migrated yet (``migrate <one app>``)
    schedule_ensure(
        name=IDEMPOTENCY_PURGE_SCHEDULE,
        func="bookings_site.api.idempotency.purge_expired",
        minutes=60,
        using=using,
    )


class PartnersConfig(AppConfig):
    name = "partners"

    def ready(self) -> None:
        last_app = list(apps.get_app_configs())[-1]
        post_migrate.connect(_sync_groups, sender=last_app, dispatch_uid="partners.sync_groups")
        post_migrate.connect(
            create_schedules,
            sender=apps.get_app_config("django_q"),
            dispatch_uid="partners.create_schedules",
        )

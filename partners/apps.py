from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _sync_groups(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    # Runs once per migrate/flush, after every app's tables exist (sender is the last
    # app config of INSTALLED_APPS to migrate, see ready()).
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    from partners.roles import sync_staff_groups

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    sync_staff_groups(group_model=Group, permission_model=Permission)


class PartnersConfig(AppConfig):
    name = "partners"

    def ready(self) -> None:
        last_app = list(apps.get_app_configs())[-1]
        post_migrate.connect(_sync_groups, sender=last_app, dispatch_uid="partners.sync_groups")

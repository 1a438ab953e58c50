"""Make an API key for a staff user, a broker or a vendor; the key is printed once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.domain import Actor
from partners.models import Broker, Vendor
from partners.services import api_key_create


class Command(BaseCommand):
    help = (
        "Create an API key for a user (--user USERNAME), a broker (--broker ID) or a "
        "vendor (--vendor ID). The key is printed alone on the last line and stored only "
        "as a hash: copy it now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--user", metavar="USERNAME", help="A staff user's username.")
        owner.add_argument("--broker", metavar="ID", type=int, help="A broker's id.")
        owner.add_argument("--vendor", metavar="ID", type=int, help="A vendor's id.")
        parser.add_argument("--name", default="", help="What the key is for (max 100 chars).")

    def handle(self, *args: Any, **options: Any) -> None:
        owner: dict[str, Any] = {}
        if options["user"] is not None:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user with username {options['user']!r}.")
            if not user.is_active:
                raise CommandError(f"User {options['user']!r} is inactive.")
            if not user.is_staff:
                raise CommandError(
                    f"User {options['user']!r} is not staff; make partner keys with "
                    "--broker or --vendor."
                )
            owner["user"] = user
        elif options["broker"] is not None:
            owner["broker"] = self._partner(Broker, options["broker"])
        else:
            owner["vendor"] = self._partner(Vendor, options["vendor"])
        actor = Actor(label="manage.py create_api_key", via="system")
        key, raw = api_key_create(actor=actor, name=options["name"], **owner)
        self.stdout.write(f"Created API key {key.prefix} for {key.owner}. It is shown only once:")
        self.stdout.write(raw)

    @staticmethod
    def _partner(model: type[Vendor] | type[Broker], pk: int) -> Vendor | Broker:
        partner = model.objects.filter(pk=pk).first()
        if partner is None:
            raise CommandError(f"No {model._meta.verbose_name} with id {pk}.")
        if not partner.is_active:
            raise CommandError(f"{partner} is inactive; activate it first.")
        return partner

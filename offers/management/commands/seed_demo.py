"""Realistic demo data for local use, made through the same services as real work.

Idempotent: every object has a fixed key (a reference, a name, a username); what
exists already is left alone, so a second run changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from bookings import services as bookings
from bookings.models import Booking, BookingItem
from core.domain import Actor
from notifications.models import Notification
from notifications.services import recording_only
from offers import services as offers
from offers.models import Offer
from partners import services as partners
from partners.models import Broker, PortalAccount, Vendor
from partners.roles import AGENTS, APPROVERS, PARTNER_MANAGERS

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - local demo accounts, printed on purpose

VENDORS = [
    ("Hotel Avenida Palace", ["accommodation"], ["email"]),
    ("Pestana Porto Riverside", ["accommodation", "catering"], ["email", "whatsapp"]),
    ("Lisbon Airport Transfers", ["transfer"], ["whatsapp"]),
    ("Algarve Coach Lines", ["transfer"], ["email", "whatsapp"]),
    ("Sintra Walking Tours", ["activity"], ["email"]),
    ("Douro Valley Cruises", ["activity", "catering"], ["email"]),
    ("Atlantic Surf School", ["activity"], ["whatsapp"]),
    ("Palacio Chiado Events", ["venue", "catering"], ["email"]),
    ("Quinta da Regaleira Venues", ["venue"], ["email"]),
    ("Sabores de Lisboa Catering", ["catering"], ["email", "whatsapp"]),
]
BROKERS = [
    ("Nordic Travel AS", Decimal("10.00")),
    ("Globetrotter Reisen GmbH", Decimal("12.50")),
    ("Sunway Holidays Ltd", Decimal("8.00")),
    ("Iberia Incentives SL", Decimal("15.00")),
    ("Maple Leaf Journeys Inc", Decimal("10.00")),
]
CUSTOMERS = [
    "Anna Lindqvist",
    "Jonas Becker",
    "Emily Carter",
    "Lucas Moreau",
    "Sofia Rossi",
    "Daniel Novak",
    "Hannah Schmidt",
    "Oliver Hughes",
    "Marta Kowalska",
    "Pedro Alves",
    "Chloe Martin",
    "Noah Fischer",
    "Isabel Ferreira",
    "Liam O'Connor",
    "Eva Horvath",
    "Mateo Garcia",
    "Grace Kim",
    "Tomas Svoboda",
    "Ines Costa",
    "Jack Wilson",
]
SERVICES = {
    "accommodation": ("Double room, breakfast included", 2, 180, 120, timedelta(days=3)),
    "transfer": ("Private transfer airport to hotel", 1, 85, 55, timedelta(hours=1)),
    "activity": ("Guided half-day tour", 4, 65, 40, timedelta(hours=4)),
    "venue": ("Gala dinner venue hire", 1, 4200, 3100, timedelta(hours=5)),
    "catering": ("Three-course dinner with wine pairing", 20, 75, 48, timedelta(hours=3)),
    "other": ("Welcome pack and local SIM", 4, 25, 12, timedelta(hours=1)),
}
# How many demo bookings end in each status (40 in all).
BOOKING_PLAN = (
    ["draft"] * 6
    + ["pending_approval"] * 7
    + ["approved"] * 8
    + ["confirmed"] * 8
    + ["completed"] * 6
    + ["cancelled"] * 5
)
OFFER_PLAN = (
    ["draft"] * 3
    + ["sent"] * 4
    + ["accepted"] * 3
    + ["declined"] * 2
    + ["expired"] * 2
    + ["withdrawn"] * 1
)


@dataclass
class Counts:
    created: int = 0
    existing: int = 0


class Command(BaseCommand):
    help = "Load realistic demo data (idempotent) and print how to log in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off (it creates accounts with known passwords).",
        )
        parser.add_argument(
            "--send",
            action="store_true",
            help="Deliver the messages the demo history records (by default they are "
            "marked cancelled, so starting the worker does not send hundreds of them).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates accounts with known passwords; it runs only with "
                "DEBUG on (or pass --force on a machine of your own)."
            )
        # One "Enqueued" line per recorded message would bury the login details.
        logging.getLogger("django-q").setLevel(logging.WARNING)
        self.rng = random.Random(2026)  # noqa: S311 - demo data, not security
        self.now = timezone.now().replace(minute=0, second=0, microsecond=0)
        self.system = Actor(via="system", label="demo seed")
        counts = {"bookings": Counts(), "offers": Counts()}
        started = timezone.now()
        # Without --send the recorded messages are cancelled below: queue no task
        # for them either, or the worker would wake up for hundreds of rows to skip.
        hold = contextlib.nullcontext() if options["send"] else recording_only()
        with hold, transaction.atomic():
            users = self._users()
            vendors = self._vendors()
            brokers = self._brokers()
            self._portal_accounts(vendors, brokers)
            for n, status in enumerate(BOOKING_PLAN, start=1):
                made = self._booking(n, status, vendors, brokers)
                counts["bookings"].created += made
                counts["bookings"].existing += not made
            for n, status in enumerate(OFFER_PLAN, start=1):
                made = self._offer(n, status, vendors, brokers)
                counts["offers"].created += made
                counts["offers"].existing += not made
            # By name: billing sits above bookings, and offers does not import it.
            if apps.is_installed("billing"):
                call_command("seed_billing_demo", stdout=self.stdout)
            if not options["send"]:
                Notification.objects.filter(
                    created_at__gte=started, status=Notification.Status.PENDING
                ).update(
                    status=Notification.Status.CANCELLED,
                    last_error="Demo history from seed_demo: recorded, not sent.",
                )
        self._report(users, vendors, brokers, counts)

    # --- people -----------------------------------------------------------------------

    def _users(self) -> dict[str, Any]:
        user_model = get_user_model()
        users = {}
        admin, created = user_model.objects.get_or_create(
            username="admin",
            defaults={
                "email": "admin@example.com",
                "is_staff": True,
                "is_superuser": True,
                "first_name": "Demo",
                "last_name": "Admin",
            },
        )
        if created:
            admin.set_password("admin")
            admin.save(update_fields=["password"])
        users["admin"] = admin
        for username, group, first in (
            ("agent", AGENTS, "Alex"),
            ("approver", APPROVERS, "Rita"),
            ("partners", PARTNER_MANAGERS, "Paulo"),
        ):
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={
                    "email": f"{username}@example.com",
                    "is_staff": True,
                    "first_name": first,
                    "last_name": "Demo",
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
                user.groups.add(Group.objects.get(name=group))
            users[username] = user
        return users

    def _vendors(self) -> list[Vendor]:
        vendors = []
        for n, (name, types, channels) in enumerate(VENDORS, start=1):
            vendor = Vendor.objects.filter(name=name).first()
            if vendor is None:
                slug = name.lower().replace(" ", "-")
                vendor = partners.vendor_create(
                    actor=self.system,
                    name=name,
                    email=f"reservations@{slug}.example",
                    phone=f"+3519100000{n:02d}",
                    service_types=types,
                    notify_by=channels,
                )
            vendors.append(vendor)
        return vendors

    def _brokers(self) -> list[Broker]:
        brokers = []
        for name, rate in BROKERS:
            broker = Broker.objects.filter(name=name).first()
            if broker is None:
                slug = name.lower().split()[0]
                broker = partners.broker_create(
                    actor=self.system,
                    name=name,
                    email=f"bookings@{slug}.example",
                    commission_rate=rate,
                )
            brokers.append(broker)
        return brokers

    def _portal_accounts(self, vendors: list[Vendor], brokers: list[Broker]) -> None:
        """Two ready portal logins: the first vendor and the first broker."""
        user_model = get_user_model()
        for username, partner in (("vendor", vendors[0]), ("broker", brokers[0])):
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={"email": partner.email, "first_name": "Demo", "last_name": partner.name},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
                owner = {"vendor": partner} if isinstance(partner, Vendor) else {"broker": partner}
                PortalAccount.objects.create(user=user, **owner)

    # --- bookings -----------------------------------------------------------------------

    def _item_data(self, service: str, start: datetime) -> dict[str, Any]:
        description, qty, price, cost, length = SERVICES[service]
        return {
            "service_type": service,
            "description": description,
            "start": start,
            "end": start + length,
            "quantity": qty,
            "unit_price": Decimal(price),
            "unit_cost": Decimal(cost),
        }

    def _vendor_for(
        self, service: str, vendors: list[Vendor], skip: Vendor | None = None
    ) -> Vendor:
        able = [v for v in vendors if service in v.service_types and v != skip]
        return self.rng.choice(able or [v for v in vendors if v != skip])

    def _booking(self, n: int, status: str, vendors: list[Vendor], brokers: list[Broker]) -> bool:
        reference = f"BK-DEM{n:03d}"
        if Booking.objects.filter(reference=reference).exists():
            return False
        rng = self.rng
        past = status == "completed"
        day0 = self.now + (
            timedelta(days=-rng.randint(10, 60)) if past else timedelta(days=rng.randint(7, 120))
        )
        day0 = day0.replace(hour=rng.choice([9, 10, 14, 15]))
        services = rng.sample(list(SERVICES), k=rng.randint(1, 5))
        broker = rng.choice(brokers) if rng.random() < 0.6 else None
        customer = CUSTOMERS[(n - 1) % len(CUSTOMERS)]
        booking = bookings.booking_create(
            actor=self.system,
            reference=reference,
            broker=broker,
            customer_name=customer,
            customer_email=customer.lower().replace(" ", ".").replace("'", "") + "@example.com",
            currency="EUR",
            notes=rng.choice(
                [
                    "",
                    "Vegetarian meals for two guests.",
                    "Late arrival expected.",
                    "Celebrating an anniversary.",
                    "Wheelchair access needed.",
                ]
            ),
            items=[self._item_data(s, day0 + timedelta(days=i)) for i, s in enumerate(services)],
        )
        items = list(booking.items.all())
        self._advance_booking(booking, status, items, vendors)
        return True

    def _vendor_actor(self, item: BookingItem) -> Actor:
        item.refresh_from_db()
        return Actor(vendor=item.vendor, via="portal")

    def _advance_booking(
        self, booking: Booking, status: str, items: list[BookingItem], vendors: list[Vendor]
    ) -> None:
        rng = self.rng
        if status == "cancelled":
            # Cancelled from a random earlier point in the life of a booking.
            status_before = rng.choice(["draft", "pending_approval", "approved"])
            self._advance_booking(booking, status_before, items, vendors)
            bookings.booking_cancel(
                booking=booking,
                actor=self.system,
                reason=rng.choice(
                    [
                        "Customer changed plans.",
                        "Event postponed to next year.",
                        "Duplicate request.",
                    ]
                ),
            )
            return
        # Vendors: in a draft some are asked; later, all are.
        for item in items:
            if status == "draft" and rng.random() < 0.6:
                continue
            bookings.item_assign_vendor(
                item=item, vendor=self._vendor_for(item.service_type, vendors), actor=self.system
            )
        if status == "draft":
            return
        bookings.booking_submit(booking=booking, actor=self.system)
        # Vendors answer: by approval most have accepted; some declined and were replaced.
        for item in items:
            roll = rng.random()
            if status in ("confirmed", "completed") or roll < 0.75:
                if status in ("approved",) and roll < 0.15:
                    bookings.item_decline(
                        item=item,
                        actor=self._vendor_actor(item),
                        reason="Fully booked on those dates.",
                    )
                    continue
                if status != "pending_approval" or roll < 0.4:
                    bookings.item_accept(item=item, actor=self._vendor_actor(item))
        if status == "pending_approval":
            return
        bookings.booking_approve(booking=booking, actor=self.system)
        confirm_all = status in ("confirmed", "completed")
        for n, item in enumerate(items):
            item.refresh_from_db()
            if item.vendor_status != BookingItem.VendorStatus.ACCEPTED:
                continue
            if confirm_all or (rng.random() < 0.5 and n < len(items) - 1):
                bookings.item_confirm(
                    item=item,
                    actor=self._vendor_actor(item),
                    vendor_reference=f"CONF-{rng.randint(10000, 99999)}",
                )
        if status == "completed":
            bookings.booking_complete(booking=booking, actor=self.system)

    # --- offers -------------------------------------------------------------------------

    def _offer(self, n: int, status: str, vendors: list[Vendor], brokers: list[Broker]) -> bool:
        reference = f"OF-DEM{n:03d}"
        if Offer.objects.filter(reference=reference).exists():
            return False
        rng = self.rng
        day0 = (self.now + timedelta(days=rng.randint(20, 150))).replace(hour=10)
        broker = brokers[(n - 1) % len(brokers)] if n % 4 else None
        customer = "" if broker else CUSTOMERS[-n % len(CUSTOMERS)]
        services = rng.sample(list(SERVICES), k=rng.randint(1, 4))
        lines = []
        for i, service in enumerate(services):
            data = self._item_data(service, day0 + timedelta(days=i))
            data["proposed_vendor"] = (
                self._vendor_for(service, vendors) if rng.random() < 0.5 else None
            )
            lines.append(data)
        offer = offers.offer_create(
            actor=self.system,
            reference=reference,
            broker=broker,
            customer_name=customer,
            customer_email=customer.lower().replace(" ", ".") + "@example.com" if customer else "",
            currency="EUR",
            valid_until=self.now + timedelta(days=rng.randint(5, 30)),
            notes="Incentive group, flexible on dates." if n % 3 == 0 else "",
            lines=lines,
        )
        if status == "draft":
            return True
        if status == "withdrawn":
            offers.offer_send(offer=offer, actor=self.system)
            offers.offer_withdraw(offer=offer, actor=self.system, reason="Prices changed.")
            return True
        offers.offer_send(offer=offer, actor=self.system)
        if status == "accepted":
            # Who travels: the offer's customer, or for a broker's offer one of theirs.
            lead = customer or CUSTOMERS[(n + 7) % len(CUSTOMERS)]
            offers.offer_accept(
                offer=offer,
                actor=self.system,
                lead_name=lead,
                lead_email=lead.lower().replace(" ", ".").replace("'", "") + "@example.com",
            )
        elif status == "declined":
            offers.offer_decline(offer=offer, actor=self.system, reason="Went with another quote.")
        elif status == "expired":
            # Seeded history: the offer ran out some days ago.
            Offer.objects.filter(pk=offer.pk).update(valid_until=self.now - timedelta(days=3))
            offers.offer_expire(offer=offer, actor=self.system)
        return True

    # --- report -------------------------------------------------------------------------

    def _report(
        self,
        users: dict[str, Any],
        vendors: list[Vendor],
        brokers: list[Broker],
        counts: dict[str, Counts],
    ) -> None:
        out = self.stdout
        out.write(
            self.style.SUCCESS(
                f"Demo data: {len(vendors)} vendors, {len(brokers)} brokers, "
                f"{counts['bookings'].created} bookings and {counts['offers'].created} offers "
                f"created ({counts['bookings'].existing} bookings and "
                f"{counts['offers'].existing} offers were already there)."
            )
        )
        out.write("Log in (local demo accounts):")
        rows = [
            ("/admin/", "admin", "admin", "superuser"),
            ("/admin/", "agent", DEMO_PASSWORD, "staff: Agents"),
            ("/admin/", "approver", DEMO_PASSWORD, "staff: Approvers"),
            ("/admin/", "partners", DEMO_PASSWORD, "staff: Partner managers"),
            ("/portal/", "vendor", DEMO_PASSWORD, f"vendor {vendors[0].name}"),
            ("/portal/", "broker", DEMO_PASSWORD, f"broker {brokers[0].name}"),
        ]
        for where, username, password, who in rows:
            out.write(f"  {where:<9} user {username:<9} password {password:<15} ({who})")

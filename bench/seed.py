"""Bench-only data: thousands of bookings in seconds, with bulk_create.

    python -m bench.seed --bookings 2000 --password PASSWORD

Not the demo seed (which goes through the services, one audit entry and notification
at a time, and is far too slow for thousands of rows). Rows made here are marked by
their ``BN-`` references and ``Bench`` partner names and are replaced on each run
that asks for a different count. Prints one JSON object: the API keys made for this
run (shown once, stored hashed like every key) and the logins.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from datetime import timedelta
from decimal import Decimal
from typing import Any

import orjson

PREFIX = "BN-"
# What the soak writes (bench/run.py): removed by the next seed, so that every run
# measures the same first page (the newest bookings), not the last run's soak writes.
SOAK_NOTES = "made by the bench soak"
STAFF_USERNAME = "bench-staff"
BROKER_USERNAME = "bench-broker"
VENDOR_USERNAME = "bench-vendor"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookings_site.settings")
    import django

    django.setup()


def seed(*, bookings: int, password: str, seed_value: int = 42) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from bookings.models import Booking, BookingItem
    from core.domain import Actor
    from partners.models import Broker, PortalAccount, ServiceType, Vendor
    from partners.services import api_key_create

    rng = random.Random(seed_value)  # noqa: S311 - repeatable data, not secrets
    user_model = get_user_model()
    now = timezone.now()

    with transaction.atomic():
        vendors = _partners(Vendor, 20, lambda i: {"service_types": ["accommodation"]})
        brokers = _partners(Broker, 10, lambda i: {"commission_rate": Decimal("8.50")})
        staff = _user(user_model, STAFF_USERNAME, password, staff=True)
        broker_user = _user(user_model, BROKER_USERNAME, password)
        vendor_user = _user(user_model, VENDOR_USERNAME, password)
        PortalAccount.objects.update_or_create(
            user=broker_user, defaults={"broker": brokers[0], "vendor": None}
        )
        PortalAccount.objects.update_or_create(
            user=vendor_user, defaults={"vendor": vendors[0], "broker": None}
        )

        Booking.objects.filter(notes=SOAK_NOTES).exclude(reference__startswith=PREFIX).delete()
        ours = Booking.objects.filter(reference__startswith=PREFIX)
        # Made again when the count differs, or by an older seed that gave the
        # first broker no bookings.
        if ours.count() != bookings or not ours.filter(broker=brokers[0]).exists():
            Booking.objects.filter(reference__startswith=PREFIX).delete()
            _bookings(rng, now=now, count=bookings, vendors=vendors, brokers=brokers)

        system = Actor(via="system", label="bench seed")
        _, staff_key = api_key_create(actor=system, user=staff, name="bench staff")
        _, broker_key = api_key_create(actor=system, broker=brokers[0], name="bench broker")
        _, vendor_key = api_key_create(actor=system, vendor=vendors[0], name="bench vendor")

    sample = list(
        Booking.objects.filter(reference__startswith=PREFIX, broker=brokers[0])
        .order_by("reference")
        .values_list("reference", flat=True)[:50]
    )
    item_ids = list(
        BookingItem.objects.filter(vendor=vendors[0])
        .order_by("id")
        .values_list("id", flat=True)[:50]
    )
    return {
        "bookings": Booking.objects.filter(reference__startswith=PREFIX).count(),
        "items": BookingItem.objects.filter(booking__reference__startswith=PREFIX).count(),
        "staff_username": STAFF_USERNAME,
        "broker_username": BROKER_USERNAME,
        "vendor_username": VENDOR_USERNAME,
        "staff_api_key": staff_key,
        "broker_api_key": broker_key,
        "vendor_api_key": vendor_key,
        "broker_id": brokers[0].pk,
        "vendor_id": vendors[0].pk,
        "vendor_ids": [v.pk for v in vendors],
        "broker_references": sample,
        "vendor_item_ids": item_ids,
        "service_types": [s.value for s in ServiceType],
    }


def _partners(model: Any, count: int, extra: Any) -> list[Any]:
    kind = model.__name__.lower()
    rows = []
    for i in range(count):
        obj, _ = model.objects.get_or_create(
            name=f"Bench {kind} {i:02d}",
            defaults={"email": f"{kind}{i:02d}@bench.invalid", **extra(i)},
        )
        rows.append(obj)
    return rows


def _user(user_model: Any, username: str, password: str, *, staff: bool = False) -> Any:
    user, _ = user_model.objects.get_or_create(
        username=username, defaults={"email": f"{username}@bench.invalid"}
    )
    user.is_staff = user.is_superuser = staff
    user.set_password(password)
    user.save(update_fields=["is_staff", "is_superuser", "password"])
    return user


def _bookings(
    rng: random.Random, *, now: Any, count: int, vendors: list[Any], brokers: list[Any]
) -> None:
    from bookings.models import Booking, BookingItem
    from partners.models import ServiceType

    statuses = [s.value for s in Booking.Status]
    service_types = [s.value for s in ServiceType]
    bookings = []
    for i in range(count):
        status = rng.choice(statuses)
        created = now - timedelta(days=90) + timedelta(seconds=i * 90 * 86400 // max(count, 1))
        bookings.append(
            Booking(
                reference=f"{PREFIX}{i:06d}",
                status=status,
                # Four in five come from a broker, spread over all of them (the
                # first broker, whose key and login the bench uses, included).
                broker=brokers[(i // 5) % len(brokers)] if i % 5 else None,
                commission_rate=Decimal("8.50") if i % 5 else Decimal("0.00"),
                customer_name=f"Customer {i}",
                customer_email=f"customer{i}@bench.invalid",
                currency="EUR",
                notes="Bench booking" if i % 3 == 0 else "",
                source=Booking.Source.API,
                created_at=created,
                submitted_at=created if status != "draft" else None,
                cancelled_at=created if status == "cancelled" else None,
            )
        )
    Booking.objects.bulk_create(bookings, batch_size=1000)
    items = []
    for booking in bookings:
        for n in range(rng.randint(1, 5)):
            start = booking.created_at + timedelta(days=30 + n)
            vendor = rng.choice(vendors) if rng.random() < 0.8 else None
            vendor_status = (
                rng.choice(["pending", "accepted", "confirmed"]) if vendor else "unassigned"
            )
            items.append(
                BookingItem(
                    booking=booking,
                    service_type=rng.choice(service_types),
                    description=f"Bench service {n + 1} for {booking.reference}",
                    start=start,
                    end=start + timedelta(hours=rng.randint(1, 72)),
                    quantity=rng.randint(1, 4),
                    unit_price=Decimal(rng.randint(2000, 50000)) / 100,
                    unit_cost=Decimal(rng.randint(1000, 30000)) / 100,
                    vendor=vendor,
                    vendor_status=vendor_status,
                    vendor_reference=f"V-{booking.pk}-{n}" if vendor_status == "confirmed" else "",
                    assigned_at=booking.created_at if vendor else None,
                    created_at=booking.created_at,
                )
            )
    BookingItem.objects.bulk_create(items, batch_size=2000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--password", required=True)
    args = parser.parse_args(argv)
    _setup_django()
    result = seed(bookings=args.bookings, password=args.password)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

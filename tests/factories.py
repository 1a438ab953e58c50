"""factory-boy factories shared by every test folder."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from bookings.models import Booking, BookingItem, new_reference
from offers.models import Offer, OfferLine
from partners.models import Broker, PortalAccount, Vendor


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def groups(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=extracted))


class StaffFactory(UserFactory):
    is_staff = True


class SuperuserFactory(StaffFactory):
    is_superuser = True


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor

    name = factory.Sequence(lambda n: f"Vendor {n}")
    email = factory.Sequence(lambda n: f"vendor{n}@example.com")
    phone = factory.Sequence(lambda n: f"+35191{n:07d}")
    service_types = factory.LazyFunction(lambda: ["accommodation", "transfer"])
    notify_by = factory.LazyFunction(lambda: ["email"])


class BrokerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Broker

    name = factory.Sequence(lambda n: f"Broker {n}")
    email = factory.Sequence(lambda n: f"broker{n}@example.com")
    commission_rate = Decimal("10.00")


class PortalAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PortalAccount

    user = factory.SubFactory(UserFactory)


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    reference = factory.LazyFunction(lambda: new_reference("BK"))
    customer_name = factory.Faker("name")
    customer_email = factory.Faker("email")
    currency = "EUR"


class BookingItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BookingItem

    booking = factory.SubFactory(BookingFactory)
    service_type = "accommodation"
    description = "Double room, sea view"
    start = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    end = factory.LazyAttribute(lambda o: o.start + timedelta(days=2))
    quantity = 2
    unit_price = Decimal("150.00")
    unit_cost = Decimal("100.00")


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    reference = factory.LazyFunction(lambda: new_reference("OF"))
    customer_name = factory.Faker("name")
    customer_email = factory.Faker("email")
    currency = "EUR"
    valid_until = factory.LazyFunction(lambda: timezone.now() + timedelta(days=14))


class OfferLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OfferLine

    offer = factory.SubFactory(OfferFactory)
    service_type = "transfer"
    description = "Airport transfer, minivan"
    start = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    end = factory.LazyAttribute(lambda o: o.start + timedelta(hours=1))
    quantity = 1
    unit_price = Decimal("80.00")
    unit_cost = Decimal("50.00")

"""The bench seed: the same data on every run, whatever the previous run's soak wrote."""

from __future__ import annotations

import pytest

from bench.seed import PREFIX, SOAK_NOTES, seed
from bookings.models import Booking
from tests.factories import BookingFactory, BookingItemFactory

pytestmark = pytest.mark.django_db


def test_a_second_seed_removes_the_soak_writes_and_keeps_everything_else() -> None:
    seed(bookings=20, password="bench-pass-2026")
    seeded = set(Booking.objects.filter(reference__startswith=PREFIX).values_list("pk", flat=True))
    soak = BookingFactory(notes=SOAK_NOTES)
    BookingItemFactory(booking=soak)
    other = BookingFactory(notes="a customer's own words")

    result = seed(bookings=20, password="bench-pass-2026")

    assert not Booking.objects.filter(pk=soak.pk).exists()
    assert Booking.objects.filter(pk=other.pk).exists()
    assert result["bookings"] == 20
    assert (
        set(Booking.objects.filter(reference__startswith=PREFIX).values_list("pk", flat=True))
        == seeded
    )

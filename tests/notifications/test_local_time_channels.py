"""A service at 10:00 in Lisbon in May is "10:00 WEST" in every channel: the vendor's
email and WhatsApp message, its portal page (with "answer by" on its own clock), the
admin's list and form, whatever the server's zone. Entering 10:00 in the admin means
10:00 where the service happens; a time the clocks skip or repeat is a field error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from bookings import services
from bookings.models import BookingItem
from core.domain import Actor
from notifications.formatting import format_local, format_when
from notifications.models import Notification
from tests import factories
from tests.admin.helpers import form_post_data

pytestmark = pytest.mark.django_db
SYSTEM = Actor(via="system", label="test")
# 10:00 in Lisbon on Monday 10 May 2027 (summer time, WEST = UTC+1) is 09:00 UTC.
START = datetime(2027, 5, 10, 9, 0, tzinfo=UTC)
LOCAL = "Mon 10 May 2027, 10:00 – 12:00 WEST"


def test_format_local_writes_the_zone_abbreviation_of_the_moment() -> None:
    assert format_local(START, "Europe/Lisbon") == "Mon 10 May 2027, 10:00 WEST"
    winter = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
    assert format_local(winter, "Europe/Lisbon") == "Sun 10 Jan 2027, 09:00 WET"
    assert format_local(START, "Asia/Kolkata") == "Mon 10 May 2027, 14:30 IST"
    # Across the October change the end gets its own abbreviation.
    night = datetime(2027, 10, 30, 23, 30, tzinfo=UTC)  # 00:30 WEST on the 31st
    assert format_when(night, night + timedelta(hours=3), "Europe/Lisbon") == (
        "Sun 31 Oct 2027, 00:30 WEST – Sun 31 Oct 2027, 02:30 WET"
    )


@pytest.fixture
def lisbon_item(settings: Any) -> BookingItem:
    settings.TIME_ZONE = "America/New_York"  # the server's zone must not matter
    vendor = factories.VendorFactory(
        name="Lisboa Transfers",
        timezone="Europe/Lisbon",
        notify_by=["email", "whatsapp"],
        response_hours=24,
    )
    booking = services.booking_create(
        actor=SYSTEM,
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        items=[
            {
                "service_type": "transfer",
                "description": "Airport pickup",
                "start": START,
                "end": START + timedelta(hours=2),
                "quantity": 2,
                "unit_price": Decimal("80.00"),
                "unit_cost": Decimal("50.00"),
                "vendor": vendor,
            }
        ],
    )
    services.booking_submit(booking=booking, actor=SYSTEM)
    item = booking.items.select_related("vendor").get()
    assert item.timezone == "Europe/Lisbon"  # the vendor's, as none was given
    return item


def test_the_vendor_is_told_10_00_west_by_email_and_whatsapp(lisbon_item: BookingItem) -> None:
    email = Notification.objects.get(kind="item_assigned", channel="email")
    assert LOCAL in email.body_text and LOCAL in email.body_html
    assert "Mon 10 May 2027, 10:00 WEST" in email.subject
    assert "Please answer by:" in email.body_text and "WEST" in email.body_text
    whatsapp = Notification.objects.get(kind="item_assigned", channel="whatsapp")
    assert whatsapp.whatsapp_params[2] == LOCAL


def test_the_vendor_portal_shows_local_time_and_answer_by(lisbon_item: BookingItem) -> None:
    vendor = lisbon_item.vendor
    assert vendor is not None and lisbon_item.respond_by is not None
    user = factories.PortalAccountFactory(vendor=vendor).user
    client = Client()
    client.force_login(user)
    page = client.get(reverse("portal:item-detail", args=[lisbon_item.pk])).content.decode()
    assert LOCAL in page
    answer_by = format_local(lisbon_item.respond_by, "Europe/Lisbon")
    assert "Answer by" in page and answer_by in page
    listing = client.get(reverse("portal:items")).content.decode()
    assert f"Answer by {answer_by}" in listing


def test_another_vendor_never_sees_the_item_nor_its_deadline(lisbon_item: BookingItem) -> None:
    other = factories.PortalAccountFactory(vendor=factories.VendorFactory()).user
    client = Client()
    client.force_login(other)
    assert client.get(reverse("portal:item-detail", args=[lisbon_item.pk])).status_code == 404
    assert "Airport pickup" not in client.get(reverse("portal:items")).content.decode()


def test_the_admin_shows_the_services_local_time(
    lisbon_item: BookingItem, client: Client, superuser: Any
) -> None:
    client.force_login(superuser)
    listing = client.get(reverse("admin:bookings_bookingitem_changelist")).content.decode()
    assert LOCAL.replace(" ", "&nbsp;") in listing or LOCAL in listing
    assert "Answer by" in listing
    page = client.get(reverse("admin:bookings_bookingitem_change", args=[lisbon_item.pk]))
    form = page.context["adminform"].form
    assert form["start"].value() in (datetime(2027, 5, 10, 10, 0), ["2027-05-10", "10:00:00"])
    html = page.content.decode()
    assert 'value="10:00:00"' in html and "Local time in Europe/Lisbon" in html


def _add_item(client: Client, booking: Any, date: str, time: str) -> Any:
    data = form_post_data(client.get(reverse("admin:bookings_bookingitem_add")))
    return client.post(
        reverse("admin:bookings_bookingitem_add"),
        {
            **data,
            "booking": booking.pk,
            "service_type": "transfer",
            "description": "Night transfer",
            "start_0": date,
            "start_1": time,
            "end_0": date,
            "end_1": "05:00",
            "timezone": "Europe/Lisbon",
            "quantity": "1",
            "unit_price": "10.00",
            "unit_cost": "5.00",
            "zero_price_reason": "",
        },
    )


@override_settings(TIME_ZONE="UTC")
def test_the_admin_reads_a_time_where_the_service_happens(client: Client, superuser: Any) -> None:
    client.force_login(superuser)
    booking = factories.BookingFactory()
    response = _add_item(client, booking, "2027-05-10", "03:00")
    assert response.status_code == 302, response.context["adminform"].form.errors
    item = booking.items.get()
    assert item.start == datetime(2027, 5, 10, 2, 0, tzinfo=UTC)  # 03:00 WEST
    assert item.timezone == "Europe/Lisbon"


@pytest.mark.parametrize(
    ("date", "words"),
    [
        ("2027-03-28", "does not exist in Europe/Lisbon"),  # 01:30 is skipped
        ("2027-10-31", "happens twice in Europe/Lisbon"),  # 01:30 happens twice
    ],
)
def test_the_admin_refuses_a_time_a_daylight_saving_change_skips_or_repeats(
    client: Client, superuser: Any, date: str, words: str
) -> None:
    client.force_login(superuser)
    booking = factories.BookingFactory()
    response = _add_item(client, booking, date, "01:30")
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert words in " ".join(errors["start"])
    assert not booking.items.exists()

"""The agenda and the day sheet: services by their local day, filters, CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bookings.models import Booking, BookingItem
from tests import factories

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
B = Booking.Status
V = BookingItem.VendorStatus


@pytest.fixture
def tokyo(settings: Any) -> None:
    settings.DEFAULT_SERVICE_TIMEZONE = "Asia/Tokyo"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 5, day, hour, minute, tzinfo=TOKYO)


@pytest.fixture
def services(tokyo: None) -> dict[str, BookingItem]:
    coaches = factories.VendorFactory(name="Kyoto Coaches")
    dining = factories.VendorFactory(name="Gion Dining")
    lead = factories.BookingFactory(status=B.APPROVED, customer_name="Aiko Tanaka")

    def item(start: datetime, **fields: Any) -> BookingItem:
        fields.setdefault("booking", lead)
        return factories.BookingItemFactory(start=start, end=start, **fields)

    return {
        "eve": item(at(9, 23, 59), description="Late arrival transfer", service_type="transfer"),
        "midnight": item(
            at(10, 0, 0),
            description="Night transfer",
            service_type="transfer",
            vendor=coaches,
            vendor_status=V.CONFIRMED,
            vendor_reference="KC-1",
            quantity=3,
        ),
        "dinner": item(
            at(10, 23, 59),
            description="=Kaiseki dinner, Gion",
            service_type="catering",
            vendor=dining,
            vendor_status=V.PENDING,
        ),
        "next": item(at(11, 0, 0), description="Breakfast cruise", service_type="activity"),
        "cancelled": item(at(10, 12), description="Cancelled tour", cancelled_at=at(1, 9)),
        "draft": item(
            at(10, 12),
            description="Draft tour",
            booking=factories.BookingFactory(status=B.DRAFT),
        ),
    }


def sheet(client: Client, day: str, query: str = "") -> list[list[str]]:
    response = client.get(f"/admin/agenda/{day}/?format=csv{query}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="day-sheet-{day}.csv"' in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_day_sheet_holds_the_services_of_that_local_day_only(
    services: dict[str, BookingItem], staff_client: Client
) -> None:
    rows = sheet(staff_client, "2027-05-10")
    assert rows[0] == [
        "Start",
        "End",
        "Service",
        "Place / description",
        "Vendor",
        "Vendor reference",
        "Lead traveller",
        "Quantity",
        "Booking",
        "Vendor status",
    ]
    reference = services["midnight"].booking.reference
    assert rows[1:] == [
        [
            "00:00 JST",
            "00:00 JST",
            "Transfer",
            "Night transfer",
            "Kyoto Coaches",
            "KC-1",
            "Aiko Tanaka",
            "3",
            reference,
            "Confirmed",
        ],
        # A description a spreadsheet would run as a formula stays text.
        [
            "23:59 JST",
            "23:59 JST",
            "Catering",
            "'=Kaiseki dinner, Gion",
            "Gion Dining",
            "",
            "Aiko Tanaka",
            "2",
            reference,
            "Pending vendor",
        ],
    ]


def test_the_days_either_side_hold_the_services_at_their_edges(
    services: dict[str, BookingItem], staff_client: Client
) -> None:
    assert [r[3] for r in sheet(staff_client, "2027-05-09")[1:]] == ["Late arrival transfer"]
    assert [r[3] for r in sheet(staff_client, "2027-05-11")[1:]] == ["Breakfast cruise"]


def test_the_day_sheet_page_is_printable(
    services: dict[str, BookingItem], staff_client: Client, settings: Any
) -> None:
    html = staff_client.get("/admin/agenda/2027-05-10/").content.decode()
    assert "Night transfer" in html and "Draft tour" not in html
    assert "Cancelled tour" not in html and "Breakfast cruise" not in html
    assert "window.print()" in html
    assert "/admin/agenda/2027-05-10/?format=csv" in html
    css = (settings.BASE_DIR / "static" / "workspace" / "admin.css").read_text()
    assert "@media print" in css and ".screen-only" in css


def agenda_descriptions(client: Client, query: str) -> list[str]:
    response = client.get(f"/admin/agenda/?start=2027-05-09&days=3{query}")
    assert response.status_code == 200
    return [s.item.description for _, day in response.context["days"] for s in day]


def test_the_agenda_lists_services_by_local_day(
    services: dict[str, BookingItem], staff_client: Client
) -> None:
    response = staff_client.get("/admin/agenda/?start=2027-05-09&days=3")
    days = [
        (day.isoformat(), [s.item.description for s in rows])
        for day, rows in response.context["days"]
    ]
    assert days == [
        ("2027-05-09", ["Late arrival transfer"]),
        ("2027-05-10", ["Night transfer", "=Kaiseki dinner, Gion"]),
        ("2027-05-11", ["Breakfast cruise"]),
    ]
    # Times in the service's zone, whatever the server's.
    html = response.content.decode()
    assert "00:00 JST" in html and "23:59 JST" in html
    assert "UTC" not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("&service_type=transfer", ["Late arrival transfer", "Night transfer"]),
        ("&status=pending", ["=Kaiseki dinner, Gion"]),
        ("&status=unassigned&service_type=activity", ["Breakfast cruise"]),
    ],
)
def test_the_agenda_filters_by_type_and_status(
    query: str, expected: list[str], services: dict[str, BookingItem], staff_client: Client
) -> None:
    assert agenda_descriptions(staff_client, query) == expected


def test_the_agenda_filters_by_vendor(
    services: dict[str, BookingItem], staff_client: Client
) -> None:
    vendor = services["midnight"].vendor
    assert agenda_descriptions(staff_client, f"&vendor={vendor.pk}") == ["Night transfer"]
    rows = sheet(staff_client, "2027-05-10", f"&vendor={vendor.pk}")
    assert [r[3] for r in rows[1:]] == ["Night transfer"]


@pytest.mark.parametrize("query", ["&days=0", "&days=400", "&start=yesterday", "&status=lost"])
def test_bad_agenda_input_is_a_form_error_not_a_failure(
    query: str, services: dict[str, BookingItem], staff_client: Client
) -> None:
    response = staff_client.get(f"/admin/agenda/?start=2027-05-09&days=3{query}")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert response.context["days"] == []


def test_an_impossible_day_is_not_found(staff_client: Client) -> None:
    assert staff_client.get("/admin/agenda/2027-02-30/").status_code == 404


def test_the_agenda_queries_do_not_grow_with_its_rows(tokyo: None, staff_client: Client) -> None:
    staff_client.get("/admin/agenda/?start=2027-05-10&days=1")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            staff_client.get("/admin/agenda/?start=2027-05-10&days=1")
        return len(captured.captured_queries)

    factories.BookingItemFactory(booking__status=B.APPROVED, start=at(10, 9), end=at(10, 10))
    one = queries()
    for hour in range(10, 20):
        vendor = factories.VendorFactory()
        factories.BookingItemFactory(
            booking__status=B.APPROVED,
            start=at(10, hour),
            end=at(10, hour, 30),
            vendor=vendor,
            vendor_status=V.PENDING,
        )
    assert queries() == one


def test_staff_without_view_permission_on_items_cannot_open_the_agenda(
    services: dict[str, BookingItem], client: Client
) -> None:
    staff = factories.StaffFactory(username="bookings-only")
    staff.user_permissions.add(
        Permission.objects.get(codename="view_booking", content_type__app_label="bookings")
    )
    client.force_login(staff)
    assert client.get("/admin/agenda/").status_code == 403
    assert client.get("/admin/agenda/2027-05-10/?format=csv").status_code == 403


def test_the_agenda_needs_a_staff_login(client: Client) -> None:
    response = client.get("/admin/agenda/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_each_service_belongs_to_the_day_where_it_happens(
    tokyo: None, staff_client: Client
) -> None:
    """A Lisbon dinner at 23:30 on the 10th starts after a Tokyo breakfast at 00:30 on
    the 11th (15:30 UTC on the 10th); each is on its own local day's sheet."""
    booking = factories.BookingFactory(status=B.APPROVED)
    lisbon = datetime(2027, 5, 10, 23, 30, tzinfo=ZoneInfo("Europe/Lisbon"))
    factories.BookingItemFactory(
        booking=booking,
        description="Fado dinner",
        start=lisbon,
        end=lisbon,
        timezone="Europe/Lisbon",
    )
    factories.BookingItemFactory(
        booking=booking,
        description="Tsukiji breakfast",
        start=at(11, 0, 30),
        end=at(11, 1),
        timezone="Asia/Tokyo",
    )
    assert [r[:4] for r in sheet(staff_client, "2027-05-10")[1:]] == [
        ["23:30 WEST", "23:30 WEST", "Accommodation", "Fado dinner"]
    ]
    assert [r[3] for r in sheet(staff_client, "2027-05-11")[1:]] == ["Tsukiji breakfast"]

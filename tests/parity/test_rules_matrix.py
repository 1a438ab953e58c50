"""One set of rules behind three doors: each rule driven through the admin, the portal
and the API with the same bad input, each door refusing it (a form error, an admin
message, a 400 or 409) and nothing stored or sent.

A door a rule cannot reach is said so beside the rule (brokers have no admin; only
staff approve, so the portal has no approve button).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from bookings import services as bs
from bookings.models import Booking, BookingItem
from bookings.rules import MAX_ITEMS_PER_BOOKING
from core.domain import Actor
from core.models import AuditEntry
from notifications.models import Notification
from offers.models import Offer, OfferLine
from partners.models import Vendor
from partners.services import api_key_create
from tests import factories
from tests.admin.helpers import form_post_data, messages_of, transition_url

pytestmark = pytest.mark.django_db
SYSTEM = Actor(via="system", label="parity setup")
API = "/api/v1"


# --- the world and what "nothing stored or sent" means ---------------------------------


def counts() -> dict[str, int]:
    return {
        "bookings": Booking.objects.count(),
        "items": BookingItem.objects.count(),
        "offers": Offer.objects.count(),
        "lines": OfferLine.objects.count(),
        "vendors": Vendor.objects.count(),
        "notifications": Notification.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def refused_quietly(before: dict[str, int]) -> None:
    assert counts() == before, "a refused change stored or sent something"


def soon(days: int = 30) -> Any:
    return timezone.now().replace(second=0, microsecond=0) + timedelta(days=days)


def local(dt: Any) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def api_client(**owner: Any) -> APIClient:
    _, raw = api_key_create(actor=SYSTEM, name="parity", **owner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def doors(db: None, superuser: Any, broker: Any, vendor: Any) -> dict[str, Any]:
    admin = Client()
    admin.force_login(superuser)
    portal = Client()
    portal.force_login(factories.PortalAccountFactory(broker=broker).user)
    vendor_portal = Client()
    vendor_portal.force_login(factories.PortalAccountFactory(vendor=vendor).user)
    return {
        "admin": admin,
        "portal": portal,
        "vendor_portal": vendor_portal,
        "staff_api": api_client(user=superuser),
        "broker_api": api_client(broker=broker),
        "vendor_api": api_client(vendor=vendor),
    }


def item_data(**overrides: Any) -> dict[str, Any]:
    start = soon()
    return {
        "service_type": "accommodation",
        "description": "Double room",
        "start": start,
        "end": start + timedelta(days=2),
        "quantity": 2,
        "unit_price": Decimal("150.00"),
        "unit_cost": Decimal("100.00"),
        **overrides,
    }


def draft_for(broker: Any, **overrides: Any) -> Booking:
    requested = {k: v for k, v in item_data(**overrides).items() if not k.startswith("unit_")}
    return bs.booking_create(
        actor=Actor(broker=broker, via="portal"), customer_name="Ana Lead", items=[requested]
    )


def staff_booking(status: str = "draft", **item: Any) -> Booking:
    booking = bs.booking_create(actor=SYSTEM, customer_name="Ana Lead", items=[item_data(**item)])
    if status != "draft":
        bs.booking_submit(booking=booking, actor=SYSTEM)
    return Booking.objects.get(pk=booking.pk)


# --- the three doors' ways of asking --------------------------------------------------


def admin_add_item(client: Client, booking: Booking, **values: Any) -> Any:
    """The admin's "add booking item" form, as a person fills it in."""
    data = form_post_data(client.get(reverse("admin:bookings_bookingitem_add")))
    fields = {**item_data(), **values}
    data.update(
        {
            "booking": str(booking.pk),
            "service_type": fields["service_type"],
            "description": fields["description"],
            "start_0": timezone.localtime(fields["start"]).strftime("%Y-%m-%d"),
            "start_1": timezone.localtime(fields["start"]).strftime("%H:%M:%S"),
            "end_0": timezone.localtime(fields["end"]).strftime("%Y-%m-%d"),
            "end_1": timezone.localtime(fields["end"]).strftime("%H:%M:%S"),
            "quantity": str(fields["quantity"]),
            "unit_price": str(fields["unit_price"]),
            "unit_cost": str(fields["unit_cost"]),
        }
    )
    return client.post(reverse("admin:bookings_bookingitem_add"), data)


def admin_form_errors(response: Any) -> list[str]:
    assert response.status_code == 200, "the admin saved what it should have refused"
    form = response.context["adminform"].form
    return [str(message) for messages in form.errors.values() for message in messages]


def portal_request(client: Client, **row: Any) -> Any:
    start = soon(40)
    data = {
        "customer_name": "Ingrid Nilsen",
        "customer_email": "ingrid@example.com",
        "currency": "EUR",
        "notes": "",
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "1",
        "items-MAX_NUM_FORMS": str(MAX_ITEMS_PER_BOOKING),
        "items-0-service_type": "accommodation",
        "items-0-description": "Suite with a view",
        "items-0-start": local(start),
        "items-0-end": local(start + timedelta(days=3)),
        "items-0-quantity": "1",
    }
    data.update(row)
    return client.post(reverse("portal:booking-request"), data)


def portal_errors(response: Any) -> str:
    assert response.status_code in (200, 409), "the portal saved what it should have refused"
    return response.content.decode()


def api_item(**overrides: Any) -> dict[str, Any]:
    data = item_data(**overrides)
    return {k: str(v) if not isinstance(v, int) else v for k, v in data.items()}


def api_broker_item(**overrides: Any) -> dict[str, Any]:
    unpriced = {k: v for k, v in api_item().items() if not k.startswith("unit_")}
    return {
        **unpriced,
        **{k: str(v) if not isinstance(v, int) else v for k, v in overrides.items()},
    }


# --- dates ----------------------------------------------------------------------------

PAST = timezone.now() - timedelta(days=3)


def test_a_service_starting_in_the_past_is_refused_by_every_door(
    doors: dict[str, Any], broker: Any
) -> None:
    past = soon(-2000)
    booking = staff_booking()
    before = counts()

    response = admin_add_item(doors["admin"], booking, start=past, end=past + timedelta(days=1))
    assert "The start is in the past." in admin_form_errors(response)

    response = portal_request(
        doors["portal"],
        **{"items-0-start": local(past), "items-0-end": local(past + timedelta(days=1))},
    )
    assert "The start is in the past." in portal_errors(response)

    for client, item in (
        (doors["broker_api"], api_broker_item(start=past, end=past + timedelta(days=1))),
        (doors["staff_api"], api_item(start=past, end=past + timedelta(days=1))),
    ):
        response = client.post(
            f"{API}/bookings/", {"customer_name": "Ana", "items": [item]}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["fields"]["start"] == ["Item 1: The start is in the past."]
    refused_quietly(before)


def test_an_end_before_the_start_is_the_same_words_in_every_door(
    doors: dict[str, Any], broker: Any
) -> None:
    start = soon()
    backwards = {"start": start, "end": start - timedelta(hours=2)}
    offer = Offer.objects.create(reference="OF-PARITY", customer_name="Ana", valid_until=soon(10))
    booking = staff_booking()
    before = counts()

    # The admin's offer line form, where the database constraint's name used to show.
    data = form_post_data(doors["admin"].get(reverse("admin:offers_offerline_add")))
    data.update(
        {
            "offer": str(offer.pk),
            "service_type": "transfer",
            "description": "Airport transfer",
            "start_0": timezone.localtime(backwards["start"]).strftime("%Y-%m-%d"),
            "start_1": timezone.localtime(backwards["start"]).strftime("%H:%M:%S"),
            "end_0": timezone.localtime(backwards["end"]).strftime("%Y-%m-%d"),
            "end_1": timezone.localtime(backwards["end"]).strftime("%H:%M:%S"),
            "quantity": "1",
            "unit_price": "80.00",
            "unit_cost": "50.00",
        }
    )
    response = doors["admin"].post(reverse("admin:offers_offerline_add"), data)
    errors = admin_form_errors(response)
    assert response.context["adminform"].form.errors["end"] == ["The end is before the start."]
    assert not any("Constraint" in e or "line_end_not_before_start" in e for e in errors)
    assert "The end is before the start." in admin_form_errors(
        admin_add_item(doors["admin"], booking, **backwards)
    )

    response = portal_request(
        doors["portal"],
        **{"items-0-start": local(start), "items-0-end": local(backwards["end"])},
    )
    assert "The end is before the start." in portal_errors(response)

    response = doors["staff_api"].post(
        f"{API}/offers/",
        {
            "customer_name": "Ana",
            "valid_until": soon(10).isoformat(),
            "lines": [api_item(**backwards)],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"end": ["Line 1: The end is before the start."]}
    response = doors["broker_api"].post(
        f"{API}/bookings/",
        {"customer_name": "Ana", "items": [api_broker_item(**backwards)]},
        format="json",
    )
    assert response.json()["fields"] == {"end": ["Item 1: The end is before the start."]}
    refused_quietly(before)


# --- quantity and price bounds --------------------------------------------------------


@pytest.mark.parametrize("quantity", [0, 100_000])
def test_a_quantity_out_of_bounds_is_refused_by_every_door(
    doors: dict[str, Any], broker: Any, quantity: int
) -> None:
    booking = staff_booking()
    draft = draft_for(broker)
    item = draft.items.get()
    before = counts()
    message = "The quantity must be between 1 and 10000."

    assert message in admin_form_errors(admin_add_item(doors["admin"], booking, quantity=quantity))
    response = portal_request(doors["portal"], **{"items-0-quantity": str(quantity)})
    assert message in portal_errors(response)
    response = doors["broker_api"].post(
        f"{API}/bookings/",
        {"customer_name": "Ana", "items": [api_broker_item(quantity=quantity)]},
        format="json",
    )
    assert response.status_code == 400 and response.json()["fields"]["quantity"] == [
        f"Item 1: {message}"
    ]
    response = doors["broker_api"].patch(
        f"{API}/booking-items/{item.pk}/", {"quantity": quantity}, format="json"
    )
    assert response.status_code == 400 and response.json()["fields"]["quantity"] == [message]
    refused_quietly(before)


@pytest.mark.parametrize("price", ["-1.00", "1000000.01"])
def test_a_price_out_of_bounds_is_refused_by_every_staff_door(
    doors: dict[str, Any], price: str
) -> None:
    booking = staff_booking()
    before = counts()
    message = "The unit price must be between 0 and 1,000,000.00."
    assert message in admin_form_errors(
        admin_add_item(doors["admin"], booking, unit_price=Decimal(price))
    )
    response = doors["staff_api"].post(
        f"{API}/bookings/{booking.reference}/items/", api_item(unit_price=price), format="json"
    )
    assert response.status_code == 400 and response.json()["fields"]["unit_price"] == [message]
    # The portal has no price field: brokers never price (see the next test).
    refused_quietly(before)


# --- who may set prices ---------------------------------------------------------------


@pytest.mark.parametrize("field", ["unit_price", "unit_cost"])
def test_a_brokers_price_is_refused_in_the_portal_and_the_api(
    doors: dict[str, Any], broker: Any, field: str
) -> None:
    draft = draft_for(broker)
    item = draft.items.get()
    before = counts()
    message = "Prices are ours to fill in"

    response = portal_request(doors["portal"], **{f"items-0-{field}": "1.00"})
    assert message in portal_errors(response)
    response = doors["broker_api"].post(
        f"{API}/bookings/",
        {"customer_name": "Ana", "items": [api_broker_item(**{field: "1.00"})]},
        format="json",
    )
    assert response.status_code == 400 and message in response.json()["fields"][field][0]
    response = doors["broker_api"].post(
        f"{API}/bookings/{draft.reference}/items/",
        api_broker_item(**{field: "1.00"}),
        format="json",
    )
    assert response.status_code == 400 and message in response.json()["fields"][field][0]
    response = doors["broker_api"].patch(
        f"{API}/booking-items/{item.pk}/", {field: "0.01"}, format="json"
    )
    assert response.status_code == 400 and message in response.json()["fields"][field][0]
    item.refresh_from_db()
    assert (item.unit_price, item.unit_cost) == (0, 0)
    # Brokers have no admin: staff price their requests there.
    refused_quietly(before)


# --- items per booking -----------------------------------------------------------------


def test_more_items_than_a_booking_holds_are_refused_by_every_door(
    doors: dict[str, Any], broker: Any
) -> None:
    full = staff_booking()
    BookingItem.objects.bulk_create(
        [BookingItem(booking=full, **item_data()) for _ in range(MAX_ITEMS_PER_BOOKING - 1)]
    )
    before = counts()
    too_many = MAX_ITEMS_PER_BOOKING + 1

    message = f"A booking holds at most {MAX_ITEMS_PER_BOOKING} items"
    assert any(message in e for e in admin_form_errors(admin_add_item(doors["admin"], full)))

    rows: dict[str, Any] = {"items-TOTAL_FORMS": str(too_many)}
    start = soon(40)
    for n in range(too_many):
        rows.update(
            {
                f"items-{n}-service_type": "activity",
                f"items-{n}-description": f"Tour {n}",
                f"items-{n}-start": local(start),
                f"items-{n}-end": local(start + timedelta(hours=2)),
                f"items-{n}-quantity": "1",
            }
        )
    response = portal_request(doors["portal"], **rows)
    assert f"Request at most {MAX_ITEMS_PER_BOOKING} items at once." in portal_errors(response)

    response = doors["broker_api"].post(
        f"{API}/bookings/",
        {"customer_name": "Ana", "items": [api_broker_item() for _ in range(too_many)]},
        format="json",
    )
    assert response.status_code == 400 and message in str(response.json()["fields"]["items"])
    response = doors["staff_api"].post(
        f"{API}/bookings/{full.reference}/items/", api_item(), format="json"
    )
    assert response.status_code == 400 and message in response.json()["fields"]["items"][0]
    refused_quietly(before)


# --- text: refused, never cut; single lines -----------------------------------------


def test_a_5000_character_cancel_reason_is_refused_not_cut_by_every_door(
    doors: dict[str, Any], broker: Any
) -> None:
    reason = "x" * 5000
    booking = staff_booking("pending_approval")
    mine = draft_for(broker)
    before = counts()
    message = "The reason is too long: 5000 characters, at most 2000."

    response = doors["admin"].post(
        transition_url(booking, "cancel"), {"reason": reason, "_transition_apply": "1"}, follow=True
    )
    assert any(message in m for m in messages_of(response))
    response = doors["portal"].post(
        reverse("portal:booking-cancel", args=[mine.reference]), {"reason": reason}
    )
    assert message in portal_errors(response)
    response = doors["staff_api"].post(
        f"{API}/bookings/{booking.reference}/cancel/", {"reason": reason}, format="json"
    )
    assert response.status_code == 400 and response.json()["fields"]["reason"] == [message]
    assert set(Booking.objects.values_list("status", flat=True)) == {"pending_approval", "draft"}
    refused_quietly(before)


@pytest.mark.parametrize("name", ["Ana\r\nBcc: all@example.com", "Ana\x00Lead", "Ana\tLead"])
def test_a_control_character_in_a_name_is_refused_by_every_door(
    doors: dict[str, Any], broker: Any, name: str
) -> None:
    before = counts()
    # Django's form fields refuse a NUL before the service sees it, in their own words.
    expected = ("must be a single line", "control character", "Null characters are not allowed")

    data = form_post_data(doors["admin"].get(reverse("admin:bookings_booking_add")))
    data.update({"customer_name": name, "currency": "EUR", "broker": ""})
    for key in [k for k in data if k.startswith("items-")]:
        data.pop(key)
    data.update(
        {
            "items-TOTAL_FORMS": "0",
            "items-INITIAL_FORMS": "0",
            "items-MIN_NUM_FORMS": "0",
            "items-MAX_NUM_FORMS": "1000",
        }
    )
    errors = admin_form_errors(doors["admin"].post(reverse("admin:bookings_booking_add"), data))
    assert any(any(word in e for word in expected) for e in errors), errors

    html = portal_errors(portal_request(doors["portal"], customer_name=name))
    assert any(word in html for word in expected)

    response = doors["broker_api"].post(
        f"{API}/bookings/", {"customer_name": name, "items": [api_broker_item()]}, format="json"
    )
    assert response.status_code == 400
    assert any(word in response.json()["fields"]["customer_name"][0] for word in expected)
    refused_quietly(before)


def test_a_line_break_in_a_vendors_reference_is_refused_by_every_door(
    doors: dict[str, Any], vendor: Any
) -> None:
    booking = staff_booking("pending_approval")
    item = booking.items.get()
    bs.item_assign_vendor(item=item, vendor=vendor, actor=SYSTEM)
    bs.item_accept(item=item, actor=SYSTEM)
    before = counts()
    reference = "HX-1\r\nX-Injected: 1"
    message = "The reference must be a single line (no line breaks or tabs)."

    response = doors["admin"].post(
        transition_url(item, "confirm"),
        {"vendor_reference": reference, "_transition_apply": "1"},
        follow=True,
    )
    assert any(message in m for m in messages_of(response))
    response = doors["vendor_portal"].post(
        reverse("portal:item-confirm", args=[item.pk]), {"vendor_reference": reference}
    )
    assert message in portal_errors(response)
    response = doors["vendor_api"].post(
        f"{API}/booking-items/{item.pk}/confirm/", {"vendor_reference": reference}, format="json"
    )
    assert response.status_code == 400 and response.json()["fields"]["vendor_reference"] == [
        message
    ]
    item.refresh_from_db()
    assert item.vendor_status == BookingItem.VendorStatus.ACCEPTED
    refused_quietly(before)


# --- a WhatsApp channel needs a phone ---------------------------------------------------


def test_whatsapp_without_a_phone_is_refused_by_every_door(
    doors: dict[str, Any], vendor: Any
) -> None:
    vendor.phone = ""
    vendor.save(update_fields=["phone"])
    before = counts()
    message = "Add a phone number to be told on WhatsApp."

    data = form_post_data(doors["admin"].get(reverse("admin:partners_vendor_add")))
    data.update(
        {
            "name": "Quiet Vendor",
            "email": "q@example.com",
            "phone": "",
            "notify_by": ["whatsapp"],
            "service_types": ["transfer"],
        }
    )
    response = doors["admin"].post(reverse("admin:partners_vendor_add"), data)
    assert message in admin_form_errors(response)

    response = doors["vendor_portal"].post(
        reverse("portal:profile"), {"email": vendor.email, "phone": "", "notify_by": ["whatsapp"]}
    )
    assert message in portal_errors(response)

    response = doors["staff_api"].post(
        f"{API}/vendors/",
        {"name": "Quiet Vendor", "email": "q@example.com", "notify_by": ["whatsapp"]},
        format="json",
    )
    assert response.status_code == 400 and response.json()["fields"]["phone"] == [message]
    response = doors["staff_api"].patch(
        f"{API}/vendors/{vendor.pk}/", {"notify_by": ["whatsapp"]}, format="json"
    )
    assert response.status_code == 400 and response.json()["fields"]["phone"] == [message]
    vendor.refresh_from_db()
    assert vendor.notify_by == ["email"]
    refused_quietly(before)


# --- approval needs prices --------------------------------------------------------------


def test_approving_unpriced_items_is_refused_by_every_staff_door(
    doors: dict[str, Any], broker: Any
) -> None:
    booking = draft_for(broker)
    bs.booking_submit(booking=booking, actor=Actor(broker=broker, via="portal"))
    before = counts()
    message = "Price every item before approving"

    response = doors["admin"].post(transition_url(booking, "approve"), follow=True)
    assert any(message in m for m in messages_of(response))
    response = doors["staff_api"].post(f"{API}/bookings/{booking.reference}/approve/")
    assert response.status_code == 409 and message in response.json()["detail"]
    assert response.json()["code"] == "unpriced_items"
    # The broker's portal has no approve button: only staff approve.
    assert Booking.objects.get(pk=booking.pk).status == "pending_approval"
    refused_quietly(before)


def test_a_zero_price_with_a_reason_may_be_approved(doors: dict[str, Any], broker: Any) -> None:
    booking = draft_for(broker)
    bs.booking_submit(booking=booking, actor=Actor(broker=broker, via="portal"))
    item = booking.items.get()
    response = doors["staff_api"].patch(
        f"{API}/booking-items/{item.pk}/",
        {"unit_price": "0.00", "zero_price_reason": "Complimentary upgrade"},
        format="json",
    )
    assert response.status_code == 200, response.content
    response = doors["staff_api"].post(f"{API}/bookings/{booking.reference}/approve/")
    assert response.status_code == 200 and response.json()["status"] == "approved"


# --- the doors agree on what they accept, too --------------------------------------------


@pytest.mark.parametrize(
    "door",
    [
        lambda d, b: portal_request(d["portal"]),
        lambda d, b: d["broker_api"].post(
            f"{API}/bookings/",
            {"customer_name": "Ana", "items": [api_broker_item()]},
            format="json",
        ),
    ],
    ids=["portal", "api"],
)
def test_a_valid_request_is_stored_unpriced_by_each_broker_door(
    doors: dict[str, Any], broker: Any, door: Callable[..., Any]
) -> None:
    response = door(doors, broker)
    assert response.status_code in (201, 302), response.content[:500]
    item = BookingItem.objects.get()
    assert (item.unit_price, item.unit_cost, item.is_priced) == (0, 0, False)
    assert not Notification.objects.exists()

"""Every back-office page renders with the demo data, for each staff role."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from bookings.models import Booking, BookingItem
from offers.models import Offer, OfferLine
from partners import services as ps
from partners.models import ApiKey, Broker, Invitation, PortalAccount, Vendor
from tests.admin.helpers import SYSTEM, change_url, changelist, transition_url

pytestmark = pytest.mark.usefixtures("demo_data")

MODELS = [Vendor, Broker, PortalAccount, Invitation, ApiKey, Booking, BookingItem, Offer, OfferLine]


@pytest.fixture
def keys_and_invites(db: None) -> None:
    """The demo has no API keys or invitations; staff make them all the time."""
    vendor = PortalAccount.objects.filter(vendor__isnull=False).first().vendor
    broker = Broker.objects.order_by("name").first()
    ps.partner_invite(partner=vendor, actor=SYSTEM)
    ps.partner_invite(partner=broker, actor=SYSTEM, email="someone@example.com")
    ps.api_key_create(actor=SYSTEM, name="Vendor sync", vendor=vendor)
    key, _ = ps.api_key_create(actor=SYSTEM, name="Old broker key", broker=broker)
    ps.api_key_revoke(key=key, actor=SYSTEM)


def _ids(model: Any) -> str:
    return model._meta.model_name


@pytest.mark.parametrize("model", MODELS, ids=_ids)
def test_changelist_renders_every_row_of_the_demo(
    staff_client: Any, keys_and_invites: None, model: Any
) -> None:
    response = staff_client.get(changelist(model))
    assert response.status_code == 200
    total = model.objects.count()
    assert total > 0
    assert response.context["cl"].result_count == total
    assert len(response.context["cl"].result_list) == min(total, 100)


@pytest.mark.parametrize("model", MODELS, ids=_ids)
def test_add_form_renders_or_is_refused_where_rows_come_only_from_services(
    staff_client: Any, model: Any
) -> None:
    response = staff_client.get(reverse(f"admin:{model._meta.app_label}_{_ids(model)}_add"))
    read_only = model in (PortalAccount, Invitation)
    assert response.status_code == (403 if read_only else 200)


def _samples(model: Any) -> list[Any]:
    """One object in each state the model has in the demo."""
    if model is Booking:
        return [Booking.objects.filter(status=s).first() for s in Booking.Status.values]
    if model is Offer:
        return [Offer.objects.filter(status=s).first() for s in Offer.Status.values]
    if model is BookingItem:
        live = [
            BookingItem.objects.filter(vendor_status=s, cancelled_at__isnull=True).first()
            for s in BookingItem.VendorStatus.values
        ]
        return [*live, BookingItem.objects.filter(cancelled_at__isnull=False).first()]
    return list(model.objects.all()[:5])


@pytest.mark.parametrize("model", MODELS, ids=_ids)
def test_change_form_renders_for_an_object_in_each_state(
    staff_client: Any, keys_and_invites: None, model: Any
) -> None:
    samples = [obj for obj in _samples(model) if obj is not None]
    assert samples, f"the demo has no {model._meta.verbose_name}"
    for obj in samples:
        response = staff_client.get(change_url(obj))
        assert response.status_code == 200, obj
        assert response.context["original"].pk == obj.pk


def test_booking_page_shows_items_totals_history_and_notifications(staff_client: Any) -> None:
    booking = Booking.objects.filter(status=Booking.Status.CONFIRMED, broker__isnull=False).first()
    items = list(booking.items.all())
    response = staff_client.get(change_url(booking))
    html = response.content.decode()
    for item in items:
        assert item.description in html
        assert item.vendor_reference in html
        assert item.vendor.name in html
    inline_names = [f.opts.__class__.__name__ for f in response.context["inline_admin_formsets"]]
    assert inline_names == [
        "BookingItemInline",
        "BookingHistoryInline",
        "NotificationInline",
        "PaymentInline",
        "InvoiceInline",
    ]
    history, notifications = response.context["inline_admin_formsets"][1:3]
    history_actions = {form.original.action for form in history}
    # The booking's own entries and its items' entries, on one list.
    assert {"created", "submitted", "approved", "confirmed"} <= history_actions
    assert {"assigned", "accepted"} <= history_actions
    assert {form.original.kind for form in notifications} >= {"booking_approved"}
    assert "Margin after commission" in html
    assert f"Broker commission ({booking.commission_rate}%)" in html


def test_offer_page_links_the_booking_it_became(staff_client: Any) -> None:
    offer = Offer.objects.filter(status=Offer.Status.ACCEPTED).first()
    response = staff_client.get(change_url(offer))
    assert change_url(offer.booking) in response.content.decode()
    assert len(list(response.context["inline_admin_formsets"][0])) == offer.lines.count()


def test_booking_page_links_the_offer_it_came_from(staff_client: Any) -> None:
    offer = Offer.objects.filter(status=Offer.Status.ACCEPTED).first()
    response = staff_client.get(change_url(offer.booking))
    assert change_url(offer) in response.content.decode()


def test_vendor_page_shows_invitations_portal_accounts_history_and_notifications(
    staff_client: Any, keys_and_invites: None
) -> None:
    vendor = PortalAccount.objects.filter(vendor__isnull=False).first().vendor
    response = staff_client.get(change_url(vendor))
    html = response.content.decode()
    assert vendor.invitations.get().email in html
    account = PortalAccount.objects.get(vendor=vendor)
    assert account.user.get_username() in html
    formsets = {f.opts.__class__.__name__: f for f in response.context["inline_admin_formsets"]}
    assert {"created", "invited"} <= {form.original.action for form in formsets["AuditEntryInline"]}
    assert [form.original.kind for form in formsets["NotificationInline"]] == ["partner_invited"]


def test_api_key_pages_never_show_the_hash(staff_client: Any, keys_and_invites: None) -> None:
    key = ApiKey.objects.first()
    for url in (changelist(ApiKey), change_url(key)):
        html = staff_client.get(url).content.decode()
        assert key.prefix in html
        assert key.key_hash not in html


@pytest.mark.parametrize(
    ("model", "name"),
    [
        (Booking, "cancel"),
        (BookingItem, "assign_vendor"),
        (BookingItem, "decline"),
        (BookingItem, "confirm"),
        (BookingItem, "cancel"),
        (Offer, "decline"),
        (Offer, "withdraw"),
        (Vendor, "invite"),
        (Broker, "deactivate"),
        (Offer, "accept"),
    ],
)
def test_intermediate_pages_render(staff_client: Any, model: Any, name: str) -> None:
    obj = model.objects.first()
    response = staff_client.get(transition_url(obj, name))
    assert response.status_code == 200
    assert response.context["transition"].name == name


ROLE_PAGES = {
    "agent": [Booking, BookingItem, Offer, OfferLine, Vendor, Broker],
    "approver": [Booking, BookingItem, Offer, OfferLine, Vendor, Broker],
    "partner_manager": [Vendor, Broker, PortalAccount, Invitation, ApiKey, Booking, Offer],
}


@pytest.mark.parametrize("role", list(ROLE_PAGES))
def test_each_role_sees_its_pages_with_demo_data(
    role: str, request: pytest.FixtureRequest, login: Any, keys_and_invites: None
) -> None:
    client = login(request.getfixturevalue(role))
    for model in ROLE_PAGES[role]:
        assert client.get(changelist(model)).status_code == 200, model
        obj = model.objects.first()
        assert client.get(change_url(obj)).status_code == 200, model


def test_partner_manager_cannot_open_bookings_for_change(partner_manager: Any, login: Any) -> None:
    client = login(partner_manager)
    booking = Booking.objects.filter(status=Booking.Status.DRAFT).first()
    response = client.get(change_url(booking))
    assert response.status_code == 200  # view only
    assert response.context["transition_buttons"] == []
    assert not response.context["has_change_permission"]
    assert client.get(reverse("admin:bookings_booking_add")).status_code == 403


def test_every_filter_choice_of_every_changelist_answers(staff_client: Any) -> None:
    """No filter link on any page leads to an error page."""
    seen = set()
    for model in MODELS:
        response = staff_client.get(changelist(model))
        changelist_obj = response.context["cl"]
        for spec in changelist_obj.filter_specs:
            # "All" is the page already loaded; three choices per filter cover every
            # kind of lookup (the custom filters' results are checked one by one in
            # test_search_filters.py).
            choices = [c for c in spec.choices(changelist_obj) if not c["selected"]][:3]
            for choice in choices:
                url = changelist(model) + choice["query_string"]
                seen.add(url)
                answer = staff_client.get(url)
                assert answer.status_code == 200, url
    assert len(seen) > 60

"""Every booking and item transition, legal and illegal.

An illegal call raises a DomainError, changes nothing and writes no audit entry.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bookings import selectors, services
from bookings.models import Booking, BookingItem
from bookings.selectors import booking_totals
from core.domain import Actor, InvalidTransition, NotPermitted, ValidationFailed
from core.models import AuditEntry
from notifications.models import Notification
from tests import factories

S = Booking.Status
V = BookingItem.VendorStatus
pytestmark = pytest.mark.django_db
SYSTEM = Actor(via="system", label="test")


def item_data(**overrides: Any) -> dict[str, Any]:
    start = timezone.now() + timedelta(days=20)
    data = {
        "service_type": "accommodation",
        "description": "Double room",
        "start": start,
        "end": start + timedelta(days=2),
        "quantity": 2,
        "unit_price": Decimal("150.00"),
        "unit_cost": Decimal("100.00"),
    }
    data.update(overrides)
    return data


def make_booking(
    *,
    status: str | None = None,
    items: int = 1,
    broker: Any = None,
    vendor: Any = None,
    item_status: str = V.UNASSIGNED,
) -> Booking:
    """A booking brought to ``status`` through the services, items at ``item_status``.

    Vendors are asked only once a booking is submitted: a draft's items are at most
    "chosen" (a vendor recorded, still unassigned); a cancelled booking is cancelled
    after submission when its items had to reach a vendor status.
    """
    booking = services.booking_create(
        actor=SYSTEM,
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        broker=broker,
        items=[item_data(description=f"Service {n}") for n in range(items)],
    )
    if status is None:
        # Items with a vendor status need a submitted booking: vendors are asked then.
        status = S.DRAFT if item_status == V.UNASSIGNED else S.PENDING_APPROVAL
    vendor = vendor or factories.VendorFactory()
    if status == S.DRAFT or (status == S.CANCELLED and item_status == V.UNASSIGNED):
        if status == S.CANCELLED:
            services.booking_cancel(booking=booking, actor=SYSTEM, reason="Test")
        return Booking.objects.get(pk=booking.pk)
    services.booking_submit(booking=booking, actor=SYSTEM)
    for item in booking.items.all():
        if item_status != V.UNASSIGNED:
            services.item_assign_vendor(item=item, vendor=vendor, actor=SYSTEM)
        if item_status in (V.ACCEPTED, V.CONFIRMED):
            services.item_accept(item=item, actor=SYSTEM)
        if item_status == V.DECLINED:
            services.item_decline(item=item, actor=SYSTEM, reason="Full")
    if status == S.CANCELLED:
        services.booking_cancel(booking=booking, actor=SYSTEM, reason="Test")
        return Booking.objects.get(pk=booking.pk)
    if status != S.PENDING_APPROVAL:
        services.booking_approve(booking=booking, actor=SYSTEM)
    if item_status == V.CONFIRMED:
        for item in booking.items.all():
            services.item_confirm(item=item, actor=SYSTEM, vendor_reference="R1")
    if status == S.COMPLETED:
        services.booking_complete(booking=booking, actor=SYSTEM)
    return Booking.objects.get(pk=booking.pk)


def audit_count() -> int:
    return AuditEntry.objects.count()


# --- create and update --------------------------------------------------------------


def test_booking_create_makes_a_draft_with_items_and_an_audit_entry(agent_actor: Actor) -> None:
    booking = services.booking_create(
        actor=agent_actor, customer_name="Ada", items=[item_data(), item_data(quantity=1)]
    )
    assert booking.status == S.DRAFT
    assert booking.reference.startswith("BK-") and len(booking.reference) == 9
    assert booking.source == Booking.Source.ADMIN
    assert booking.items.count() == 2
    entry = AuditEntry.objects.filter(action="created", object_id=booking.pk).get()
    assert entry.actor == agent_actor.user and entry.to_status == S.DRAFT
    assert not Notification.objects.exists()


def test_booking_create_snapshots_the_broker_commission(broker: Any) -> None:
    booking = services.booking_create(actor=SYSTEM, customer_name="Ada", broker=broker)
    broker.commission_rate = Decimal("20.00")
    broker.save()
    booking.refresh_from_db()
    assert booking.commission_rate == Decimal("10.00")


def test_broker_creates_bookings_only_for_itself(broker: Any, other_broker: Any) -> None:
    actor = Actor(broker=broker, via="api")
    requested = item_data()
    del requested["unit_price"], requested["unit_cost"]
    booking = services.booking_create(
        actor=actor, customer_name="Ada", broker=other_broker, items=[requested]
    )
    assert booking.broker == broker and booking.source == Booking.Source.API
    item = booking.items.get()
    assert (item.unit_price, item.unit_cost, item.is_priced) == (0, 0, False)


@pytest.mark.parametrize("field", ["unit_price", "unit_cost", "zero_price_reason"])
def test_a_brokers_price_is_refused_never_dropped(broker: Any, field: str) -> None:
    requested = item_data()
    del requested["unit_price"], requested["unit_cost"]
    requested[field] = "Included" if field == "zero_price_reason" else Decimal("1.00")
    with pytest.raises(ValidationFailed) as refused:
        services.booking_create(
            actor=Actor(broker=broker, via="api"), customer_name="Ada", items=[requested]
        )
    assert refused.value.field == field and "Prices are ours" in refused.value.message
    assert not Booking.objects.exists() and not AuditEntry.objects.exists()


def test_vendor_cannot_create_bookings(vendor: Any) -> None:
    with pytest.raises(NotPermitted):
        services.booking_create(actor=Actor(vendor=vendor, via="api"), customer_name="Ada")
    assert not Booking.objects.exists()


def test_booking_create_rejects_bad_fields_and_stores_nothing() -> None:
    with pytest.raises(ValidationError) as excinfo:
        services.booking_create(actor=SYSTEM, customer_name="Ada", currency="XXX")
    assert "currency" in excinfo.value.message_dict
    with pytest.raises(ValidationFailed) as refused:
        services.booking_create(
            actor=SYSTEM,
            customer_name="Ada",
            items=[item_data(end=timezone.now() - timedelta(days=400))],
        )
    assert refused.value.field == "end"
    assert refused.value.message == "Item 1: The end is before the start."
    assert not Booking.objects.exists()
    assert not AuditEntry.objects.exists()


def test_booking_update_changes_only_given_fields_and_audits_them() -> None:
    booking = make_booking()
    services.booking_update(booking=booking, actor=SYSTEM, notes="Late arrival")
    booking.refresh_from_db()
    assert booking.notes == "Late arrival"
    entry = AuditEntry.objects.get(action="updated", object_id=booking.pk)
    assert entry.data["changed"] == {"notes": "Late arrival"}


def test_booking_currency_can_change_only_in_draft() -> None:
    booking = make_booking(status=S.PENDING_APPROVAL)
    before = audit_count()
    with pytest.raises(InvalidTransition):
        services.booking_update(booking=booking, actor=SYSTEM, currency="USD")
    booking.refresh_from_db()
    assert booking.currency == "EUR" and audit_count() == before


def test_booking_update_rejects_unknown_fields() -> None:
    booking = make_booking()
    with pytest.raises(ValidationFailed):
        services.booking_update(booking=booking, actor=SYSTEM, status="approved")


# --- submit / approve / cancel / complete ------------------------------------------


def test_submit_moves_draft_to_pending_and_tells_approvers(approver: Any) -> None:
    booking = make_booking()
    services.booking_submit(booking=booking, actor=SYSTEM)
    booking.refresh_from_db()
    assert booking.status == S.PENDING_APPROVAL and booking.submitted_at
    told = set(
        Notification.objects.filter(kind="booking_submitted").values_list("recipient", flat=True)
    )
    assert told == {"ops@example.com", approver.email}


def test_submit_without_items_is_refused() -> None:
    booking = make_booking(items=0)
    before = audit_count()
    with pytest.raises(InvalidTransition, match="at least one item"):
        services.booking_submit(booking=booking, actor=SYSTEM)
    booking.refresh_from_db()
    assert booking.status == S.DRAFT and audit_count() == before


def test_approve_tells_customer_and_every_asked_vendor(approver_actor: Actor) -> None:
    whatsapp_vendor = factories.VendorFactory(notify_by=["email", "whatsapp"])
    booking = make_booking(
        status=S.PENDING_APPROVAL, items=2, vendor=whatsapp_vendor, item_status=V.PENDING
    )
    services.booking_approve(booking=booking, actor=approver_actor)
    booking.refresh_from_db()
    assert booking.status == S.APPROVED and booking.approved_by == approver_actor.user
    assert (
        Notification.objects.filter(kind="booking_approved", recipient="ada@example.com").count()
        == 1
    )
    vendor_rows = Notification.objects.filter(kind="booking_approved_vendor")
    assert sorted(vendor_rows.values_list("channel", flat=True)) == ["email", "whatsapp"]
    assert vendor_rows.get(channel="whatsapp").recipient == whatsapp_vendor.phone


def test_approve_needs_the_approve_permission(agent_actor: Actor) -> None:
    booking = make_booking(status=S.PENDING_APPROVAL)
    before = audit_count()
    with pytest.raises(NotPermitted):
        services.booking_approve(booking=booking, actor=agent_actor)
    booking.refresh_from_db()
    assert booking.status == S.PENDING_APPROVAL and audit_count() == before


def test_partners_never_approve(broker: Any) -> None:
    booking = make_booking(status=S.PENDING_APPROVAL, broker=broker)
    with pytest.raises(NotPermitted):
        services.booking_approve(booking=booking, actor=Actor(broker=broker, via="api"))


def test_approve_confirms_at_once_when_every_item_is_already_confirmed() -> None:
    booking = make_booking(status=S.PENDING_APPROVAL, items=2, item_status=V.ACCEPTED)
    for item in booking.items.all():
        services.item_confirm(item=item, actor=SYSTEM, vendor_reference="R")
    services.booking_approve(booking=booking, actor=SYSTEM)
    booking.refresh_from_db()
    assert booking.status == S.CONFIRMED
    actions = list(
        AuditEntry.objects.filter(object_id=booking.pk, content_type__model="booking")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["approved", "confirmed"]


def test_booking_confirms_itself_when_the_last_item_is_confirmed() -> None:
    booking = make_booking(status=S.APPROVED, items=2, item_status=V.ACCEPTED)
    first, second = booking.items.all()
    services.item_confirm(item=first, actor=SYSTEM, vendor_reference="A1")
    booking.refresh_from_db()
    assert booking.status == S.APPROVED
    services.item_confirm(item=second, actor=SYSTEM, vendor_reference="A2")
    booking.refresh_from_db()
    assert booking.status == S.CONFIRMED and booking.confirmed_at
    assert Notification.objects.filter(kind="booking_confirmed").count() == 1


def test_cancelling_the_last_unconfirmed_item_confirms_the_booking() -> None:
    booking = make_booking(status=S.APPROVED, items=2, item_status=V.ACCEPTED)
    first, second = booking.items.all()
    services.item_confirm(item=first, actor=SYSTEM, vendor_reference="A1")
    services.item_cancel(item=second, actor=SYSTEM, reason="Not needed")
    booking.refresh_from_db()
    assert booking.status == S.CONFIRMED


@pytest.mark.parametrize("status", [S.DRAFT, S.PENDING_APPROVAL, S.APPROVED, S.CONFIRMED])
def test_cancel_from_every_open_status(status: str) -> None:
    item_status = V.CONFIRMED if status == S.CONFIRMED else V.PENDING
    booking = make_booking(status=status, item_status=item_status)
    services.booking_cancel(booking=booking, actor=SYSTEM, reason="Plans changed")
    booking.refresh_from_db()
    assert booking.status == S.CANCELLED and booking.cancel_reason == "Plans changed"
    entry = AuditEntry.objects.get(action="cancelled", object_id=booking.pk)
    assert (entry.from_status, entry.to_status, entry.data["reason"]) == (
        status,
        S.CANCELLED,
        "Plans changed",
    )
    # A vendor chosen on a draft was never asked, so it hears nothing of the cancellation.
    told_vendors = Notification.objects.filter(kind="booking_cancelled_vendor").count()
    assert told_vendors == (0 if status == S.DRAFT else 1)
    told_customer = Notification.objects.filter(kind="booking_cancelled").exists()
    assert told_customer == (status != S.DRAFT)


def test_cancel_needs_a_reason() -> None:
    booking = make_booking()
    with pytest.raises(ValidationFailed) as excinfo:
        services.booking_cancel(booking=booking, actor=SYSTEM, reason="  ")
    assert excinfo.value.field == "reason"
    booking.refresh_from_db()
    assert booking.status == S.DRAFT


def test_broker_may_cancel_only_before_approval(broker: Any) -> None:
    actor = Actor(broker=broker, via="portal")
    pending = make_booking(status=S.PENDING_APPROVAL, broker=broker)
    services.booking_cancel(booking=pending, actor=actor, reason="No longer needed")
    approved = make_booking(status=S.APPROVED, broker=broker)
    with pytest.raises(NotPermitted):
        services.booking_cancel(booking=approved, actor=actor, reason="Changed mind")
    approved.refresh_from_db()
    assert approved.status == S.APPROVED


def test_broker_cannot_touch_another_brokers_booking(broker: Any, other_broker: Any) -> None:
    booking = make_booking(broker=other_broker)
    actor = Actor(broker=broker, via="api")
    for call in (
        lambda: services.booking_submit(booking=booking, actor=actor),
        lambda: services.booking_update(booking=booking, actor=actor, notes="x"),
        lambda: services.booking_cancel(booking=booking, actor=actor, reason="x"),
        lambda: services.item_add(booking=booking, actor=actor, **item_data()),
    ):
        with pytest.raises(NotPermitted):
            call()
    booking.refresh_from_db()
    assert booking.status == S.DRAFT and booking.notes == "" and booking.items.count() == 1


def test_complete_only_from_confirmed() -> None:
    confirmed = make_booking(status=S.APPROVED, item_status=V.CONFIRMED)
    assert confirmed.status == S.CONFIRMED
    services.booking_complete(booking=confirmed, actor=SYSTEM)
    confirmed.refresh_from_db()
    assert confirmed.status == S.COMPLETED and confirmed.completed_at


ILLEGAL_BOOKING_CALLS = [
    ("submit", S.PENDING_APPROVAL, lambda b: services.booking_submit(booking=b, actor=SYSTEM)),
    ("submit", S.APPROVED, lambda b: services.booking_submit(booking=b, actor=SYSTEM)),
    ("approve", S.DRAFT, lambda b: services.booking_approve(booking=b, actor=SYSTEM)),
    ("approve", S.APPROVED, lambda b: services.booking_approve(booking=b, actor=SYSTEM)),
    ("approve", S.CANCELLED, lambda b: services.booking_approve(booking=b, actor=SYSTEM)),
    ("cancel", S.CANCELLED, lambda b: services.booking_cancel(booking=b, actor=SYSTEM, reason="x")),
    ("cancel", S.COMPLETED, lambda b: services.booking_cancel(booking=b, actor=SYSTEM, reason="x")),
    ("complete", S.APPROVED, lambda b: services.booking_complete(booking=b, actor=SYSTEM)),
    ("complete", S.DRAFT, lambda b: services.booking_complete(booking=b, actor=SYSTEM)),
    ("update", S.CANCELLED, lambda b: services.booking_update(booking=b, actor=SYSTEM, notes="x")),
    ("add item", S.CONFIRMED, lambda b: services.item_add(booking=b, actor=SYSTEM, **item_data())),
    ("add item", S.COMPLETED, lambda b: services.item_add(booking=b, actor=SYSTEM, **item_data())),
]


@pytest.mark.parametrize(
    ("name", "status", "call"),
    ILLEGAL_BOOKING_CALLS,
    ids=[f"{n}-from-{s}" for n, s, _ in ILLEGAL_BOOKING_CALLS],
)
def test_illegal_booking_transition_changes_nothing(name: str, status: str, call: Any) -> None:
    item_status = V.CONFIRMED if status in (S.CONFIRMED, S.COMPLETED) else V.UNASSIGNED
    if status == S.APPROVED:
        item_status = V.PENDING
    booking = make_booking(status=status, item_status=item_status)
    before = (audit_count(), Notification.objects.count(), booking.items.count())
    with pytest.raises(InvalidTransition):
        call(booking)
    after_booking = Booking.objects.get(pk=booking.pk)
    assert after_booking.status == status and after_booking.notes == ""
    assert (audit_count(), Notification.objects.count(), booking.items.count()) == before


# --- items --------------------------------------------------------------------------


def test_assign_vendor_asks_it_on_every_channel_it_chose() -> None:
    vendor = factories.VendorFactory(notify_by=["email", "whatsapp"])
    booking = make_booking(status=S.PENDING_APPROVAL)
    item = booking.items.get()
    services.item_assign_vendor(item=item, vendor=vendor, actor=SYSTEM)
    item.refresh_from_db()
    assert item.vendor == vendor and item.vendor_status == V.PENDING and item.assigned_at
    rows = Notification.objects.filter(kind="item_assigned")
    assert {(r.channel, r.recipient) for r in rows} == {
        ("email", vendor.email),
        ("whatsapp", vendor.phone),
    }
    email = rows.get(channel="email")
    assert booking.reference in email.subject and booking.reference in email.body_text
    assert "UTC" in email.body_text  # times carry their timezone
    assert email.body_text.count("http://testserver/portal/items/") == 1
    assert rows.get(channel="whatsapp").whatsapp_params[0] == booking.reference


def test_reassign_withdraws_the_item_from_the_previous_vendor(
    vendor: Any, other_vendor: Any
) -> None:
    booking = make_booking(vendor=vendor, item_status=V.ACCEPTED)
    item = booking.items.get()
    services.item_assign_vendor(item=item, vendor=other_vendor, actor=SYSTEM)
    item.refresh_from_db()
    assert item.vendor == other_vendor and item.vendor_status == V.PENDING
    withdrawn = Notification.objects.get(kind="item_withdrawn")
    assert withdrawn.recipient == vendor.email
    assert (
        Notification.objects.filter(kind="item_assigned", recipient=other_vendor.email).count() == 1
    )
    assert AuditEntry.objects.filter(action="reassigned", object_id=item.pk).count() == 1


def test_assigning_the_same_vendor_again_is_refused(vendor: Any) -> None:
    item = make_booking(vendor=vendor, item_status=V.PENDING).items.get()
    with pytest.raises(InvalidTransition, match="already with"):
        services.item_assign_vendor(item=item, vendor=vendor, actor=SYSTEM)


def test_inactive_vendor_cannot_be_assigned() -> None:
    vendor = factories.VendorFactory(is_active=False)
    item = make_booking().items.get()
    with pytest.raises(ValidationFailed):
        services.item_assign_vendor(item=item, vendor=vendor, actor=SYSTEM)
    item.refresh_from_db()
    assert item.vendor is None and item.vendor_status == V.UNASSIGNED


def test_vendor_accepts_declines_and_confirms_its_own_items(vendor: Any, agent: Any) -> None:
    actor = Actor(vendor=vendor, via="portal")
    booking = make_booking(items=2, vendor=vendor, item_status=V.PENDING)
    first, second = booking.items.all()
    services.item_accept(item=first, actor=actor)
    services.item_confirm(item=first, actor=actor, vendor_reference=" HX-77 ")
    services.item_decline(item=second, actor=actor, reason="Fully booked")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.vendor_status, first.vendor_reference) == (V.CONFIRMED, "HX-77")
    assert (second.vendor_status, second.decline_reason) == (V.DECLINED, "Fully booked")
    staff_kinds = set(
        Notification.objects.filter(recipient="ops@example.com").values_list("kind", flat=True)
    )
    assert {"item_accepted", "item_vendor_confirmed", "item_declined"} <= staff_kinds
    assert (
        Notification.objects.filter(kind="item_confirmed", recipient="ada@example.com").count() == 1
    )


def test_vendor_cannot_answer_for_another_vendor(vendor: Any, other_vendor: Any) -> None:
    item = make_booking(vendor=vendor, item_status=V.PENDING).items.get()
    intruder = Actor(vendor=other_vendor, via="api")
    before = audit_count()
    for call in (
        lambda: services.item_accept(item=item, actor=intruder),
        lambda: services.item_decline(item=item, actor=intruder, reason="no"),
    ):
        with pytest.raises(NotPermitted):
            call()
    item.refresh_from_db()
    assert item.vendor_status == V.PENDING and audit_count() == before


def test_brokers_cannot_answer_for_vendors(broker: Any) -> None:
    item = make_booking(broker=broker, item_status=V.PENDING).items.get()
    with pytest.raises(NotPermitted):
        services.item_accept(item=item, actor=Actor(broker=broker, via="api"))


def test_staff_can_answer_on_a_vendors_behalf(agent_actor: Actor) -> None:
    item = make_booking(item_status=V.PENDING).items.get()
    services.item_accept(item=item, actor=agent_actor)
    item.refresh_from_db()
    assert item.vendor_status == V.ACCEPTED
    entry = AuditEntry.objects.get(action="accepted", object_id=item.pk)
    assert entry.actor == agent_actor.user and "admin" in entry.actor_label


def test_decline_needs_a_reason_and_confirm_a_reference() -> None:
    item = make_booking(item_status=V.PENDING).items.get()
    with pytest.raises(ValidationFailed):
        services.item_decline(item=item, actor=SYSTEM, reason="")
    services.item_accept(item=item, actor=SYSTEM)
    with pytest.raises(ValidationFailed):
        services.item_confirm(item=item, actor=SYSTEM, vendor_reference=" ")
    item.refresh_from_db()
    assert item.vendor_status == V.ACCEPTED


def test_declined_item_can_go_to_another_vendor(other_vendor: Any) -> None:
    item = make_booking(item_status=V.DECLINED).items.get()
    services.item_assign_vendor(item=item, vendor=other_vendor, actor=SYSTEM)
    item.refresh_from_db()
    assert item.vendor == other_vendor and item.vendor_status == V.PENDING
    assert item.decline_reason == ""
    # Nobody is "withdrawn" from: the first vendor had already declined.
    assert not Notification.objects.filter(kind="item_withdrawn").exists()


ILLEGAL_ITEM_CALLS = [
    ("accept", V.UNASSIGNED, lambda i: services.item_accept(item=i, actor=SYSTEM)),
    ("accept", V.ACCEPTED, lambda i: services.item_accept(item=i, actor=SYSTEM)),
    ("accept", V.DECLINED, lambda i: services.item_accept(item=i, actor=SYSTEM)),
    ("decline", V.ACCEPTED, lambda i: services.item_decline(item=i, actor=SYSTEM, reason="x")),
    ("decline", V.UNASSIGNED, lambda i: services.item_decline(item=i, actor=SYSTEM, reason="x")),
    (
        "confirm",
        V.PENDING,
        lambda i: services.item_confirm(item=i, actor=SYSTEM, vendor_reference="x"),
    ),
    (
        "confirm",
        V.DECLINED,
        lambda i: services.item_confirm(item=i, actor=SYSTEM, vendor_reference="x"),
    ),
    ("remove", V.PENDING, lambda i: services.item_remove(item=i, actor=SYSTEM)),
    ("remove", V.ACCEPTED, lambda i: services.item_remove(item=i, actor=SYSTEM)),
]


@pytest.mark.parametrize(
    ("name", "item_status", "call"),
    ILLEGAL_ITEM_CALLS,
    ids=[f"{n}-from-{s}" for n, s, _ in ILLEGAL_ITEM_CALLS],
)
def test_illegal_item_transition_changes_nothing(name: str, item_status: str, call: Any) -> None:
    item = make_booking(item_status=item_status).items.get()
    before = (audit_count(), Notification.objects.count())
    with pytest.raises(InvalidTransition):
        call(item)
    after = BookingItem.objects.get(pk=item.pk)
    assert after.vendor_status == item_status
    assert (audit_count(), Notification.objects.count()) == before


def test_confirmed_item_cannot_be_reassigned(other_vendor: Any) -> None:
    booking = make_booking(status=S.APPROVED, items=2, item_status=V.ACCEPTED)
    item = booking.items.first()
    services.item_confirm(item=item, actor=SYSTEM, vendor_reference="R")
    with pytest.raises(InvalidTransition):
        services.item_assign_vendor(item=item, vendor=other_vendor, actor=SYSTEM)


def test_changing_what_an_accepted_item_is_asks_the_vendor_again(vendor: Any) -> None:
    item = make_booking(vendor=vendor, item_status=V.ACCEPTED).items.get()
    services.item_update(item=item, actor=SYSTEM, start=item.start + timedelta(hours=2))
    item.refresh_from_db()
    assert item.vendor_status == V.PENDING
    assert Notification.objects.filter(kind="item_assigned", recipient=vendor.email).count() == 2


def test_changing_only_the_sell_price_does_not_bother_the_vendor(vendor: Any) -> None:
    item = make_booking(vendor=vendor, item_status=V.ACCEPTED).items.get()
    services.item_update(item=item, actor=SYSTEM, unit_price=Decimal("175.00"))
    item.refresh_from_db()
    assert item.vendor_status == V.ACCEPTED and item.unit_price == Decimal("175.00")
    assert Notification.objects.filter(kind="item_assigned").count() == 1


def test_remove_deletes_an_untold_item_and_cancel_withdraws_a_told_one(vendor: Any) -> None:
    booking = make_booking(status=S.PENDING_APPROVAL, items=2)
    first, second = booking.items.all()
    services.item_remove(item=first, actor=SYSTEM)
    assert not BookingItem.objects.filter(pk=first.pk).exists()
    assert AuditEntry.objects.filter(action="item_removed", object_id=booking.pk).count() == 1
    services.item_assign_vendor(item=second, vendor=vendor, actor=SYSTEM)
    services.item_cancel(item=second, actor=SYSTEM, reason="Guest cancelled the tour")
    second.refresh_from_db()
    assert second.cancelled_at is not None and not second.is_live
    assert Notification.objects.filter(kind="item_withdrawn", recipient=vendor.email).count() == 1
    with pytest.raises(InvalidTransition):
        services.item_cancel(item=second, actor=SYSTEM)


def test_item_add_with_a_vendor_assigns_it(vendor: Any) -> None:
    booking = make_booking(status=S.PENDING_APPROVAL)
    item = services.item_add(booking=booking, actor=SYSTEM, vendor=vendor, **item_data())
    item.refresh_from_db()
    assert item.vendor_status == V.PENDING
    assert Notification.objects.filter(kind="item_assigned").count() == 1


def test_a_vendor_chosen_on_a_draft_is_asked_only_when_it_is_submitted() -> None:
    vendor = factories.VendorFactory(notify_by=["email", "whatsapp"])
    booking = make_booking(items=2)
    first, second = booking.items.all()
    services.item_assign_vendor(item=first, vendor=vendor, actor=SYSTEM)
    services.item_add(booking=booking, actor=SYSTEM, vendor=vendor, **item_data())
    first.refresh_from_db()
    assert first.vendor == vendor and first.vendor_status == V.UNASSIGNED
    assert not Notification.objects.filter(kind="item_assigned").exists()
    # Not the vendor's to see yet, in the portal or the API.
    assert not selectors.items_for_vendor(vendor=vendor).exists()
    services.booking_submit(booking=booking, actor=SYSTEM)
    asked = BookingItem.objects.filter(vendor=vendor, vendor_status=V.PENDING)
    assert asked.count() == 2 and second not in asked
    rows = Notification.objects.filter(kind="item_assigned")
    assert sorted(rows.values_list("channel", flat=True)) == [
        "email",
        "email",
        "whatsapp",
        "whatsapp",
    ]
    assert selectors.items_for_vendor(vendor=vendor).count() == 2


def test_ten_edits_of_a_draft_item_with_a_chosen_vendor_send_nothing(vendor: Any) -> None:
    booking = make_booking()
    item = booking.items.get()
    services.item_assign_vendor(item=item, vendor=vendor, actor=SYSTEM)
    start = item.start
    for n in range(10):
        services.item_update(item=item, actor=SYSTEM, description=f"Room {n}", start=start)
    assert not Notification.objects.exists()
    services.booking_submit(booking=booking, actor=SYSTEM)
    assert Notification.objects.filter(kind="item_assigned").count() == 1


def test_an_asked_vendor_hears_once_per_change_of_what_it_delivers(vendor: Any) -> None:
    vendor.notify_by = ["email", "whatsapp"]
    vendor.save()
    item = make_booking(vendor=vendor, item_status=V.ACCEPTED).items.get()
    Notification.objects.all().delete()
    services.item_update(item=item, actor=SYSTEM, quantity=3)
    services.item_update(item=item, actor=SYSTEM, quantity=3)  # the same again: nothing
    services.item_update(item=item, actor=SYSTEM, unit_price=Decimal("9.00"))  # not theirs
    rows = Notification.objects.filter(kind="item_assigned")
    assert sorted(rows.values_list("channel", flat=True)) == ["email", "whatsapp"]


# --- totals -------------------------------------------------------------------------


def test_totals_sum_live_items_only() -> None:
    broker = factories.BrokerFactory(commission_rate=Decimal("12.50"))
    booking = services.booking_create(
        actor=SYSTEM,
        customer_name="Ada",
        broker=broker,
        items=[
            item_data(quantity=2, unit_price=Decimal("100.10"), unit_cost=Decimal("60.00")),
            item_data(quantity=3, unit_price=Decimal("33.33"), unit_cost=Decimal("20.00")),
            item_data(quantity=1, unit_price=Decimal("500.00"), unit_cost=Decimal("400.00")),
        ],
    )
    services.item_cancel(item=booking.items.get(unit_price=Decimal("500.00")), actor=SYSTEM)
    totals = booking_totals(booking=Booking.objects.get(pk=booking.pk))
    assert totals.sell == Decimal("300.19")
    assert totals.cost == Decimal("180.00")
    assert totals.margin == Decimal("120.19")
    assert totals.commission == Decimal("37.52")  # 12.5 % of 300.19, rounded half up
    annotated = booking_totals(booking=Booking.objects.with_totals().get(pk=booking.pk))
    prefetched = booking_totals(
        booking=Booking.objects.prefetch_related("items").get(pk=booking.pk)
    )
    assert annotated == totals == prefetched


def test_totals_of_a_booking_without_items_are_zero() -> None:
    booking = make_booking(items=0)
    totals = booking_totals(booking=booking)
    assert (totals.sell, totals.cost, totals.commission) == (0, 0, 0)


# --- notifications are recorded in the transaction ----------------------------------


def test_a_rolled_back_transition_records_no_notification(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.db import transaction

    booking = make_booking(status=S.PENDING_APPROVAL)
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.booking_approve(booking=booking, actor=SYSTEM)
        raise RuntimeError("something later in the request failed")
    booking.refresh_from_db()
    assert booking.status == S.PENDING_APPROVAL
    assert not Notification.objects.filter(kind__startswith="booking_approved").exists()
    assert not AuditEntry.objects.filter(action="approved").exists()
    assert callbacks == []

"""Offer transitions, the offer -> booking conversion and the expiry sweep."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.http import Http404
from django.utils import timezone

from bookings.models import Booking, BookingItem
from core.domain import Actor, InvalidTransition, NotPermitted, ValidationFailed
from core.models import AuditEntry
from notifications.models import Notification
from offers import services
from offers.models import Offer
from offers.selectors import offer_get_for_broker, offers_for_broker

pytestmark = pytest.mark.django_db
S = Offer.Status
SYSTEM = Actor(via="system", label="test")


def line(**overrides: Any) -> dict[str, Any]:
    start = timezone.now() + timedelta(days=40)
    data = {
        "service_type": "activity",
        "description": "Sintra day tour",
        "start": start,
        "end": start + timedelta(hours=6),
        "quantity": 4,
        "unit_price": Decimal("65.00"),
        "unit_cost": Decimal("40.00"),
    }
    data.update(overrides)
    return data


def make_offer(*, status: str = S.DRAFT, broker: Any = None, lines: int = 1, **kw: Any) -> Offer:
    offer = services.offer_create(
        actor=SYSTEM,
        broker=broker,
        customer_name="" if broker else "Grace Hopper",
        customer_email="" if broker else "grace@example.com",
        valid_until=timezone.now() + timedelta(days=7),
        lines=[line(**kw) for _ in range(lines)],
    )
    if status != S.DRAFT:
        services.offer_send(offer=offer, actor=SYSTEM)
    if status == S.ACCEPTED:
        services.offer_accept(offer=offer, actor=SYSTEM)
    elif status == S.DECLINED:
        services.offer_decline(offer=offer, actor=SYSTEM)
    elif status == S.WITHDRAWN:
        services.offer_withdraw(offer=offer, actor=SYSTEM)
    elif status == S.EXPIRED:
        Offer.objects.filter(pk=offer.pk).update(valid_until=timezone.now() - timedelta(minutes=1))
        services.offer_expire(offer=offer, actor=SYSTEM)
    return Offer.objects.get(pk=offer.pk)


def test_offer_create_needs_a_broker_or_a_customer(agent_actor: Actor) -> None:
    with pytest.raises(ValidationFailed):
        services.offer_create(actor=agent_actor, valid_until=timezone.now() + timedelta(days=1))
    offer = services.offer_create(
        actor=agent_actor,
        customer_name="Grace",
        valid_until=timezone.now() + timedelta(days=1),
        lines=[line()],
    )
    assert offer.status == S.DRAFT and offer.reference.startswith("OF-")
    assert offer.lines.count() == 1


def test_partners_cannot_create_offers(broker: Any) -> None:
    with pytest.raises(NotPermitted):
        services.offer_create(
            actor=Actor(broker=broker, via="api"),
            customer_name="x",
            valid_until=timezone.now() + timedelta(days=1),
        )


def test_send_tells_the_broker_with_lines_and_prices(broker: Any) -> None:
    offer = make_offer(broker=broker)
    services.offer_send(offer=offer, actor=SYSTEM)
    offer.refresh_from_db()
    assert offer.status == S.SENT and offer.sent_at
    note = Notification.objects.get(kind="offer_sent")
    assert note.recipient == broker.email
    assert offer.reference in note.subject and "Sintra day tour" in note.body_text
    assert "EUR 260.00" in note.body_text
    assert f"/portal/offers/{offer.reference}/" in note.body_text


def test_send_refuses_an_offer_without_lines_or_past_its_validity() -> None:
    empty = make_offer(lines=0)
    with pytest.raises(InvalidTransition, match="at least one line"):
        services.offer_send(offer=empty, actor=SYSTEM)
    stale = make_offer()
    Offer.objects.filter(pk=stale.pk).update(valid_until=timezone.now() - timedelta(hours=1))
    with pytest.raises(InvalidTransition, match="validity"):
        services.offer_send(offer=stale, actor=SYSTEM)
    assert Offer.objects.filter(status=S.DRAFT).count() == 2


def test_accept_creates_the_booking_with_one_item_per_line(broker: Any, vendor: Any) -> None:
    offer = make_offer(status=S.SENT, broker=broker, lines=2)
    first_line = offer.lines.first()
    first_line.proposed_vendor = vendor
    first_line.save()
    offer = services.offer_accept(
        offer=offer,
        actor=Actor(broker=broker, via="portal"),
        lead_name="Jon Berg",
        lead_phone="+4791234567",
    )
    assert offer.status == S.ACCEPTED
    booking = Booking.objects.get(pk=offer.booking_id)
    assert (booking.customer_name, booking.customer_phone) == ("Jon Berg", "+4791234567")
    assert booking.status == Booking.Status.PENDING_APPROVAL
    assert booking.source == Booking.Source.OFFER and booking.broker == broker
    assert booking.commission_rate == broker.commission_rate
    items = list(booking.items.order_by("id"))
    assert len(items) == 2
    assert [(i.description, i.quantity, i.unit_price, i.unit_cost) for i in items] == [
        (ln.description, ln.quantity, ln.unit_price, ln.unit_cost)
        for ln in offer.lines.order_by("id")
    ]
    assert items[0].vendor == vendor and items[0].vendor_status == BookingItem.VendorStatus.PENDING
    assert items[1].vendor is None
    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert {"offer_accepted", "booking_submitted", "item_assigned"} <= kinds
    assert (
        AuditEntry.objects.filter(action="accepted", object_id=offer.pk).get().data["booking"]
        == booking.reference
    )


def test_accept_is_all_or_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    offer = make_offer(status=S.SENT)

    def broken_submit(**kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(services.booking_services, "booking_submit", broken_submit)
    with pytest.raises(RuntimeError):
        services.offer_accept(offer=offer, actor=SYSTEM)
    offer.refresh_from_db()
    assert offer.status == S.SENT and offer.booking_id is None
    assert not Booking.objects.exists() and not BookingItem.objects.exists()


def test_accepting_an_expired_offer_is_refused() -> None:
    offer = make_offer(status=S.SENT)
    Offer.objects.filter(pk=offer.pk).update(valid_until=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvalidTransition) as excinfo:
        services.offer_accept(offer=offer, actor=SYSTEM)
    assert excinfo.value.code == "offer_expired"
    assert not Booking.objects.exists()


def test_broker_cannot_accept_another_brokers_offer(broker: Any, other_broker: Any) -> None:
    offer = make_offer(status=S.SENT, broker=other_broker)
    with pytest.raises(NotPermitted):
        services.offer_accept(offer=offer, actor=Actor(broker=broker, via="api"))
    with pytest.raises(NotPermitted):
        services.offer_decline(offer=offer, actor=Actor(broker=broker, via="api"))
    offer.refresh_from_db()
    assert offer.status == S.SENT


def test_decline_tells_staff(broker: Any) -> None:
    offer = make_offer(status=S.SENT, broker=broker)
    services.offer_decline(offer=offer, actor=Actor(broker=broker, via="portal"), reason="Too dear")
    offer.refresh_from_db()
    assert offer.status == S.DECLINED and offer.decline_reason == "Too dear"
    note = Notification.objects.get(kind="offer_declined")
    assert note.recipient == "ops@example.com" and "Too dear" in note.body_text


def test_withdraw_a_sent_offer_tells_the_customer_but_a_draft_tells_nobody() -> None:
    draft = make_offer()
    services.offer_withdraw(offer=draft, actor=SYSTEM)
    assert not Notification.objects.filter(kind="offer_withdrawn").exists()
    sent = make_offer(status=S.SENT)
    services.offer_withdraw(offer=sent, actor=SYSTEM)
    assert Notification.objects.get(kind="offer_withdrawn").recipient == "grace@example.com"
    assert Offer.objects.filter(status=S.WITHDRAWN).count() == 2


def test_expiry_sweep_expires_only_sent_offers_past_their_validity() -> None:
    due = make_offer(status=S.SENT)
    fresh = make_offer(status=S.SENT)
    draft = make_offer()
    Offer.objects.filter(pk__in=[due.pk, draft.pk]).update(
        valid_until=timezone.now() - timedelta(minutes=5)
    )
    assert services.offers_expire_due() == 1
    assert services.offers_expire_due() == 0
    statuses = dict(Offer.objects.values_list("pk", "status"))
    assert statuses == {due.pk: S.EXPIRED, fresh.pk: S.SENT, draft.pk: S.DRAFT}
    assert Notification.objects.get(kind="offer_expired").recipient == "grace@example.com"


def test_expire_before_validity_ends_is_refused() -> None:
    offer = make_offer(status=S.SENT)
    with pytest.raises(InvalidTransition):
        services.offer_expire(offer=offer, actor=SYSTEM)


ILLEGAL = [
    ("send", S.SENT, lambda o: services.offer_send(offer=o, actor=SYSTEM)),
    ("send", S.ACCEPTED, lambda o: services.offer_send(offer=o, actor=SYSTEM)),
    ("accept", S.DRAFT, lambda o: services.offer_accept(offer=o, actor=SYSTEM)),
    ("accept", S.DECLINED, lambda o: services.offer_accept(offer=o, actor=SYSTEM)),
    ("accept", S.ACCEPTED, lambda o: services.offer_accept(offer=o, actor=SYSTEM)),
    ("decline", S.DRAFT, lambda o: services.offer_decline(offer=o, actor=SYSTEM)),
    ("decline", S.EXPIRED, lambda o: services.offer_decline(offer=o, actor=SYSTEM)),
    ("withdraw", S.ACCEPTED, lambda o: services.offer_withdraw(offer=o, actor=SYSTEM)),
    ("withdraw", S.WITHDRAWN, lambda o: services.offer_withdraw(offer=o, actor=SYSTEM)),
    ("update", S.SENT, lambda o: services.offer_update(offer=o, actor=SYSTEM, notes="x")),
    ("add line", S.SENT, lambda o: services.offer_line_add(offer=o, actor=SYSTEM, **line())),
    (
        "remove line",
        S.SENT,
        lambda o: services.offer_line_remove(line=o.lines.first(), actor=SYSTEM),
    ),
]


@pytest.mark.parametrize(
    ("name", "status", "call"), ILLEGAL, ids=[f"{n}-from-{s}" for n, s, _ in ILLEGAL]
)
def test_illegal_offer_transition_changes_nothing(name: str, status: str, call: Any) -> None:
    offer = make_offer(status=status)
    before = (
        AuditEntry.objects.count(),
        Notification.objects.count(),
        Booking.objects.count(),
        offer.lines.count(),
    )
    with pytest.raises(InvalidTransition):
        call(offer)
    assert Offer.objects.get(pk=offer.pk).status == status
    after = (
        AuditEntry.objects.count(),
        Notification.objects.count(),
        Booking.objects.count(),
        offer.lines.count(),
    )
    assert after == before


def test_lines_change_only_while_draft() -> None:
    offer = make_offer(lines=2)
    first, second = offer.lines.all()
    services.offer_line_update(line=first, actor=SYSTEM, quantity=6)
    services.offer_line_remove(line=second, actor=SYSTEM)
    services.offer_line_add(offer=offer, actor=SYSTEM, **line(description="Fado dinner"))
    assert sorted(offer.lines.values_list("description", "quantity")) == [
        ("Fado dinner", 4),
        ("Sintra day tour", 6),
    ]


def test_broker_sees_its_sent_offers_but_never_drafts_or_others(
    broker: Any, other_broker: Any
) -> None:
    sent = make_offer(status=S.SENT, broker=broker)
    draft = make_offer(broker=broker)
    theirs = make_offer(status=S.SENT, broker=other_broker)
    assert list(offers_for_broker(broker=broker)) == [sent]
    assert offer_get_for_broker(broker=broker, reference=sent.reference) == sent
    for hidden in (draft, theirs):
        with pytest.raises(Http404):
            offer_get_for_broker(broker=broker, reference=hidden.reference)

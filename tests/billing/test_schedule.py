"""Payment terms and schedules: computed around due dates, recomputed when items change."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from billing import services
from billing.models import Instalment
from billing.terms import Terms, schedule_for, terms_for
from bookings import services as booking_services
from tests import factories
from tests.billing.conftest import make_booking

TERMS = Terms(deposit_percent=Decimal("30"), deposit_due_days=7, balance_due_days=30)
APPROVED = date(2027, 5, 1)


def test_far_service_gets_a_deposit_and_a_balance() -> None:
    dues = schedule_for(
        total=Decimal("1000.00"), terms=TERMS, approved_on=APPROVED, first_service=date(2027, 8, 1)
    )
    assert [(d.kind, d.amount, d.due_date) for d in dues] == [
        ("deposit", Decimal("300.00"), date(2027, 5, 8)),
        ("balance", Decimal("700.00"), date(2027, 7, 2)),
    ]


def test_balance_falling_due_on_the_deposit_day_makes_one_instalment() -> None:
    # 37 days ahead: the balance (30 days before) would be due on the deposit's day.
    first = APPROVED + timedelta(days=37)
    dues = schedule_for(
        total=Decimal("1000.00"), terms=TERMS, approved_on=APPROVED, first_service=first
    )
    assert [(d.kind, d.amount, d.due_date) for d in dues] == [
        ("full", Decimal("1000.00"), date(2027, 5, 8))
    ]


def test_one_day_further_splits_again() -> None:
    first = APPROVED + timedelta(days=38)
    dues = schedule_for(
        total=Decimal("1000.00"), terms=TERMS, approved_on=APPROVED, first_service=first
    )
    assert [d.kind for d in dues] == ["deposit", "balance"]
    assert dues[1].due_date == date(2027, 5, 9)


def test_a_service_within_the_balance_period_is_due_at_once() -> None:
    dues = schedule_for(
        total=Decimal("99.99"),
        terms=TERMS,
        approved_on=APPROVED,
        first_service=APPROVED + timedelta(days=3),
    )
    assert [(d.kind, d.amount, d.due_date) for d in dues] == [("full", Decimal("99.99"), APPROVED)]


def test_deposit_rounds_half_up_and_the_parts_add_up() -> None:
    dues = schedule_for(
        total=Decimal("100.05"),
        terms=Terms(Decimal("33.33"), 7, 30),
        approved_on=APPROVED,
        first_service=date(2027, 9, 1),
    )
    assert dues[0].amount == Decimal("33.35")  # 33.3466... -> 33.35
    assert sum(d.amount for d in dues) == Decimal("100.05")


def test_nothing_is_due_on_a_zero_total() -> None:
    assert (
        schedule_for(total=Decimal("0"), terms=TERMS, approved_on=APPROVED, first_service=APPROVED)
        == []
    )


def test_broker_terms_override_the_site_defaults_field_by_field(db: None) -> None:
    broker = factories.BrokerFactory(deposit_percent=Decimal("50"), balance_due_days=10)
    terms = terms_for(broker)
    assert terms == Terms(Decimal("50"), 7, 10)
    assert terms_for(None) == Terms(Decimal("30.0"), 7, 30)


def test_approval_gives_the_booking_its_schedule(staff: Any, broker: Any) -> None:
    broker.deposit_percent = Decimal("25")
    broker.save()
    booking = make_booking(staff, broker=broker, days_ahead=90)
    rows = list(booking.instalments.order_by("due_date"))
    assert [(i.kind, i.amount) for i in rows] == [
        ("deposit", Decimal("95.00")),
        ("balance", Decimal("285.00")),
    ]
    today = timezone.localdate()
    assert rows[0].due_date == today + timedelta(days=7)
    assert [i.state for i in rows] == ["due", "due"]


def test_a_draft_has_no_schedule(staff: Any) -> None:
    booking = make_booking(staff, approve=False)
    assert not booking.instalments.exists()


def test_states_paid_due_and_overdue(staff: Any) -> None:
    booking = make_booking(staff, days_ahead=90)
    deposit, balance = booking.instalments.order_by("due_date")
    services.payment_record(
        booking=booking, actor=staff, amount=deposit.amount, currency="EUR", method="bank_transfer"
    )
    deposit.refresh_from_db()
    assert deposit.state == "paid"
    later = balance.due_date + timedelta(days=1)
    money = services.booking_money(booking=booking, today=later)
    assert [row.state for row in money.schedule] == ["paid", "overdue"]
    assert money.overdue == balance.amount
    assert money.due == balance.amount
    assert services.booking_money(booking=booking, today=balance.due_date).overdue == 0


def test_a_partial_payment_pays_nothing_and_lowers_what_is_due(staff: Any) -> None:
    booking = make_booking(staff, days_ahead=90)
    services.payment_record(
        booking=booking, actor=staff, amount="100.00", currency="EUR", method="cash"
    )
    money = services.booking_money(booking=booking)
    assert [row.state for row in money.schedule] == ["due", "due"]
    assert money.schedule[0].outstanding == Decimal("14.00")
    assert money.due == Decimal("280.00")


def test_item_changes_recompute_only_unpaid_instalments(staff: Any) -> None:
    booking = make_booking(staff, days_ahead=90)
    deposit = booking.instalments.order_by("due_date").first()
    services.payment_record(
        booking=booking, actor=staff, amount=deposit.amount, currency="EUR", method="bank_transfer"
    )
    start = timezone.now() + timedelta(days=90)
    booking_services.item_add(
        booking=booking,
        actor=staff,
        service_type="activity",
        description="Boat trip",
        start=start,
        end=start + timedelta(hours=3),
        quantity=1,
        unit_price=Decimal("120.00"),
        unit_cost=Decimal("60.00"),
    )
    rows = list(booking.instalments.order_by("due_date", "id"))
    assert rows[0].pk == deposit.pk and rows[0].amount == deposit.amount and rows[0].paid_at
    assert [(i.kind, i.amount) for i in rows[1:]] == [("balance", Decimal("386.00"))]
    assert sum(i.amount for i in rows) == Decimal("500.00")


def test_nothing_paid_replans_the_whole_schedule(staff: Any) -> None:
    booking = make_booking(staff, days_ahead=90)
    transfer = booking.items.get(service_type="transfer")
    booking_services.item_cancel(item=transfer, actor=staff, reason="not needed")
    assert [(i.kind, i.amount) for i in booking.instalments.order_by("due_date")] == [
        ("deposit", Decimal("90.00")),
        ("balance", Decimal("210.00")),
    ]


def test_an_unchanged_schedule_keeps_its_rows(staff: Any) -> None:
    booking = make_booking(staff, days_ahead=90)
    before = list(booking.instalments.values_list("pk", flat=True))
    item = booking.items.first()
    booking_services.item_update(item=item, actor=staff, description="Renamed")
    assert list(booking.instalments.values_list("pk", flat=True)) == before


def test_a_cancelled_booking_owes_nothing_more(staff: Any) -> None:
    booking = make_booking(staff, days_ahead=90)
    booking_services.booking_cancel(booking=booking, actor=staff, reason="Customer cancelled")
    assert not Instalment.objects.filter(booking=booking, paid_at__isnull=True).exists()


@pytest.mark.parametrize("days_ahead", [3, 36])
def test_close_services_get_one_instalment_on_approval(staff: Any, days_ahead: int) -> None:
    booking = make_booking(staff, days_ahead=days_ahead)
    assert [i.kind for i in booking.instalments.all()] == ["full"]


def test_a_cancellation_after_full_payment_cuts_the_schedule_and_the_refund_settles_it(
    staff: Any,
) -> None:
    booking = make_booking(staff, days_ahead=90)
    services.payment_record(
        booking=booking, actor=staff, amount="380.00", currency="EUR", method="cash"
    )
    transfer = booking.items.get(service_type="transfer")
    booking_services.item_cancel(item=transfer, actor=staff, reason="not needed")
    assert [
        (i.kind, i.amount, bool(i.paid_at)) for i in booking.instalments.order_by("due_date")
    ] == [
        ("deposit", Decimal("114.00"), True),
        ("balance", Decimal("186.00"), True),
    ]
    money = services.booking_money(booking=booking)
    assert (money.total, money.paid, money.due, money.balance) == (
        Decimal("300.00"), Decimal("380.00"), Decimal("0.00"), Decimal("-80.00"),
    )  # fmt: skip
    services.payment_record(
        booking=booking,
        actor=staff,
        amount="-80.00",
        currency="EUR",
        method="cash",
        reason="Refund",
    )
    money = services.booking_money(booking=booking)
    assert (money.due, money.balance) == (Decimal("0.00"), Decimal("0.00"))
    assert [row.state for row in money.schedule] == ["paid", "paid"]


def test_a_goodwill_refund_makes_the_last_instalment_due_again(staff: Any) -> None:
    booking = make_booking(staff, days_ahead=90)
    services.payment_record(
        booking=booking, actor=staff, amount="380.00", currency="EUR", method="cash"
    )
    services.payment_record(
        booking=booking, actor=staff, amount="-50.00", currency="EUR", method="cash", reason="Sorry"
    )
    money = services.booking_money(booking=booking)
    assert [row.state for row in money.schedule] == ["paid", "due"]
    assert money.due == Decimal("50.00")

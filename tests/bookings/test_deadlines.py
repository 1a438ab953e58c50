"""Vendor answers on time: the deadline arithmetic, the clock as items move, the sweep's
reminders (once per threshold, however often and on however many workers it runs)
and the alert to staff when a deadline passes."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from bookings import deadlines, services
from bookings.models import BookingItem, VendorReminder
from core.domain import Actor
from core.models import AuditEntry
from notifications.formatting import format_moment
from notifications.models import Notification
from tests import factories

V = BookingItem.VendorStatus
SYSTEM = Actor(via="system", label="test")
H = timedelta(hours=1)


def asked_item(*, vendor: Any, start_in: timedelta = timedelta(days=20)) -> BookingItem:
    """An item of a submitted booking, its vendor asked now (through the services)."""
    start = timezone.now() + start_in
    booking = services.booking_create(
        actor=SYSTEM,
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        items=[
            {
                "service_type": "transfer",
                "description": "Airport pickup",
                "start": start,
                "end": start + H,
                "quantity": 2,
                "unit_price": Decimal("80.00"),
                "unit_cost": Decimal("50.00"),
                "vendor": vendor,
            }
        ],
    )
    services.booking_submit(booking=booking, actor=SYSTEM)
    return booking.items.get()


def rows(kind: str) -> list[Notification]:
    return list(Notification.objects.filter(kind=kind).order_by("pk"))


# --- the arithmetic ---------------------------------------------------------------------


@override_settings(VENDOR_RESPONSE_HOURS=24, VENDOR_ANSWER_LEAD_HOURS=48)
def test_respond_by_is_asked_plus_response_hours_when_the_service_is_far() -> None:
    asked = timezone.now()
    vendor = factories.VendorFactory.build(response_hours=None)
    start = asked + timedelta(days=30)
    assert deadlines.respond_by_for(asked_at=asked, start=start, vendor=vendor) == asked + 24 * H
    vendor.response_hours = 6
    assert deadlines.respond_by_for(asked_at=asked, start=start, vendor=vendor) == asked + 6 * H


@override_settings(VENDOR_RESPONSE_HOURS=24, VENDOR_ANSWER_LEAD_HOURS=48)
def test_respond_by_is_the_lead_time_before_a_service_that_is_close() -> None:
    asked = timezone.now()
    vendor = factories.VendorFactory.build(response_hours=None)
    start = asked + 60 * H  # 48 h before it is 12 h from now: earlier than 24 h
    assert deadlines.respond_by_for(asked_at=asked, start=start, vendor=vendor) == asked + 12 * H
    # Asked inside the lead time: due at once, never before it was asked.
    soon = asked + 10 * H
    assert deadlines.respond_by_for(asked_at=asked, start=soon, vendor=vendor) == asked


@override_settings(VENDOR_CONFIRM_HOURS=48, VENDOR_ANSWER_LEAD_HOURS=48)
def test_confirm_by_is_accepted_plus_confirm_hours_capped_by_the_lead() -> None:
    accepted = timezone.now()
    far, near = accepted + timedelta(days=30), accepted + 72 * H
    assert deadlines.confirm_by_for(accepted_at=accepted, start=far) == accepted + 48 * H
    assert deadlines.confirm_by_for(accepted_at=accepted, start=near) == accepted + 24 * H


@pytest.mark.django_db
@override_settings(VENDOR_RESPONSE_HOURS=24, VENDOR_CONFIRM_HOURS=48)
def test_the_clock_follows_the_item_and_answering_or_reassigning_ends_it() -> None:
    vendor, other = factories.VendorFactory(response_hours=10), factories.VendorFactory()
    item = asked_item(vendor=vendor)
    assert item.request_seq == 1
    assert item.respond_by == item.assigned_at + 10 * H
    assert item.confirm_by is None
    services.item_assign_vendor(item=item, vendor=other, actor=SYSTEM)
    item.refresh_from_db()
    assert item.request_seq == 2  # a new request: the first one's clock is over
    assert item.respond_by == item.assigned_at + 24 * H
    services.item_accept(item=item, actor=SYSTEM)
    item.refresh_from_db()
    assert item.respond_by is None
    assert item.confirm_by == item.responded_at + 48 * H
    services.item_confirm(item=item, actor=SYSTEM, vendor_reference="R-1")
    item.refresh_from_db()
    assert item.respond_by is None and item.confirm_by is None


@pytest.mark.django_db
def test_declining_or_cancelling_stops_the_clock() -> None:
    vendor = factories.VendorFactory()
    item = asked_item(vendor=vendor)
    services.item_decline(item=item, actor=SYSTEM, reason="Full")
    item.refresh_from_db()
    assert item.respond_by is None and not item.overdue
    second = asked_item(vendor=vendor)
    services.booking_cancel(booking=second.booking, actor=SYSTEM, reason="Trip off")
    second.refresh_from_db()
    assert second.respond_by is None and not second.overdue


# --- the sweep ----------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(VENDOR_RESPONSE_HOURS=10, VENDOR_REMINDER_POINTS=[50, 90])
def test_sweep_reminds_at_each_threshold_once_and_alerts_staff_at_respond_by(
    django_capture_on_commit_callbacks: Any,
) -> None:
    vendor = factories.VendorFactory(notify_by=["email", "whatsapp"])
    item = asked_item(vendor=vendor)
    asked = item.assigned_at
    assert asked is not None

    result = deadlines.deadlines_sweep(now=asked + 4 * H)  # 40 %: nothing yet
    assert result.checked == 1 and result.reminders == 0 and not rows("item_reminder")

    for _ in range(2):  # the frozen clock at 60 %, swept twice: one reminder
        deadlines.deadlines_sweep(now=asked + 6 * H)
    first = rows("item_reminder")
    assert {(r.channel, r.recipient) for r in first} == {
        ("email", vendor.email),
        ("whatsapp", vendor.phone),
    }
    email = next(r for r in first if r.channel == "email")
    assert "please accept or decline it by" in email.body_text

    deadlines.deadlines_sweep(now=asked + 9.5 * H)  # 95 %: the second reminder
    deadlines.deadlines_sweep(now=asked + 9.6 * H)
    assert len(rows("item_reminder")) == 4  # two thresholds x two channels
    assert not BookingItem.objects.overdue(now=asked + 9.6 * H).exists()

    with django_capture_on_commit_callbacks(execute=False):
        deadlines.deadlines_sweep(now=asked + 10 * H + timedelta(seconds=1))
        deadlines.deadlines_sweep(now=asked + 11 * H)
    alerts = rows("item_overdue")
    assert len(alerts) == 1 and alerts[0].recipient == "ops@example.com"
    assert "has not answered" in alerts[0].body_text
    entry = AuditEntry.objects.get(action="answer_overdue")
    assert entry.target == item and entry.data["vendor"] == vendor.name
    assert alerts[0].audit_entry == entry
    assert len(rows("item_reminder")) == 4  # the vendor is not reminded again
    assert list(BookingItem.objects.overdue(now=asked + 11 * H)) == [item]
    assert set(VendorReminder.objects.filter(item=item).values_list("threshold", flat=True)) == {
        50,
        90,
        100,
    }


@pytest.mark.django_db
@override_settings(VENDOR_RESPONSE_HOURS=10, VENDOR_REMINDER_POINTS=[50, 90])
def test_a_late_first_sweep_sends_only_the_most_urgent_message() -> None:
    item = asked_item(vendor=factories.VendorFactory())
    assert item.assigned_at is not None
    deadlines.deadlines_sweep(now=item.assigned_at + 20 * H)
    # Not three messages at once: the vendor is told it is late, staff get the alert.
    assert not rows("item_reminder")
    assert len(rows("item_overdue")) == 1
    assert len(rows("item_overdue_vendor")) == 1


# --- the vendor told it is late -------------------------------------------------------


@pytest.mark.django_db
@override_settings(VENDOR_RESPONSE_HOURS=10, VENDOR_REMINDER_POINTS=[50, 90])
def test_a_late_vendor_is_told_once_on_its_channels_with_the_service_in_local_time(
    django_capture_on_commit_callbacks: Any,
) -> None:
    vendor = factories.VendorFactory(
        name="Lisboa Transfers", notify_by=["email", "whatsapp"], timezone="Europe/Lisbon"
    )
    item = asked_item(vendor=vendor)
    item.timezone = "Europe/Lisbon"  # the service happens where the vendor works
    item.save(update_fields=["timezone"])
    assert item.assigned_at is not None and item.respond_by is not None
    deadlines.deadlines_sweep(now=item.assigned_at + 9.5 * H)  # a reminder, not late yet
    assert not rows("item_overdue_vendor")

    late = item.respond_by + timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = deadlines.deadlines_sweep(now=late)
        again = deadlines.deadlines_sweep(now=late + 3 * H)  # the sweep runs on: nothing
    assert (first.alerts, again.alerts) == (1, 0)
    told = rows("item_overdue_vendor")
    assert {(r.channel, r.recipient) for r in told} == {
        ("email", vendor.email),
        ("whatsapp", vendor.phone),
    }
    assert len(queued) == len(told) + len(rows("item_overdue"))  # through the outbox
    email = next(r for r in told if r.channel == "email")
    start = format_moment(item.start, "Europe/Lisbon")
    assert start.endswith(" WET") or start.endswith(" WEST")
    reference = item.booking.reference
    assert (
        email.subject == f"Overdue: please answer now: Transfer on {start} for booking {reference}"
    )
    assert (
        f"You have not answered our request for booking {reference}, Transfer on {start}"
        in email.body_text
    )
    assert f"was due by {format_moment(item.respond_by, 'Europe/Lisbon')}" in email.body_text
    assert "Please accept or decline it now." in email.body_text
    assert f"/portal/items/{item.pk}/" in email.body_text
    whatsapp = next(r for r in told if r.channel == "whatsapp")
    assert whatsapp.whatsapp_template == "item_overdue_vendor"
    assert whatsapp.whatsapp_params[:3] == [reference, "Transfer", start]
    entry = email.audit_entry
    assert entry is not None and entry.action == "vendor_reminded"
    assert entry.data["threshold"] == deadlines.OVERDUE
    # The staff's alert is the same claim: one OVERDUE row, one alert.
    assert len(rows("item_overdue")) == 1
    assert VendorReminder.objects.filter(item=item, threshold=deadlines.OVERDUE).count() == 1


@pytest.mark.django_db
@override_settings(VENDOR_RESPONSE_HOURS=10, VENDOR_CONFIRM_HOURS=10)
def test_a_vendor_late_with_its_confirmation_is_told_to_confirm_now() -> None:
    item = asked_item(vendor=factories.VendorFactory())
    services.item_accept(item=item, actor=SYSTEM)
    item.refresh_from_db()
    assert item.confirm_by is not None
    deadlines.deadlines_sweep(now=item.confirm_by + H)
    deadlines.deadlines_sweep(now=item.confirm_by + 2 * H)
    (notice,) = rows("item_overdue_vendor")
    assert notice.subject.startswith("Overdue: please confirm now: Transfer on ")
    assert "but have not confirmed it" in notice.body_text
    assert "Please confirm it now, with your reference." in notice.body_text


@pytest.mark.django_db
@override_settings(VENDOR_RESPONSE_HOURS=10)
@pytest.mark.parametrize("move", ["accept", "decline", "reassign", "cancel"])
def test_answering_or_reassigning_before_the_sweep_means_no_late_notice(move: str) -> None:
    vendor, other = factories.VendorFactory(), factories.VendorFactory()
    item = asked_item(vendor=vendor)
    assert item.respond_by is not None
    late = item.respond_by + H
    if move == "accept":
        services.item_accept(item=item, actor=SYSTEM)
    elif move == "decline":
        services.item_decline(item=item, actor=SYSTEM, reason="Full")
    elif move == "reassign":
        services.item_assign_vendor(item=item, vendor=other, actor=SYSTEM)
    else:
        services.booking_cancel(booking=item.booking, actor=SYSTEM, reason="Trip off")
    deadlines.deadlines_sweep(now=late)
    told = [r.recipient for r in rows("item_overdue_vendor")]
    if move == "reassign":
        # The new vendor, asked as long ago, is late with its own request; the first
        # vendor's request ended when it was replaced.
        assert told == [other.email]
        entry = AuditEntry.objects.get(action="answer_overdue")
        assert entry.data["request"] == 2 and entry.data["vendor"] == other.name
    else:
        assert told == [] and not rows("item_overdue")


@pytest.mark.django_db
@override_settings(VENDOR_RESPONSE_HOURS=10, VENDOR_CONFIRM_HOURS=10)
def test_answering_ends_the_clock_and_an_unconfirmed_item_gets_its_own_deadline() -> None:
    item = asked_item(vendor=factories.VendorFactory())
    services.item_accept(item=item, actor=SYSTEM)
    item.refresh_from_db()
    assert item.responded_at is not None and item.confirm_by is not None
    deadlines.deadlines_sweep(now=item.responded_at + 6 * H)
    (reminder,) = rows("item_reminder")
    assert "please confirm it with your reference by" in reminder.body_text
    deadlines.deadlines_sweep(now=item.responded_at + 11 * H)
    (alert,) = rows("item_overdue")
    assert "has not confirmed it" in alert.body_text
    assert AuditEntry.objects.filter(action="confirmation_overdue").count() == 1
    services.item_confirm(item=item, actor=SYSTEM, vendor_reference="R-9")
    item.refresh_from_db()
    assert not item.overdue
    deadlines.deadlines_sweep(now=item.responded_at + 30 * H)
    assert len(rows("item_overdue")) == 1


@pytest.mark.django_db
@override_settings(VENDOR_RESPONSE_HOURS=10)
def test_reassigning_starts_a_new_request_with_its_own_reminders() -> None:
    first, second = factories.VendorFactory(), factories.VendorFactory()
    item = asked_item(vendor=first)
    assert item.assigned_at is not None
    deadlines.deadlines_sweep(now=item.assigned_at + 6 * H)
    services.item_assign_vendor(item=item, vendor=second, actor=SYSTEM)
    item.refresh_from_db()
    assert item.assigned_at is not None
    deadlines.deadlines_sweep(now=item.assigned_at + 6 * H)
    assert [r.recipient for r in rows("item_reminder")] == [first.email, second.email]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(VENDOR_RESPONSE_HOURS=10, VENDOR_REMINDER_POINTS=[50, 90])
def test_two_workers_sweeping_at_once_send_each_reminder_once() -> None:
    items = [asked_item(vendor=factories.VendorFactory()) for _ in range(20)]
    now = max(i.assigned_at for i in items if i.assigned_at) + 6 * H
    start = threading.Barrier(2)
    results: list[deadlines.SweepResult] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait(10)
            results.append(deadlines.deadlines_sweep(now=now))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sum(r.reminders for r in results) == 20
    assert Notification.objects.filter(kind="item_reminder").count() == 20
    assert VendorReminder.objects.count() == 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(VENDOR_RESPONSE_HOURS=10, VENDOR_REMINDER_POINTS=[50, 90])
def test_two_workers_sweeping_past_the_deadline_tell_each_late_vendor_once() -> None:
    items = [asked_item(vendor=factories.VendorFactory()) for _ in range(20)]
    now = max(i.respond_by for i in items if i.respond_by) + H
    start = threading.Barrier(2)
    results: list[deadlines.SweepResult] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait(10)
            for _ in range(2):  # and each sweeps twice
                results.append(deadlines.deadlines_sweep(now=now))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sum(r.alerts for r in results) == 20
    told = Notification.objects.filter(kind="item_overdue_vendor")
    assert sorted(told.values_list("recipient", flat=True)) == sorted(
        i.vendor.email for i in items if i.vendor
    )
    assert (
        Notification.objects.filter(kind="item_overdue").values("object_id").distinct().count()
        == 20
    )
    assert VendorReminder.objects.filter(threshold=deadlines.OVERDUE).count() == 20

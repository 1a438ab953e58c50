"""Every event in DESIGN.md writes the right outbox rows, after commit, and none on rollback.

Each test calls the service that owns the event, as the admin, portal and API do, and
checks the rows it recorded: kind, channel, recipient, rendered content (reference,
service, dates with their timezone written out, links on SITE_URL) and the dedupe
key tying the row to the audit entry that caused it. A delivery task is queued for
each row only when the transaction commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from bookings import services as bookings
from bookings.models import Booking, BookingItem
from core.audit import audit_record
from core.domain import Actor
from core.models import AuditEntry
from notifications import services as outbox
from notifications.models import Notification
from offers import services as offers
from offers.models import Offer
from partners import services as partners
from partners.roles import AGENTS, APPROVERS
from tests import factories

pytestmark = pytest.mark.django_db
SYSTEM = Actor(via="system", label="test")
E = Notification.Channel.EMAIL
W = Notification.Channel.WHATSAPP
# The zone's abbreviation after every time: the service's zone (the items' default, the
# site's DEFAULT_SERVICE_TIMEZONE, is UTC in tests), or the site's for an expiry.
TZ = " UTC"


class Recorded:
    """The rows a block recorded and the on-commit callbacks it registered."""

    def __init__(self) -> None:
        self.rows: list[Notification] = []
        self.callbacks: list[Callable[[], Any]] = []

    def of(self, kind: str) -> list[Notification]:
        return [row for row in self.rows if row.kind == kind]

    def one(self, kind: str, channel: str = E, recipient: str | None = None) -> Notification:
        rows = [
            r
            for r in self.of(kind)
            if r.channel == channel and (recipient is None or r.recipient == recipient)
        ]
        assert len(rows) == 1, f"{kind}/{channel}/{recipient}: {rows}"
        return rows[0]

    def recipients(self, kind: str) -> set[tuple[str, str]]:
        return {(row.channel, row.recipient) for row in self.of(kind)}


@contextmanager
def recorded(capture: Any) -> Iterator[Recorded]:
    result = Recorded()
    last = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with capture() as callbacks:
        yield result
    result.rows = list(Notification.objects.filter(pk__gt=last).order_by("pk"))
    result.callbacks = callbacks
    # One delivery task per row, queued on commit.
    assert len(callbacks) == len(result.rows)


def check_row(row: Notification, *, entry: AuditEntry, reference: str = "") -> None:
    """What every row carries: dedupe key from its cause, rendered text, pending."""
    assert row.status == Notification.Status.PENDING
    assert row.attempts == 0
    assert row.audit_entry_id == entry.pk
    assert row.dedupe_key == (
        f"audit{entry.pk}:{row.kind}:{row.channel}:{(row.recipient or row.recipient_name).lower()}"
    )
    assert row.subject and row.body_text.strip()
    if reference:
        assert row.reference == reference
        assert reference in row.subject
        assert reference in row.body_text
    if row.channel == E:
        assert row.body_html.lstrip().lower().startswith(("<!doctype", "<html"))
        assert not row.whatsapp_template
    else:
        assert row.whatsapp_template == row.kind
        assert row.whatsapp_params and row.body_html == ""


def latest_entry(action: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action).latest("pk")


def item_data(**overrides: Any) -> dict[str, Any]:
    start = timezone.now().replace(microsecond=0) + timedelta(days=20)
    data = {
        "service_type": "accommodation",
        "description": "Double room, sea view",
        "start": start,
        "end": start + timedelta(days=2),
        "quantity": 2,
        "unit_price": Decimal("150.00"),
        "unit_cost": Decimal("100.00"),
    }
    data.update(overrides)
    return data


@pytest.fixture
def staff_agent(db: None) -> Any:
    return factories.StaffFactory(username="agent", email="agent@example.com", groups=[AGENTS])


@pytest.fixture
def staff_approver(db: None) -> Any:
    return factories.StaffFactory(
        username="approver", email="approver@example.com", groups=[APPROVERS]
    )


@pytest.fixture
def both_vendor(db: None) -> Any:
    return factories.VendorFactory(
        name="Sintra Transfers", phone="+351910000001", notify_by=["email", "whatsapp"]
    )


def new_booking(
    *, broker: Any = None, vendor: Any = None, items: int = 1, submitted: bool | None = None
) -> Booking:
    """A booking; submitted (vendors are asked only then) when ``vendor`` is given."""
    booking = bookings.booking_create(
        actor=SYSTEM,
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        broker=broker,
        items=[item_data(description=f"Service {n}") for n in range(items)],
    )
    if submitted or (submitted is None and vendor is not None):
        bookings.booking_submit(booking=booking, actor=SYSTEM)
    if vendor is not None:
        for item in booking.items.all():
            bookings.item_assign_vendor(item=item, vendor=vendor, actor=SYSTEM)
    return Booking.objects.get(pk=booking.pk)


# --- partners -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["vendor", "broker"])
def test_partner_invite_and_reinvite_email_the_contact(
    django_capture_on_commit_callbacks: Any, kind: str
) -> None:
    partner = factories.VendorFactory() if kind == "vendor" else factories.BrokerFactory()
    with recorded(django_capture_on_commit_callbacks) as first:
        partners.partner_invite(partner=partner, actor=SYSTEM)
    row = first.one("partner_invited", E, partner.email)
    assert len(first.rows) == 1
    check_row(row, entry=latest_entry("invited"))
    assert row.target == partner
    assert "[link hidden]" in row.body_text  # sealed until sent (test_sealed_links.py)
    assert "You are invited" in row.body_text
    assert " UTC." in row.body_text  # the expiry, with its timezone

    with recorded(django_capture_on_commit_callbacks) as again:
        partners.partner_invite(partner=partner, actor=SYSTEM)
    row2 = again.one("partner_invited", E, partner.email)
    check_row(row2, entry=latest_entry("reinvited"))
    assert "new invitation" in row2.body_text
    assert "no longer works" in row2.body_text
    assert row2.sealed != row.sealed  # a new link


# --- booking items ------------------------------------------------------------------


def test_item_assigned_tells_the_vendor_on_each_channel_it_chose(
    django_capture_on_commit_callbacks: Any, both_vendor: Any
) -> None:
    booking = new_booking(submitted=True)
    item = booking.items.get()
    with recorded(django_capture_on_commit_callbacks) as rec:
        bookings.item_assign_vendor(item=item, vendor=both_vendor, actor=SYSTEM)
    assert rec.recipients("item_assigned") == {(E, both_vendor.email), (W, both_vendor.phone)}
    assert len(rec.rows) == 2
    entry = latest_entry("assigned")
    email, whatsapp = rec.one("item_assigned", E), rec.one("item_assigned", W)
    for row in (email, whatsapp):
        check_row(row, entry=entry, reference=booking.reference)
        assert "Accommodation" in row.body_text
        assert TZ in row.body_text
        assert f"http://testserver/portal/items/{item.pk}/" in row.body_text
    assert "Accommodation" in email.subject and TZ in email.subject
    assert booking.reference in email.body_html
    # WhatsApp: the approved template's parameters, in order, one line each.
    assert whatsapp.whatsapp_params[:2] == [booking.reference, "Accommodation"]
    assert TZ in whatsapp.whatsapp_params[2]
    assert whatsapp.whatsapp_params[3] == "2"


def test_reassignment_withdraws_the_item_from_the_previous_vendor(
    django_capture_on_commit_callbacks: Any, vendor: Any, both_vendor: Any
) -> None:
    booking = new_booking(vendor=vendor)
    item = booking.items.get()
    with recorded(django_capture_on_commit_callbacks) as rec:
        bookings.item_assign_vendor(item=item, vendor=both_vendor, actor=SYSTEM)
    entry = latest_entry("reassigned")
    withdrawn = rec.one("item_withdrawn", E, vendor.email)
    check_row(withdrawn, entry=entry, reference=booking.reference)
    assert "Accommodation" in withdrawn.body_text and TZ in withdrawn.body_text
    assert rec.recipients("item_withdrawn") == {(E, vendor.email)}
    assert rec.recipients("item_assigned") == {(E, both_vendor.email), (W, both_vendor.phone)}


def test_cancelling_an_assigned_item_withdraws_it(
    django_capture_on_commit_callbacks: Any, both_vendor: Any
) -> None:
    booking = new_booking(vendor=both_vendor)
    with recorded(django_capture_on_commit_callbacks) as rec:
        bookings.item_cancel(item=booking.items.get(), actor=SYSTEM, reason="Not needed")
    assert rec.recipients("item_withdrawn") == {(E, both_vendor.email), (W, both_vendor.phone)}
    for row in rec.rows:
        check_row(row, entry=latest_entry("cancelled"), reference=booking.reference)


@pytest.mark.parametrize(
    ("action", "kind", "words"),
    [
        ("accepted", "item_accepted", "accepted"),
        ("declined", "item_declined", "No rooms left"),
        ("confirmed", "item_vendor_confirmed", "HX-991"),
    ],
)
def test_vendor_answers_tell_staff_by_email(
    django_capture_on_commit_callbacks: Any,
    staff_agent: Any,
    staff_approver: Any,
    vendor: Any,
    action: str,
    kind: str,
    words: str,
) -> None:
    booking = new_booking(vendor=vendor)
    item = booking.items.get()
    if action == "confirmed":
        bookings.item_accept(item=item, actor=SYSTEM)
    with recorded(django_capture_on_commit_callbacks) as rec:
        if action == "accepted":
            bookings.item_accept(item=item, actor=Actor(vendor=vendor, via="portal"))
        elif action == "declined":
            bookings.item_decline(
                item=item, actor=Actor(vendor=vendor, via="portal"), reason="No rooms left"
            )
        else:
            bookings.item_confirm(
                item=item, actor=Actor(vendor=vendor, via="portal"), vendor_reference="HX-991"
            )
    # STAFF_NOTIFICATION_EMAIL and the agents group; not the approvers.
    assert rec.recipients(kind) == {(E, "ops@example.com"), (E, "agent@example.com")}
    entry = latest_entry(action)
    for row in rec.of(kind):
        check_row(row, entry=entry, reference=booking.reference)
        assert vendor.name in row.subject
        assert words in row.body_text
        assert f"http://testserver/admin/bookings/booking/{booking.pk}/change/" in row.body_text


def test_item_confirmed_tells_the_broker(
    django_capture_on_commit_callbacks: Any, broker: Any, vendor: Any
) -> None:
    booking = new_booking(broker=broker, vendor=vendor)
    item = booking.items.get()
    bookings.item_accept(item=item, actor=SYSTEM)
    with recorded(django_capture_on_commit_callbacks) as rec:
        bookings.item_confirm(item=item, actor=SYSTEM, vendor_reference="HX-1")
    row = rec.one("item_confirmed", E, broker.email)
    assert rec.recipients("item_confirmed") == {(E, broker.email)}
    check_row(row, entry=latest_entry("confirmed"), reference=booking.reference)
    assert TZ in row.body_text
    assert f"http://testserver/portal/bookings/{booking.reference}/" in row.body_text


def test_item_confirmed_tells_the_customer_without_a_broker(
    django_capture_on_commit_callbacks: Any, vendor: Any
) -> None:
    booking = new_booking(vendor=vendor)
    item = booking.items.get()
    bookings.item_accept(item=item, actor=SYSTEM)
    with recorded(django_capture_on_commit_callbacks) as rec:
        bookings.item_confirm(item=item, actor=SYSTEM, vendor_reference="HX-1")
    assert rec.recipients("item_confirmed") == {(E, "ada@example.com")}


# --- bookings -----------------------------------------------------------------------


def test_booking_submitted_tells_the_approvers(
    django_capture_on_commit_callbacks: Any, staff_agent: Any, staff_approver: Any
) -> None:
    booking = new_booking()
    with recorded(django_capture_on_commit_callbacks) as rec:
        bookings.booking_submit(booking=booking, actor=SYSTEM)
    assert rec.recipients("booking_submitted") == {
        (E, "ops@example.com"),
        (E, "approver@example.com"),
    }
    for row in rec.rows:
        check_row(row, entry=latest_entry("submitted"), reference=booking.reference)


def test_booking_approved_tells_the_broker_and_every_assigned_vendor(
    django_capture_on_commit_callbacks: Any, broker: Any, vendor: Any, both_vendor: Any
) -> None:
    booking = new_booking(broker=broker, items=3)
    first, second, unassigned = booking.items.order_by("pk")
    bookings.item_assign_vendor(item=first, vendor=vendor, actor=SYSTEM)
    bookings.item_assign_vendor(item=second, vendor=both_vendor, actor=SYSTEM)
    bookings.booking_submit(booking=booking, actor=SYSTEM)
    with recorded(django_capture_on_commit_callbacks) as rec:
        bookings.booking_approve(booking=booking, actor=SYSTEM)
    entry = latest_entry("approved")
    assert rec.recipients("booking_approved") == {(E, broker.email)}
    assert rec.recipients("booking_approved_vendor") == {
        (E, vendor.email),
        (E, both_vendor.email),
        (W, both_vendor.phone),
    }
    for row in rec.rows:
        check_row(row, entry=entry, reference=booking.reference)
    to_broker = rec.one("booking_approved", E, broker.email)
    assert "EUR 900.00" in to_broker.body_text  # 3 items x 2 x 150
    assert to_broker.body_text.count(f"{TZ}, quantity") == 3  # each item, with its zone
    # Each vendor hears only about its own services.
    to_vendor = rec.one("booking_approved_vendor", E, vendor.email)
    assert "Service 0" in to_vendor.body_text
    assert "Service 1" not in to_vendor.body_text and "Service 2" not in to_vendor.body_text
    assert unassigned.vendor is None


def test_booking_confirmed_by_itself_tells_the_customer(
    django_capture_on_commit_callbacks: Any, vendor: Any
) -> None:
    booking = new_booking(vendor=vendor)
    item = booking.items.get()
    bookings.item_accept(item=item, actor=SYSTEM)
    bookings.booking_approve(booking=booking, actor=SYSTEM)
    with recorded(django_capture_on_commit_callbacks) as rec:
        bookings.item_confirm(item=item, actor=SYSTEM, vendor_reference="HX-7")
    row = rec.one("booking_confirmed", E, "ada@example.com")
    check_row(row, entry=latest_entry("confirmed"), reference=booking.reference)
    assert "HX-7" in row.body_text
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED


def test_booking_cancelled_tells_the_customer_and_assigned_vendors(
    django_capture_on_commit_callbacks: Any, both_vendor: Any
) -> None:
    booking = new_booking(vendor=both_vendor)
    with recorded(django_capture_on_commit_callbacks) as rec:
        bookings.booking_cancel(booking=booking, actor=SYSTEM, reason="Trip called off")
    entry = latest_entry("cancelled")
    assert rec.recipients("booking_cancelled") == {(E, "ada@example.com")}
    assert rec.recipients("booking_cancelled_vendor") == {
        (E, both_vendor.email),
        (W, both_vendor.phone),
    }
    for row in rec.rows:
        check_row(row, entry=entry, reference=booking.reference)
    assert "Trip called off" in rec.one("booking_cancelled").body_text


def test_cancelling_a_draft_tells_no_customer(django_capture_on_commit_callbacks: Any) -> None:
    booking = new_booking()
    with recorded(django_capture_on_commit_callbacks) as rec:
        bookings.booking_cancel(booking=booking, actor=SYSTEM, reason="Typo")
    assert rec.rows == []


# --- offers -------------------------------------------------------------------------


def new_offer(*, broker: Any = None) -> Offer:
    start = timezone.now() + timedelta(days=40)
    return offers.offer_create(
        actor=SYSTEM,
        broker=broker,
        customer_name="" if broker else "Grace Hopper",
        customer_email="" if broker else "grace@example.com",
        valid_until=timezone.now() + timedelta(days=7),
        lines=[
            {
                "service_type": "activity",
                "description": "Sintra day tour",
                "start": start,
                "end": start + timedelta(hours=6),
                "quantity": 4,
                "unit_price": Decimal("65.00"),
                "unit_cost": Decimal("40.00"),
            }
        ],
    )


def test_offer_sent_tells_the_broker(django_capture_on_commit_callbacks: Any, broker: Any) -> None:
    offer = new_offer(broker=broker)
    with recorded(django_capture_on_commit_callbacks) as rec:
        offers.offer_send(offer=offer, actor=SYSTEM)
    row = rec.one("offer_sent", E, broker.email)
    assert len(rec.rows) == 1
    check_row(row, entry=latest_entry("sent"), reference=offer.reference)
    assert "EUR 260.00" in row.body_text and "Sintra day tour" in row.body_text
    assert TZ in row.body_text
    assert f"http://testserver/portal/offers/{offer.reference}/" in row.body_text


def test_offer_sent_to_a_customer_without_a_broker(
    django_capture_on_commit_callbacks: Any,
) -> None:
    offer = new_offer()
    with recorded(django_capture_on_commit_callbacks) as rec:
        offers.offer_send(offer=offer, actor=SYSTEM)
    assert rec.recipients("offer_sent") == {(E, "grace@example.com")}


@pytest.mark.parametrize("answer", ["accepted", "declined"])
def test_offer_answer_tells_staff(
    django_capture_on_commit_callbacks: Any, broker: Any, staff_agent: Any, answer: str
) -> None:
    offer = new_offer(broker=broker)
    offers.offer_send(offer=offer, actor=SYSTEM)
    actor = Actor(broker=broker, via="portal")
    with recorded(django_capture_on_commit_callbacks) as rec:
        if answer == "accepted":
            offers.offer_accept(
                offer=offer, actor=actor, lead_name="Jon Berg", lead_email="jon@example.com"
            )
        else:
            offers.offer_decline(offer=offer, actor=actor, reason="Too dear")
    kind = f"offer_{answer}"
    assert rec.recipients(kind) == {(E, "ops@example.com"), (E, "agent@example.com")}
    for row in rec.of(kind):
        check_row(row, entry=latest_entry(answer), reference=offer.reference)
        assert f"http://testserver/admin/offers/offer/{offer.pk}/change/" in row.body_text
    if answer == "accepted":
        booking = Offer.objects.get(pk=offer.pk).booking
        assert booking.reference in rec.one(kind, E, "ops@example.com").body_text
        # The new booking goes to the approvers through its submission.
        assert rec.of("booking_submitted")
    else:
        assert "Too dear" in rec.one(kind, E, "ops@example.com").body_text


def test_offer_expiry_sweep_tells_the_customer(django_capture_on_commit_callbacks: Any) -> None:
    offer = new_offer()
    offers.offer_send(offer=offer, actor=SYSTEM)
    Offer.objects.filter(pk=offer.pk).update(valid_until=timezone.now() - timedelta(minutes=1))
    with recorded(django_capture_on_commit_callbacks) as rec:
        from offers.tasks import expire_due_offers

        assert expire_due_offers() == 1
    row = rec.one("offer_expired", E, "grace@example.com")
    check_row(row, entry=latest_entry("expired"), reference=offer.reference)


def test_offer_withdrawn_after_sending_tells_the_customer(
    django_capture_on_commit_callbacks: Any,
) -> None:
    offer = new_offer()
    offers.offer_send(offer=offer, actor=SYSTEM)
    with recorded(django_capture_on_commit_callbacks) as rec:
        offers.offer_withdraw(offer=offer, actor=SYSTEM, reason="Prices changed")
    check_row(rec.one("offer_withdrawn", E, "grace@example.com"), entry=latest_entry("withdrawn"))


# --- rollback, dedupe, recording only -------------------------------------------------


class Boom(Exception):
    pass


@pytest.mark.parametrize(
    "event",
    ["invite", "assign", "approve", "cancel", "offer_send"],
)
def test_a_rolled_back_change_records_and_queues_nothing(
    django_capture_on_commit_callbacks: Any, both_vendor: Any, broker: Any, event: str
) -> None:
    booking = new_booking(broker=broker, submitted=True)
    item = booking.items.get()
    offer = new_offer(broker=broker)
    if event in ("approve", "cancel"):
        bookings.item_assign_vendor(item=item, vendor=both_vendor, actor=SYSTEM)
    before = Notification.objects.count()
    calls = {
        "invite": lambda: partners.partner_invite(partner=both_vendor, actor=SYSTEM),
        "assign": lambda: bookings.item_assign_vendor(item=item, vendor=both_vendor, actor=SYSTEM),
        "approve": lambda: bookings.booking_approve(booking=booking, actor=SYSTEM),
        "cancel": lambda: bookings.booking_cancel(booking=booking, actor=SYSTEM, reason="x"),
        "offer_send": lambda: offers.offer_send(offer=offer, actor=SYSTEM),
    }

    @transaction.atomic
    def change_then_fail() -> None:
        calls[event]()
        assert Notification.objects.count() > before  # recorded inside...
        raise Boom

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(Boom):
        change_then_fail()
    assert Notification.objects.count() == before  # ...and gone with the change
    assert callbacks == []
    assert mail.outbox == []


def test_the_same_cause_recorded_twice_collapses_into_one_row(
    django_capture_on_commit_callbacks: Any, vendor: Any
) -> None:
    entry = audit_record(target=vendor, action="invited")
    recipient = outbox.Recipient(name=vendor.name, email=vendor.email)
    context = {"partner_name": vendor.name, "partner_kind": "vendor", "expires": "soon"}
    with django_capture_on_commit_callbacks() as callbacks:
        first = outbox.notify(
            kind="partner_invited",
            recipients=[recipient, recipient],
            context=context,
            target=vendor,
            cause=entry,
        )
        second = outbox.notify(
            kind="partner_invited",
            recipients=[recipient],
            context=context,
            target=vendor,
            cause=entry,
        )
    assert len(first) == 1 and second == []
    assert Notification.objects.filter(audit_entry=entry).count() == 1
    assert len(callbacks) == 1


def test_unknown_kind_is_refused(vendor: Any) -> None:
    with pytest.raises(ValueError, match="Unknown notification kind"):
        outbox.notify(kind="nope", recipients=[], context={})


def test_recording_only_writes_rows_but_queues_no_task(
    django_capture_on_commit_callbacks: Any, vendor: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks, outbox.recording_only():
        partners.partner_invite(partner=vendor, actor=SYSTEM)
    assert Notification.objects.filter(kind="partner_invited").count() == 1
    assert callbacks == []
    # Outside the block, queueing is back.
    with django_capture_on_commit_callbacks() as callbacks:
        partners.partner_invite(partner=vendor, actor=SYSTEM)
    assert len(callbacks) == 1


# --- end to end in django-q2's sync mode ---------------------------------------------


def test_events_are_delivered_end_to_end_in_sync_mode(
    django_capture_on_commit_callbacks: Any, settings: Any, broker: Any, vendor: Any
) -> None:
    """Commit -> on_commit -> async_task (sync) -> claim -> email backend -> sent."""
    assert settings.Q_CLUSTER["sync"] is True
    with django_capture_on_commit_callbacks(execute=True):
        booking = new_booking(broker=broker, vendor=vendor)
    with django_capture_on_commit_callbacks(execute=True):
        bookings.booking_approve(booking=booking, actor=SYSTEM)
    rows = Notification.objects.filter(reference=booking.reference)
    assert rows.count() >= 3  # assigned, submitted (ops), approved (broker + vendor)
    assert set(rows.values_list("status", flat=True)) == {Notification.Status.SENT}
    assert set(rows.values_list("attempts", flat=True)) == {1}
    subjects = sorted(m.subject for m in mail.outbox)
    assert sorted(rows.values_list("subject", flat=True)) == subjects
    subject = f"Booking {booking.reference} is approved"
    approved = next(m for m in mail.outbox if m.subject == subject)
    assert approved.to == [f"{broker.name} <{broker.email}>"]
    assert approved.alternatives[0][1] == "text/html"
    sent = rows.get(kind="booking_approved")
    assert approved.extra_headers["Message-ID"] == f"<{sent.provider_message_id}>"
    assert sent.delivery_attempts.get().outcome == "sent"


def test_a_vendor_item_flow_is_delivered_once_per_row_in_sync_mode(
    django_capture_on_commit_callbacks: Any, vendor: Any, staff_agent: Any
) -> None:
    booking = new_booking(submitted=True)
    item = booking.items.get()
    Notification.objects.all().delete()  # the approvers' news of the submission
    with django_capture_on_commit_callbacks(execute=True):
        bookings.item_assign_vendor(item=item, vendor=vendor, actor=SYSTEM)
    with django_capture_on_commit_callbacks(execute=True):
        bookings.item_accept(item=item, actor=Actor(vendor=vendor, via="portal"))
    with django_capture_on_commit_callbacks(execute=True):
        bookings.item_confirm(
            item=BookingItem.objects.get(pk=item.pk), actor=SYSTEM, vendor_reference="Z-1"
        )
    rows = Notification.objects.filter(reference=booking.reference)
    assert len(mail.outbox) == rows.count() == 1 + 2 + 2 + 1
    assert rows.exclude(status=Notification.Status.SENT).count() == 0

"""Offer transitions from the admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from bookings.models import Booking
from notifications.models import Notification
from offers.models import Offer
from tests.admin.helpers import (
    admin_entries,
    audit_actions,
    change_url,
    changelist,
    make_offer,
    messages_of,
    run_action,
    transition_url,
)

pytestmark = pytest.mark.django_db
S = Offer.Status


def _status(offer: Offer) -> str:
    offer.refresh_from_db()
    return offer.status


def test_send_action_sends_and_emails_the_client(staff_client: Any, broker: Any) -> None:
    offer = make_offer("draft", broker=broker)
    response = run_action(staff_client, Offer, "send", [offer])
    assert _status(offer) == S.SENT
    [entry] = admin_entries(offer, "sent")
    assert Notification.objects.get(audit_entry=entry).recipient == broker.email
    assert f"Sent: {offer.reference}." in messages_of(response)


def test_sending_a_draft_without_lines_is_reported_and_changes_nothing(staff_client: Any) -> None:
    offer = make_offer("draft", lines=0)
    response = staff_client.post(transition_url(offer, "send"), follow=True)
    assert messages_of(response) == [
        f"{offer.reference}: Add at least one line before sending the offer."
    ]
    assert _status(offer) == S.DRAFT
    assert audit_actions(offer) == ["created"]


def test_accept_for_the_client_creates_the_booking(staff_client: Any) -> None:
    offer = make_offer("sent")
    page = staff_client.get(transition_url(offer, "accept"))
    # Who travels, prefilled with the offer's customer.
    assert page.status_code == 200
    assert page.context["form"].initial["lead_name"] == offer.customer_name
    response = staff_client.post(
        transition_url(offer, "accept"),
        {"_transition_apply": "1", "lead_name": "Emily Carter", "lead_email": ""},
    )
    assert response.status_code == 302
    assert _status(offer) == S.ACCEPTED
    booking = offer.booking
    assert booking.status == Booking.Status.PENDING_APPROVAL
    assert booking.items.count() == offer.lines.count()
    assert len(admin_entries(offer, "accepted")) == 1
    html = staff_client.get(change_url(offer)).content.decode()
    assert change_url(booking) in html


def test_accepting_an_expired_offer_is_reported_and_makes_no_booking(staff_client: Any) -> None:
    offer = make_offer("sent")
    Offer.objects.filter(pk=offer.pk).update(valid_until=timezone.now() - timedelta(days=1))
    # The action asks who travels first (left empty: the offer's customer).
    response = run_action(staff_client, Offer, "accept", [offer], _transition_apply="1")
    [message] = messages_of(response)
    assert message.startswith(f"{offer.reference}: Offer {offer.reference} expired on")
    assert _status(offer) == S.SENT
    assert not Booking.objects.exists()


def test_decline_records_the_optional_reason(staff_client: Any) -> None:
    offer = make_offer("sent")
    staff_client.post(
        transition_url(offer, "decline"), {"reason": "Too pricey", "_transition_apply": "1"}
    )
    assert _status(offer) == S.DECLINED
    assert offer.decline_reason == "Too pricey"
    assert len(admin_entries(offer, "declined")) == 1


def test_withdraw_action_withdraws_drafts_and_sent_offers_only(staff_client: Any) -> None:
    draft, sent, declined = make_offer("draft"), make_offer("sent"), make_offer("declined")
    run_action(staff_client, Offer, "withdraw", [draft, sent, declined])  # the page
    response = run_action(
        staff_client,
        Offer,
        "withdraw",
        [draft, sent, declined],
        reason="Prices changed",
        _transition_apply="1",
    )
    assert (_status(draft), _status(sent), _status(declined)) == (
        S.WITHDRAWN,
        S.WITHDRAWN,
        S.DECLINED,
    )
    assert f"{declined.reference}: Cannot withdraw: offer {declined.reference} is declined." in (
        messages_of(response)
    )
    assert Notification.objects.filter(kind="offer_withdrawn").count() == 1  # only the sent one


def test_buttons_follow_the_offer_status(staff_client: Any) -> None:
    names = {
        status: [
            b["name"]
            for b in staff_client.get(change_url(make_offer(status))).context["transition_buttons"]
        ]
        for status in ("draft", "sent", "accepted")
    }
    assert names == {
        "draft": ["send", "withdraw"],
        "sent": ["accept", "decline", "withdraw"],
        "accepted": [],
    }


def test_partner_manager_sees_offers_but_cannot_send(login: Any, partner_manager: Any) -> None:
    offer = make_offer("draft")
    client = login(partner_manager)
    assert client.get(changelist(Offer)).status_code == 200
    assert client.post(transition_url(offer, "send")).status_code == 403
    assert _status(offer) == S.DRAFT

"""Booking transitions from the admin: actions, buttons, errors and permissions."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission

from bookings.models import Booking
from notifications.models import Notification
from tests.admin.helpers import (
    admin_entries,
    audit_actions,
    change_url,
    changelist,
    make_booking,
    messages_of,
    run_action,
    transition_url,
)

pytestmark = pytest.mark.django_db
S = Booking.Status


def _status(booking: Booking) -> str:
    booking.refresh_from_db()
    return booking.status


def test_submit_action_submits_each_draft_and_writes_the_audit_entry(
    staff_client: Any, superuser: Any
) -> None:
    drafts = [make_booking("draft"), make_booking("draft")]
    response = run_action(staff_client, Booking, "submit", drafts)
    assert response.status_code == 200
    for booking in drafts:
        assert _status(booking) == S.PENDING_APPROVAL
        [entry] = admin_entries(booking, "submitted")
        assert entry.actor == superuser
        assert (entry.from_status, entry.to_status) == (S.DRAFT, S.PENDING_APPROVAL)
    assert any(m.startswith("Submitted for approval: ") for m in messages_of(response))


def test_bulk_action_reports_each_refusal_and_still_does_the_others(staff_client: Any) -> None:
    draft = make_booking("draft")
    approved = make_booking("approved")
    response = run_action(staff_client, Booking, "submit", [draft, approved])
    assert _status(draft) == S.PENDING_APPROVAL
    assert _status(approved) == S.APPROVED
    msgs = messages_of(response)
    ref = approved.reference
    assert f"{ref}: Cannot submit for approval: booking {ref} is approved." in msgs
    assert f"Submitted for approval: {draft.reference}." in msgs
    assert audit_actions(approved)[-1] == "approved"


def test_approve_action_approves_and_tells_the_customer(
    login: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    booking = make_booking("pending_approval")
    client = login(approver)
    response = run_action(client, Booking, "approve", [booking])
    assert _status(booking) == S.APPROVED
    [entry] = admin_entries(booking, "approved")
    assert entry.actor == approver
    assert Notification.objects.filter(kind="booking_approved", audit_entry=entry).exists()
    assert f"Approved: {booking.reference}." in messages_of(response)


def test_approving_a_draft_is_reported_and_changes_nothing(staff_client: Any) -> None:
    booking = make_booking("draft")
    before = audit_actions(booking)
    response = run_action(staff_client, Booking, "approve", [booking])
    assert response.status_code == 200
    assert _status(booking) == S.DRAFT
    assert audit_actions(booking) == before
    assert messages_of(response) == [
        f"{booking.reference}: Cannot approve: booking {booking.reference} is draft."
    ]


def test_approve_button_posts_and_returns_to_the_booking(staff_client: Any) -> None:
    booking = make_booking("pending_approval")
    page = staff_client.get(change_url(booking))
    buttons = {b["name"]: b for b in page.context["transition_buttons"]}
    assert set(buttons) == {"approve", "cancel"}
    assert buttons["approve"]["direct"] and not buttons["cancel"]["direct"]
    response = staff_client.post(buttons["approve"]["url"])
    assert response.status_code == 302
    assert response["Location"] == change_url(booking)
    assert _status(booking) == S.APPROVED
    assert len(admin_entries(booking, "approved")) == 1


def test_button_for_an_illegal_transition_reports_and_changes_nothing(staff_client: Any) -> None:
    booking = make_booking("draft")
    response = staff_client.post(transition_url(booking, "complete"), follow=True)
    assert response.status_code == 200
    assert messages_of(response) == [
        f"{booking.reference}: Cannot complete: booking {booking.reference} is draft."
    ]
    assert _status(booking) == S.DRAFT
    assert audit_actions(booking) == ["created", "item_added"]


def test_submit_without_items_explains_why(staff_client: Any) -> None:
    booking = make_booking("draft", items=0)
    response = staff_client.post(transition_url(booking, "submit"), follow=True)
    assert messages_of(response) == [
        f"{booking.reference}: Add at least one item before submitting the booking."
    ]
    assert _status(booking) == S.DRAFT


def test_cancel_asks_for_a_reason_then_cancels(staff_client: Any, vendor: Any) -> None:
    booking = make_booking("approved", vendor=vendor)
    page = staff_client.get(transition_url(booking, "cancel"))
    assert page.status_code == 200
    assert "reason" in page.context["form"].fields
    refused = staff_client.post(transition_url(booking, "cancel"), {"_transition_apply": "1"})
    assert refused.status_code == 200
    assert refused.context["form"].errors == {"reason": ["This field is required."]}
    assert _status(booking) == S.APPROVED
    done = staff_client.post(
        transition_url(booking, "cancel"), {"reason": "Client postponed", "_transition_apply": "1"}
    )
    assert done.status_code == 302
    assert _status(booking) == S.CANCELLED
    [entry] = admin_entries(booking, "cancelled")
    assert entry.data["reason"] == "Client postponed"
    assert Notification.objects.filter(kind="booking_cancelled_vendor", audit_entry=entry).exists()


def test_cancel_action_uses_an_intermediate_page_for_the_reason(staff_client: Any) -> None:
    bookings = [make_booking("draft"), make_booking("pending_approval")]
    page = run_action(staff_client, Booking, "cancel", bookings)
    assert page.status_code == 200
    assert page.templates[0].name == "admin/transition_form.html"
    assert {b.pk for b, _ in page.context["objects"]} == {b.pk for b in bookings}
    assert all(_status(b) != S.CANCELLED for b in bookings)
    done = run_action(
        staff_client, Booking, "cancel", bookings, reason="Duplicate", _transition_apply="1"
    )
    assert all(_status(b) == S.CANCELLED for b in bookings)
    assert all(admin_entries(b, "cancelled")[0].data["reason"] == "Duplicate" for b in bookings)
    assert done.redirect_chain[-1][0].startswith(changelist(Booking))


def test_complete_marks_a_confirmed_booking_completed(staff_client: Any, vendor: Any) -> None:
    booking = make_booking("confirmed", vendor=vendor)
    buttons = staff_client.get(change_url(booking)).context["transition_buttons"]
    # "invoice": billing's, while something sold is not invoiced yet.
    assert [b["name"] for b in buttons] == ["cancel", "complete", "invoice"]
    staff_client.post(transition_url(booking, "complete"))
    assert _status(booking) == S.COMPLETED
    assert len(admin_entries(booking, "completed")) == 1


def test_closed_booking_offers_no_transitions(staff_client: Any, vendor: Any) -> None:
    booking = make_booking("completed", vendor=vendor)
    booking.items.update(unit_price=0)  # nothing left to invoice either
    response = staff_client.get(change_url(booking))
    assert response.context["transition_buttons"] == []


# --- roles ------------------------------------------------------------------------


def test_agent_is_not_offered_approve(login: Any, agent: Any) -> None:
    booking = make_booking("pending_approval")
    client = login(agent)
    listing = client.get(changelist(Booking))
    actions = [name for name, _ in listing.context["action_form"].fields["action"].choices]
    assert "transition_submit" in actions
    assert "transition_approve" not in actions
    buttons = client.get(change_url(booking)).context["transition_buttons"]
    assert "approve" not in [b["name"] for b in buttons]


def test_agent_forged_approve_action_changes_nothing(login: Any, agent: Any) -> None:
    booking = make_booking("pending_approval")
    response = run_action(login(agent), Booking, "approve", [booking])
    assert response.status_code == 200
    assert messages_of(response) == ["No action selected."]
    assert _status(booking) == S.PENDING_APPROVAL
    assert "approved" not in audit_actions(booking)


def test_agent_forged_approve_button_is_forbidden(login: Any, agent: Any) -> None:
    booking = make_booking("pending_approval")
    response = login(agent).post(transition_url(booking, "approve"))
    assert response.status_code == 403
    assert _status(booking) == S.PENDING_APPROVAL
    assert "approved" not in audit_actions(booking)


def test_approver_is_offered_approve(login: Any, approver: Any) -> None:
    booking = make_booking("pending_approval")
    client = login(approver)
    listing = client.get(changelist(Booking))
    actions = [name for name, _ in listing.context["action_form"].fields["action"].choices]
    assert "transition_approve" in actions
    buttons = client.get(change_url(booking)).context["transition_buttons"]
    assert "approve" in [b["name"] for b in buttons]


def test_view_only_staff_get_no_buttons_and_cannot_post(login: Any, django_user_model: Any) -> None:
    user = django_user_model.objects.create_user("viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_booking"))
    booking = make_booking("pending_approval")
    response = login(user).get(change_url(booking))
    assert response.context["transition_buttons"] == []
    assert login(user).post(transition_url(booking, "submit")).status_code == 403


def test_booking_cannot_be_deleted(staff_client: Any) -> None:
    booking = make_booking("draft")
    response = staff_client.post(change_url(booking).replace("change", "delete"), {"post": "yes"})
    assert response.status_code == 403
    assert Booking.objects.filter(pk=booking.pk).exists()
    listing = staff_client.get(changelist(Booking))
    actions = [name for name, _ in listing.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions


def test_unknown_transition_and_unknown_booking_are_404(staff_client: Any) -> None:
    booking = make_booking("draft")
    assert staff_client.get(transition_url(booking, "explode")).status_code == 404
    missing = Booking(pk=booking.pk + 1000)
    assert staff_client.post(transition_url(missing, "submit")).status_code == 404


def test_next_to_another_host_is_ignored(staff_client: Any) -> None:
    booking = make_booking("draft")
    response = staff_client.post(
        transition_url(booking, "submit"), {"next": "https://evil.example/phish"}
    )
    assert response["Location"] == change_url(booking)

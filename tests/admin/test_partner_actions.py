"""Vendors, brokers, invitations and API keys from the admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from notifications.models import Notification
from partners.models import ApiKey, Broker, Invitation, Vendor
from partners.services import hash_token
from tests import factories
from tests.admin.helpers import (
    admin_entries,
    audit_actions,
    change_url,
    changelist,
    form_post_data,
    messages_of,
    run_action,
    transition_url,
)

pytestmark = pytest.mark.django_db


def test_add_vendor_and_send_the_invitation_now(staff_client: Any, superuser: Any) -> None:
    data = form_post_data(staff_client.get(reverse("admin:partners_vendor_add")))
    assert data["send_invitation"] == "on"  # offered, ticked by default
    data.update(
        {
            "name": "Lisbon Bikes",
            "email": "hello@lisbonbikes.example",
            "phone": "+351910000999",
            "service_types": ["activity"],
            "notify_by": ["email", "whatsapp"],
        }
    )
    response = staff_client.post(reverse("admin:partners_vendor_add"), data, follow=True)
    assert response.status_code == 200
    vendor = Vendor.objects.get(name="Lisbon Bikes")
    assert (vendor.service_types, vendor.notify_by) == (["activity"], ["email", "whatsapp"])
    assert audit_actions(vendor) == ["created", "invited"]
    assert admin_entries(vendor, "created")[0].actor == superuser
    invitation = vendor.invitations.get()
    assert invitation.email == "hello@lisbonbikes.example"
    assert Notification.objects.filter(kind="partner_invited", recipient=invitation.email).exists()
    assert "Invitation sent to hello@lisbonbikes.example." in messages_of(response)


def test_add_broker_without_invitation(staff_client: Any) -> None:
    data = form_post_data(staff_client.get(reverse("admin:partners_broker_add")))
    data.pop("send_invitation")
    data.update({"name": "Fjord Tours", "email": "b@fjord.example", "commission_rate": "7.5"})
    assert staff_client.post(reverse("admin:partners_broker_add"), data).status_code == 302
    broker = Broker.objects.get(name="Fjord Tours")
    assert audit_actions(broker) == ["created"]
    assert not Invitation.objects.exists()


def test_duplicate_vendor_name_is_a_form_error(staff_client: Any, vendor: Any) -> None:
    data = form_post_data(staff_client.get(reverse("admin:partners_vendor_add")))
    data.update({"name": vendor.name.upper(), "email": "x@example.com", "notify_by": ["email"]})
    response = staff_client.post(reverse("admin:partners_vendor_add"), data)
    assert response.status_code == 200
    assert response.context["errors"]
    assert Vendor.objects.count() == 1


def test_whatsapp_without_phone_is_a_form_error(staff_client: Any) -> None:
    data = form_post_data(staff_client.get(reverse("admin:partners_vendor_add")))
    data.update(
        {
            "name": "Quiet Vendor",
            "email": "q@example.com",
            "notify_by": ["whatsapp"],
            "service_types": ["transfer"],
        }
    )
    response = staff_client.post(reverse("admin:partners_vendor_add"), data)
    assert response.context["adminform"].form.errors["phone"] == [
        "Add a phone number to be told on WhatsApp."
    ]
    assert not Vendor.objects.exists()


def test_change_vendor_updates_through_the_service(staff_client: Any, vendor: Any) -> None:
    data = form_post_data(staff_client.get(change_url(vendor)))
    data["service_types"] = ["venue"]
    assert staff_client.post(change_url(vendor), data).status_code == 302
    vendor.refresh_from_db()
    assert vendor.service_types == ["venue"]
    assert admin_entries(vendor, "updated")[0].data["changed"] == {"service_types": "['venue']"}


def test_invite_and_reinvite_replace_the_open_link(staff_client: Any, vendor: Any) -> None:
    staff_client.post(transition_url(vendor, "invite"), {"_transition_apply": "1"})
    first = Invitation.objects.get()
    assert first.email == vendor.email
    response = staff_client.post(
        transition_url(vendor, "invite"), {"_transition_apply": "1"}, follow=True
    )
    assert f"Invitation sent: {vendor.name}." in messages_of(response)
    first.refresh_from_db()
    assert first.state == "replaced"
    assert audit_actions(vendor) == ["invited", "reinvited"]
    assert Notification.objects.filter(kind="partner_invited").count() == 2


def test_invite_action_to_another_address(staff_client: Any, broker: Any) -> None:
    run_action(
        staff_client,
        Broker,
        "invite",
        [broker],
        email="new.agent@example.com",
        _transition_apply="1",
    )
    assert broker.invitations.get().email == "new.agent@example.com"


def test_inviting_an_inactive_partner_is_reported(staff_client: Any) -> None:
    closed = factories.VendorFactory(is_active=False)
    response = run_action(staff_client, Vendor, "invite", [closed], _transition_apply="1")
    assert messages_of(response) == [
        f"{closed.name}: {closed.name} is inactive; activate it before inviting."
    ]
    assert not Invitation.objects.exists()


def test_deactivate_then_activate(staff_client: Any, vendor: Any) -> None:
    buttons = staff_client.get(change_url(vendor)).context["transition_buttons"]
    assert [b["name"] for b in buttons] == ["invite", "deactivate"]
    assert not buttons[1]["direct"]  # a confirmation page first
    staff_client.post(transition_url(vendor, "deactivate"), {"_transition_apply": "1"})
    vendor.refresh_from_db()
    assert not vendor.is_active and vendor.deactivated_at is not None
    response = run_action(staff_client, Vendor, "deactivate", [vendor])
    assert messages_of(response)[-1] == f"{vendor.name}: {vendor.name} is already inactive."
    run_action(staff_client, Vendor, "activate", [vendor])
    vendor.refresh_from_db()
    assert vendor.is_active
    assert audit_actions(vendor) == ["deactivated", "activated"]


def test_partners_cannot_be_deleted(staff_client: Any, vendor: Any) -> None:
    response = staff_client.post(
        change_url(vendor).replace("/change/", "/delete/"), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Vendor.objects.filter(pk=vendor.pk).exists()


def test_agent_cannot_change_or_invite_partners(login: Any, agent: Any, vendor: Any) -> None:
    client = login(agent)
    page = client.get(change_url(vendor))
    assert page.status_code == 200 and page.context["transition_buttons"] == []
    assert (
        client.post(transition_url(vendor, "invite"), {"_transition_apply": "1"}).status_code == 403
    )
    assert not Invitation.objects.exists()


def test_partner_manager_invites(login: Any, partner_manager: Any, broker: Any) -> None:
    login(partner_manager).post(transition_url(broker, "invite"), {"_transition_apply": "1"})
    assert admin_entries(broker, "invited")[0].actor == partner_manager


def test_invitation_list_shows_state_and_sends_again(staff_client: Any, vendor: Any) -> None:
    staff_client.post(transition_url(vendor, "invite"), {"_transition_apply": "1"})
    invitation = Invitation.objects.get()
    listing = staff_client.get(changelist(Invitation))
    assert "Open" in listing.content.decode()
    assert staff_client.get(reverse("admin:partners_invitation_add")).status_code == 403
    run_action(staff_client, Invitation, "resend", [invitation])
    invitation.refresh_from_db()
    assert invitation.state == "replaced"
    assert Invitation.objects.filter(revoked_at__isnull=True).get().email == vendor.email


def test_api_key_is_made_by_the_service_and_shown_once(staff_client: Any, broker: Any) -> None:
    data = form_post_data(staff_client.get(reverse("admin:partners_apikey_add")))
    data.update({"name": "Booking sync", "broker": str(broker.pk)})
    response = staff_client.post(reverse("admin:partners_apikey_add"), data, follow=True)
    key = ApiKey.objects.get()
    [shown] = [m for m in messages_of(response) if "shown only once" in m]
    raw = shown.rsplit(" ", 1)[-1]
    assert hash_token(raw) == key.key_hash and raw.startswith(f"bk_{key.prefix}_")
    assert key.broker == broker and key.name == "Booking sync"
    assert admin_entries(key, "created")
    page = staff_client.get(change_url(key)).content.decode()
    assert raw not in page and key.key_hash not in page


def test_api_key_needs_exactly_one_owner(staff_client: Any, broker: Any, vendor: Any) -> None:
    data = form_post_data(staff_client.get(reverse("admin:partners_apikey_add")))
    data.update({"broker": str(broker.pk), "vendor": str(vendor.pk)})
    response = staff_client.post(reverse("admin:partners_apikey_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "Choose exactly one owner: a staff user, a vendor or a broker."
    ]
    assert not ApiKey.objects.exists()


def test_api_key_for_a_non_staff_user_is_refused(staff_client: Any, vendor_user: Any) -> None:
    data = form_post_data(staff_client.get(reverse("admin:partners_apikey_add")))
    data["user"] = str(vendor_user.pk)
    response = staff_client.post(reverse("admin:partners_apikey_add"), data)
    assert "user" in response.context["adminform"].form.errors
    assert not ApiKey.objects.exists()


def test_revoke_api_key(staff_client: Any, superuser: Any) -> None:
    data = form_post_data(staff_client.get(reverse("admin:partners_apikey_add")))
    data["user"] = str(superuser.pk)
    staff_client.post(reverse("admin:partners_apikey_add"), data)
    key = ApiKey.objects.get()
    page = staff_client.get(change_url(key))
    assert [b["name"] for b in page.context["transition_buttons"]] == ["revoke"]
    staff_client.post(transition_url(key, "revoke"), {"_transition_apply": "1"})
    key.refresh_from_db()
    assert key.revoked_at is not None
    response = run_action(staff_client, ApiKey, "revoke", [key])
    assert messages_of(response)[-1] == f"{key}: This API key is already revoked."
    assert audit_actions(key) == ["created", "revoked"]

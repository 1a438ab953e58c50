"""Partner create / update / deactivate, invitations and API keys at the service level."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from bookings.selectors import booking_get_for_broker, item_get_for_vendor
from core.domain import Actor, InvalidTransition, NotPermitted
from core.models import AuditEntry
from notifications.models import Notification
from notifications.sealed import unseal
from partners import services
from partners.models import ApiKey, Invitation, PortalAccount, Vendor
from partners.selectors import actor_for_user, portal_account_for_user
from tests import factories

pytestmark = pytest.mark.django_db


def test_partner_manager_creates_and_updates_a_vendor(partner_manager: Any) -> None:
    actor = Actor(user=partner_manager, via="admin")
    vendor = services.vendor_create(
        actor=actor,
        name="Cascais Bikes",
        email="hi@bikes.example",
        phone="+351912345678",
        service_types=["activity"],
        notify_by=["whatsapp"],
    )
    services.partner_update(partner=vendor, actor=actor, notify_by=["email", "whatsapp"])
    vendor.refresh_from_db()
    assert vendor.notify_by == ["email", "whatsapp"]
    actions = list(AuditEntry.objects.filter(object_id=vendor.pk).values_list("action", flat=True))
    assert sorted(actions) == ["created", "updated"]


def test_agents_cannot_create_vendors(agent: Any) -> None:
    with pytest.raises(NotPermitted):
        services.vendor_create(
            actor=Actor(user=agent, via="admin"), name="X", email="x@example.com"
        )
    assert not Vendor.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("service_types", ["spa"]),
        ("notify_by", []),
        ("notify_by", ["pigeon"]),
        ("phone", "912345678"),
        ("email", "not-an-email"),
    ],
)
def test_vendor_fields_are_validated(field: str, value: Any) -> None:
    data = {"name": "Bad", "email": "bad@example.com", "service_types": ["transfer"]}
    data[field] = value
    with pytest.raises(ValidationError) as excinfo:
        services.vendor_create(actor=Actor(), **data)
    assert field in excinfo.value.message_dict
    assert not Vendor.objects.exists()


def test_vendor_names_are_unique_regardless_of_case(vendor: Any) -> None:
    with pytest.raises(ValidationError):
        services.vendor_create(actor=Actor(), name=vendor.name.upper(), email="x@example.com")


def test_deactivate_and_activate(vendor: Any) -> None:
    services.partner_deactivate(partner=vendor, actor=Actor())
    vendor.refresh_from_db()
    assert not vendor.is_active and vendor.deactivated_at
    with pytest.raises(InvalidTransition):
        services.partner_deactivate(partner=vendor, actor=Actor())
    services.partner_activate(partner=vendor, actor=Actor())
    vendor.refresh_from_db()
    assert vendor.is_active and vendor.deactivated_at is None


def test_inactive_partner_loses_portal_access(vendor_user: Any, vendor: Any) -> None:
    assert portal_account_for_user(user=vendor_user).vendor == vendor
    assert actor_for_user(user=vendor_user, via="portal").vendor == vendor
    services.partner_deactivate(partner=vendor, actor=Actor())
    assert portal_account_for_user(user=vendor_user) is None


def test_invite_stores_only_a_hash_and_emails_the_link(broker: Any) -> None:
    invitation, token = services.partner_invite(partner=broker, actor=Actor())
    assert token not in invitation.token_hash and len(invitation.token_hash) == 64
    assert invitation.expires_at - timezone.now() > timedelta(days=6, hours=23)
    note = Notification.objects.get(kind="partner_invited")
    assert note.recipient == broker.email
    # The link is sealed until the worker sends it (tests/notifications/test_sealed_links.py).
    assert token not in note.body_text and "[link hidden]" in note.body_text
    assert unseal(note.sealed)["link"] == f"http://testserver/portal/invite/{token}/"


def test_reinvite_replaces_the_old_token(vendor: Any) -> None:
    first, old_token = services.partner_invite(partner=vendor, actor=Actor())
    second, new_token = services.partner_invite(partner=vendor, actor=Actor())
    first.refresh_from_db()
    assert first.revoked_at is not None and second.revoked_at is None
    with pytest.raises(services.InvitationInvalid) as excinfo:
        services.invitation_get_open(token=old_token)
    assert excinfo.value.code == "invitation_replaced"
    assert services.invitation_get_open(token=new_token) == second
    assert AuditEntry.objects.filter(action="reinvited").count() == 1


def test_invitation_accept_creates_the_user_once(vendor: Any) -> None:
    _, token = services.partner_invite(partner=vendor, actor=Actor(), email="Maria@Example.com")
    user = services.invitation_accept(
        token=token, password="a-long-Passphrase-42", first_name="Maria", last_name="Silva"
    )
    assert user.check_password("a-long-Passphrase-42") and user.email == "Maria@Example.com"
    assert PortalAccount.objects.get(user=user).vendor == vendor
    with pytest.raises(services.InvitationInvalid) as excinfo:
        services.invitation_accept(token=token, password="a-long-Passphrase-42")
    assert excinfo.value.code == "invitation_used"


def test_invitation_accept_links_an_existing_account(broker: Any) -> None:
    existing = factories.UserFactory(email="lee@example.com")
    _, token = services.partner_invite(partner=broker, actor=Actor(), email="lee@example.com")
    with pytest.raises(NotPermitted):
        services.invitation_accept(token=token, password="wrong password")
    user = services.invitation_accept(token=token, password="correct horse battery staple")
    assert user.pk == existing.pk
    assert PortalAccount.objects.get(user=existing).broker == broker
    assert Invitation.objects.get().accepted_by == existing


def test_expired_and_unknown_tokens_are_refused(vendor: Any) -> None:
    invitation, token = services.partner_invite(partner=vendor, actor=Actor())
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    for bad, code in ((token, "invitation_expired"), ("nope", "invitation_unknown")):
        with pytest.raises(services.InvitationInvalid) as excinfo:
            services.invitation_accept(token=bad, password="a-long-Passphrase-42")
        assert excinfo.value.code == code
    assert not PortalAccount.objects.exists()


def test_api_keys_are_stored_hashed_and_revocable(broker: Any) -> None:
    key, raw = services.api_key_create(actor=Actor(), broker=broker, name="booking engine")
    assert raw.startswith(f"bk_{key.prefix}_") and raw not in key.key_hash
    assert key.key_hash == services.hash_token(raw)
    services.api_key_revoke(key=key, actor=Actor())
    key.refresh_from_db()
    assert not key.is_active
    with pytest.raises(InvalidTransition):
        services.api_key_revoke(key=key, actor=Actor())
    with pytest.raises(Exception, match="exactly one"):
        services.api_key_create(actor=Actor(), broker=broker, vendor=factories.VendorFactory())
    assert ApiKey.objects.count() == 1


def test_selectors_hide_other_partners_objects(
    broker: Any, other_broker: Any, vendor: Any, other_vendor: Any
) -> None:
    mine = factories.BookingFactory(broker=broker)
    theirs = factories.BookingFactory(broker=other_broker)
    assert booking_get_for_broker(broker=broker, reference=mine.reference) == mine
    with pytest.raises(Http404):
        booking_get_for_broker(broker=broker, reference=theirs.reference)
    item = factories.BookingItemFactory(vendor=other_vendor, vendor_status="pending")
    with pytest.raises(Http404):
        item_get_for_vendor(vendor=vendor, pk=item.pk)
    assert item_get_for_vendor(vendor=other_vendor, pk=item.pk) == item

"""The invitation lifecycle seen from the acceptance page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.domain import Actor
from partners import services
from partners.models import Invitation, PortalAccount
from tests import factories

PASSWORD = "a-long-Passphrase-42"
User = get_user_model()


def invite(partner: Any, email: str = "maria@example.com") -> tuple[Invitation, str]:
    return services.partner_invite(partner=partner, actor=Actor(), email=email)


def accept_url(token: str) -> str:
    return reverse("portal:invite-accept", args=[token])


def new_person(**extra: str) -> dict[str, str]:
    return {
        "first_name": "Maria",
        "last_name": "Santos",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **extra,
    }


def test_page_names_the_partner_and_asks_for_name_and_password(client: Client, vendor: Any) -> None:
    _, token = invite(vendor)
    response = client.get(accept_url(token))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Join {vendor.name}" in html
    assert "maria@example.com" in html
    for field in ("first_name", "last_name", "password1", "password2"):
        assert f'name="{field}"' in html
    assert response["Cache-Control"].startswith("max-age=0")


def test_accepting_creates_the_user_logs_in_and_lands_on_the_dashboard(
    client: Client, vendor: Any
) -> None:
    invitation, token = invite(vendor, "Maria@Example.com")
    response = client.post(accept_url(token), new_person(), follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:dashboard")
    assert "Welcome to the" in response.content.decode()
    user = User.objects.get(email="Maria@Example.com")
    assert user.first_name == "Maria" and user.last_name == "Santos"
    assert user.check_password(PASSWORD)
    assert user.portal_account.vendor == vendor
    assert response.context["user"] == user
    invitation.refresh_from_db()
    assert invitation.accepted_by == user


def test_broker_invitation_lands_on_the_broker_dashboard(client: Client, broker: Any) -> None:
    _, token = invite(broker)
    response = client.post(accept_url(token), new_person(), follow=True)
    html = response.content.decode()
    assert "Offers awaiting your answer" in html
    assert User.objects.get(email="maria@example.com").portal_account.broker == broker


def test_a_used_link_says_so_and_changes_nothing(client: Client, vendor: Any) -> None:
    _, token = invite(vendor)
    client.post(accept_url(token), new_person())
    client.logout()
    users = User.objects.count()

    page = client.get(accept_url(token))
    assert page.status_code == 410
    assert "already been used" in page.content.decode()
    assert reverse("password_reset") in page.content.decode()

    again = client.post(accept_url(token), new_person(password1="x", password2="x"))
    assert again.status_code == 410
    assert User.objects.count() == users
    assert "_auth_user_id" not in client.session


def test_an_expired_link_says_what_to_do(client: Client, vendor: Any) -> None:
    invitation, token = invite(vendor)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    response = client.post(accept_url(token), new_person())
    html = response.content.decode()
    assert response.status_code == 410
    assert "This invitation has expired." in html
    assert "Ask your contact at our office to send you a new one." in html
    assert not User.objects.filter(email="maria@example.com").exists()


def test_a_replaced_link_points_to_the_newest_email(client: Client, vendor: Any) -> None:
    _, old = invite(vendor)
    _, new = invite(vendor)
    response = client.get(accept_url(old))
    assert response.status_code == 410
    assert "open the link in the most recent email" in response.content.decode()
    assert client.get(accept_url(new)).status_code == 200


def test_an_unknown_link_is_a_clear_404(client: Client, db: None) -> None:
    response = client.get(accept_url("not-a-real-token"))
    assert response.status_code == 404
    assert "This invitation link is not valid." in response.content.decode()


def test_invitation_of_an_inactive_partner_is_refused(client: Client, vendor: Any) -> None:
    _, token = invite(vendor)
    services.partner_deactivate(partner=vendor, actor=Actor())
    response = client.post(accept_url(token), new_person())
    assert response.status_code == 410
    assert "not active" in response.content.decode()
    assert PortalAccount.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (new_person(password2="different-Passphrase-42"), "password2", "do not match"),
        (new_person(password1="short", password2="short"), "password1", "too short"),
        (new_person(password1="12345678901", password2="12345678901"), "password1", "numeric"),
        (new_person(first_name=""), "first_name", "This field is required."),
    ],
)
def test_bad_input_is_a_form_error_beside_the_field(
    client: Client, vendor: Any, data: dict[str, str], field: str, message: str
) -> None:
    invitation, token = invite(vendor)
    response = client.post(accept_url(token), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="id_{field}_error"' in html and message in html
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert not User.objects.filter(email="maria@example.com").exists()


def test_an_existing_account_is_linked_not_duplicated(client: Client, broker: Any) -> None:
    existing = factories.UserFactory(username="lee", email="lee@example.com", first_name="Lee")
    _, token = invite(broker, "LEE@example.com")
    page = client.get(accept_url(token)).content.decode()
    assert "You already have an account" in page
    assert 'name="first_name"' not in page

    wrong = client.post(accept_url(token), {"password1": "not the password"})
    assert "enter its current password" in wrong.content.decode()
    assert not PortalAccount.objects.filter(user=existing).exists()

    response = client.post(accept_url(token), {"password1": "correct horse battery staple"})
    assert response.status_code == 302
    assert User.objects.filter(email__iexact="lee@example.com").count() == 1
    existing.refresh_from_db()
    assert existing.portal_account.broker == broker
    assert existing.first_name == "Lee"


def test_an_account_of_another_partner_cannot_be_linked(
    client: Client, vendor: Any, other_vendor: Any
) -> None:
    account = factories.PortalAccountFactory(
        vendor=other_vendor, user=factories.UserFactory(email="maria@example.com")
    )
    _, token = invite(vendor)
    response = client.post(accept_url(token), {"password1": "correct horse battery staple"})
    assert "already belongs to another partner" in response.content.decode()
    account.refresh_from_db()
    assert account.vendor == other_vendor


def test_a_staff_account_cannot_join_a_portal(client: Client, vendor: Any) -> None:
    factories.StaffFactory(username="ops", email="maria@example.com")
    _, token = invite(vendor)
    response = client.post(accept_url(token), {"password1": "correct horse battery staple"})
    assert "Staff accounts cannot join" in response.content.decode()
    assert PortalAccount.objects.count() == 0


def test_a_taken_username_does_not_break_the_new_account(client: Client, vendor: Any) -> None:
    factories.UserFactory(username="maria@example.com", email="someone-else@example.com")
    _, token = invite(vendor)
    response = client.post(accept_url(token), new_person())
    assert response.status_code == 302
    user = User.objects.get(email="maria@example.com")
    assert user.username == "maria@example.com-2"


def test_the_invitation_expires_after_seven_days_by_default(vendor: Any) -> None:
    invitation, _ = invite(vendor)
    assert abs(invitation.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    assert len(invitation.token_hash) == 64

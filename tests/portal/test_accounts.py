"""Login, logout, password change and reset, and where people land after logging in."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests import factories

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


def login(client: Client, username: str, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def test_login_page_uses_our_template(client: Client, db: None) -> None:
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "portal/portal.css" in html and "Email or username" in html
    assert reverse("password_reset") in html
    assert "Content-Security-Policy" in response.headers


def test_staff_land_in_the_admin(client: Client, agent: Any) -> None:
    response = login(client, "agent", follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:index")


def test_partners_land_in_the_portal(client: Client, vendor_user: Any) -> None:
    response = login(client, vendor_user.username, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:dashboard")
    assert response.status_code == 200


def test_login_with_the_email_in_any_case(client: Client, vendor: Any) -> None:
    invited = factories.UserFactory(username="maria@example.com", email="Maria@Example.com")
    linked = factories.UserFactory(username="lee", email="Lee@Example.com")
    for user, typed in ((invited, "MARIA@example.com"), (linked, "lee@EXAMPLE.com")):
        factories.PortalAccountFactory(vendor=vendor, user=user)
        response = login(client, typed)
        assert response.status_code == 302, typed
        assert client.session["_auth_user_id"] == str(user.pk)
        client.logout()


def test_login_keeps_the_next_page(client: Client, vendor_user: Any) -> None:
    target = reverse("portal:history")
    response = client.post(
        reverse("login") + f"?next={target}",
        {"username": vendor_user.username, "password": PASSWORD, "next": target},
    )
    assert response["Location"] == target


def test_wrong_password_is_a_form_error(client: Client, vendor_user: Any) -> None:
    response = login(client, vendor_user.username, "wrong")
    assert response.status_code == 200
    assert "Please enter a correct" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_username_from_that_address(
    client: Client, vendor_user: Any
) -> None:
    for _ in range(4):
        assert login(client, vendor_user.username, "wrong").status_code == 200
    fifth = login(client, vendor_user.username, "wrong")
    assert fifth.status_code == 429
    assert "Too many failed attempts. Try again in 15 minute(s)" in fifth.content.decode()
    # Locked: even the right password is refused, without being checked.
    locked = login(client, vendor_user.username)
    assert locked.status_code == 429
    assert "Too many failed attempts. Try again in 15 minute(s)" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # The same person from another address, and others from this one, still get in.
    assert login(Client(REMOTE_ADDR="10.9.9.9"), vendor_user.username).status_code == 302
    other = factories.PortalAccountFactory(vendor=vendor_user.portal_account.vendor).user
    assert login(Client(), other.username).status_code == 302


def test_a_success_resets_the_failure_count(client: Client, vendor_user: Any) -> None:
    for _ in range(4):
        login(client, vendor_user.username, "wrong")
    assert login(client, vendor_user.username).status_code == 302
    client.logout()
    for _ in range(4):
        login(client, vendor_user.username, "wrong")
    assert login(client, vendor_user.username).status_code == 302


def test_the_lock_expires(client: Client, vendor_user: Any, settings: Any) -> None:
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)  # LOGIN_LOCKOUT_SECONDS=1
    for _ in range(5):
        login(client, vendor_user.username, "wrong")
    assert login(client, vendor_user.username).status_code == 429
    time.sleep(1.2)
    assert login(client, vendor_user.username).status_code == 302


def admin_login(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
    )


def test_repeated_failures_lock_the_admin_login_too(client: Client, agent: Any) -> None:
    for _ in range(4):
        refused = admin_login(client, "agent", "wrong")
        assert refused.status_code == 200
        assert "Please enter the correct username and password for a staff" in (
            refused.content.decode()
        )
    assert admin_login(client, "agent", "wrong").status_code == 429
    locked = admin_login(client, "agent")
    assert locked.status_code == 429
    assert "Too many failed attempts. Try again in 15 minute(s)" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # The lock is shared with the portal's login: guessing there or here counts alike.
    assert login(client, "agent").status_code == 429
    # Staff lift a lock at once with `manage.py axes_reset` (or in the admin).
    call_command("axes_reset", stdout=io.StringIO())
    assert admin_login(client, "agent")["Location"] == reverse("admin:index")


def test_admin_login_still_refuses_partners(client: Client, vendor_user: Any) -> None:
    page = admin_login(client, vendor_user.username).content.decode()
    assert "Please enter the correct username and password for a staff" in page
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_and_ends_the_session(client: Client, vendor_user: Any) -> None:
    client.force_login(vendor_user)
    page = client.get(reverse("portal:dashboard")).content.decode()
    assert f'action="{reverse("logout")}"' in page
    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("login")
    assert client.get(reverse("portal:dashboard")).status_code == 302


def test_password_change(client: Client, vendor_user: Any) -> None:
    client.force_login(vendor_user)
    page = client.get(reverse("password_change"))
    assert "Change your password" in page.content.decode()
    weak = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "abc", "new_password2": "abc"},
    )
    assert 'id="id_new_password2_error"' in weak.content.decode()
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "another-Long-pass-99",
            "new_password2": "another-Long-pass-99",
        },
        follow=True,
    )
    assert "Password changed" in response.content.decode()
    vendor_user.refresh_from_db()
    assert vendor_user.check_password("another-Long-pass-99")


def test_password_reset_by_email(
    client: Client, vendor_user: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Sent by the worker through the outbox: here, the task run on commit.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": vendor_user.email}, follow=True)
    assert "Check your email" in response.content.decode()
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [vendor_user.email]
    assert message.subject == "Choose a new password for the booking office portal"
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body)
    assert link is not None

    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "fresh-Passphrase-77", "new_password2": "fresh-Passphrase-77"},
        follow=True,
    )
    assert "Your new password is saved" in done.content.decode()
    vendor_user.refresh_from_db()
    assert vendor_user.check_password("fresh-Passphrase-77")
    # The link works once.
    again = client.get(link.group(1), follow=True)
    assert "This link no longer works" in again.content.decode()


def test_password_reset_does_not_reveal_unknown_emails(
    client: Client, db: None, mailoutbox: Any
) -> None:
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"}, follow=True)
    assert "Check your email" in response.content.decode()
    assert mailoutbox == []


def test_post_without_csrf_token_is_refused(vendor_user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    assert login(client, vendor_user.username).status_code == 403


def test_home_sends_people_where_they_belong(client: Client, agent: Any, broker_user: Any) -> None:
    assert client.get(reverse("home"))["Location"].startswith(reverse("login"))
    client.force_login(agent)
    assert client.get(reverse("home"))["Location"] == reverse("admin:index")
    client.force_login(broker_user)
    assert client.get(reverse("home"))["Location"] == reverse("portal:dashboard")

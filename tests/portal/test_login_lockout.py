"""Failed logins behind a load balancer: keyed on the client's own address, taken from
the header the trusted proxy sets, and never held against the right password typed
from another address (django-axes, username + address)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

PASSWORD = "correct horse battery staple"
BALANCER = "10.0.0.2"
ATTACKER = "203.0.113.5"
OWNER = "198.51.100.7"


@pytest.fixture
def behind_one_proxy(settings: Any) -> None:
    # What TRUSTED_PROXY_COUNT=1 sets (bookings_site/settings.py).
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    settings.AXES_IPWARE_PROXY_COUNT = 0
    settings.AXES_IPWARE_PROXY_ORDER = "left-most"
    settings.IPWARE_STRICT = False


def through_balancer(client_address: str, sent: str = "") -> Client:
    """A client whose request the balancer forwards: it appends the address it saw."""
    forwarded = f"{sent}, {client_address}" if sent else client_address
    return Client(REMOTE_ADDR=BALANCER, HTTP_X_FORWARDED_FOR=forwarded)


def login(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post(reverse("login"), {"username": username, "password": password})


@pytest.fixture
def user(vendor_user: Any) -> Any:
    return vendor_user


def test_failures_from_one_client_do_not_refuse_another_behind_the_balancer(
    behind_one_proxy: None, user: Any
) -> None:
    attacker = through_balancer(ATTACKER)
    for _ in range(6):
        login(attacker, user.username, "wrong")
    assert login(attacker, user.username).status_code == 429
    owner = through_balancer(OWNER)
    response = login(owner, user.username)
    assert response.status_code == 302
    assert owner.session["_auth_user_id"] == str(user.pk)


def test_a_forged_forwarded_header_does_not_escape_the_lock(
    behind_one_proxy: None, user: Any
) -> None:
    for n in range(6):
        login(through_balancer(ATTACKER, sent=f"192.0.2.{n}"), user.username, "wrong")
    # The address the balancer appended is the one counted, whatever came before it.
    assert login(through_balancer(ATTACKER, sent="192.0.2.99"), user.username).status_code == 429
    assert login(through_balancer(OWNER), user.username).status_code == 302


def test_without_a_trusted_proxy_the_header_is_ignored(user: Any) -> None:
    # A client talking to gunicorn directly cannot pick a fresh address per try.
    for n in range(6):
        client = Client(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        login(client, user.username, "wrong")
    client = Client(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert login(client, user.username).status_code == 429
    assert login(Client(REMOTE_ADDR=OWNER), user.username).status_code == 302


def test_trusted_proxy_count_from_the_environment() -> None:
    code = (
        "from django.conf import settings as s; "
        "print(s.AXES_IPWARE_META_PRECEDENCE_ORDER, s.AXES_IPWARE_PROXY_COUNT, s.IPWARE_STRICT)"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={
            "DJANGO_SETTINGS_MODULE": "bookings_site.settings",
            "SECRET_KEY": "x" * 50,
            "TRUSTED_PROXY_COUNT": "2",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip().splitlines()[-1] == "('HTTP_X_FORWARDED_FOR', 'REMOTE_ADDR') 1 False"

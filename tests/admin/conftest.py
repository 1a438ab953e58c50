"""Fixtures for the back-office admin tests."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client


@pytest.fixture(scope="module")
def demo_data(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """``seed_demo`` once per module, rolled back when the module is done.

    Each test still runs in its own savepoint inside this transaction, so what a test
    changes is undone and the other test folders never see the demo rows.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", force=True, stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def staff_client(client: Client, superuser: Any) -> Client:
    client.force_login(superuser)
    return client


@pytest.fixture
def login(client: Client) -> Any:
    def as_user(user: Any) -> Client:
        client.force_login(user)
        return client

    return as_user

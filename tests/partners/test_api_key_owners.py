"""Who may make an API key for whom: a key never carries permissions its creator lacks."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from core.domain import Actor, NotPermitted, ValidationFailed
from partners.models import ApiKey
from partners.roles import PARTNER_MANAGERS
from partners.services import api_key_create
from tests import factories
from tests.admin.helpers import form_post_data

pytestmark = pytest.mark.django_db


def test_partner_manager_cannot_mint_a_superusers_key(partner_manager: Any, superuser: Any) -> None:
    with pytest.raises(NotPermitted, match="only a superuser"):
        api_key_create(actor=Actor(user=partner_manager, via="admin"), user=superuser)
    assert not ApiKey.objects.exists()


def test_partner_manager_cannot_mint_another_staff_users_key(
    partner_manager: Any, approver: Any
) -> None:
    with pytest.raises(NotPermitted):
        api_key_create(actor=Actor(user=partner_manager, via="admin"), user=approver)
    other_manager = factories.StaffFactory(username="other", groups=[PARTNER_MANAGERS])
    with pytest.raises(NotPermitted):
        api_key_create(actor=Actor(user=partner_manager, via="admin"), user=other_manager)
    assert not ApiKey.objects.exists()


def test_staff_make_keys_for_themselves_and_partners(partner_manager: Any, broker: Any) -> None:
    actor = Actor(user=partner_manager, via="admin")
    own, _ = api_key_create(actor=actor, user=partner_manager)
    partner, _ = api_key_create(actor=actor, broker=broker)
    assert own.user == partner_manager and partner.broker == broker


def test_superuser_makes_a_key_for_another_staff_user(superuser: Any, approver: Any) -> None:
    key, _ = api_key_create(actor=Actor(user=superuser, via="admin"), user=approver)
    assert key.user == approver


@pytest.mark.parametrize("who", ["portal user", "inactive staff"])
def test_keys_only_for_active_staff_users(superuser: Any, vendor_user: Any, who: str) -> None:
    user = vendor_user if who == "portal user" else factories.StaffFactory(is_active=False)
    with pytest.raises(ValidationFailed) as refused:
        api_key_create(actor=Actor(user=superuser, via="admin"), user=user)
    assert refused.value.field == "user"


def test_no_key_for_an_inactive_partner(superuser: Any) -> None:
    broker = factories.BrokerFactory(is_active=False)
    with pytest.raises(ValidationFailed, match="inactive"):
        api_key_create(actor=Actor(user=superuser, via="admin"), broker=broker)


def test_admin_form_shows_the_services_refusal(
    client: Any, partner_manager: Any, superuser: Any
) -> None:
    client.force_login(partner_manager)
    url = reverse("admin:partners_apikey_add")
    data = form_post_data(client.get(url))
    data.update({"name": "escalate", "user": str(superuser.pk)})
    response = client.post(url, data)
    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.non_field_errors())
    assert "only a superuser can create one for another staff user" in errors
    assert not ApiKey.objects.exists()
    data["user"] = str(partner_manager.pk)
    client.post(url, data)
    assert ApiKey.objects.get().user == partner_manager


def test_command_still_makes_any_staff_key(superuser: Any) -> None:
    # Whoever runs manage.py already holds the server and its database.
    call_command("create_api_key", "--user", superuser.username, stdout=StringIO())
    assert ApiKey.objects.get().user == superuser

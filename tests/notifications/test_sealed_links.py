"""Secret links (invitations, password resets) are never stored readable: the outbox
row shows "[link hidden]" in its bodies and context, the link is kept sealed and put
into the message only when the worker sends it. The admin and the API show the row,
never the link; the mail that arrives carries a link that works."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from core.domain import SYSTEM
from core.models import AuditEntry
from events.models import Event
from notifications import delivery
from notifications.models import DeliveryAttempt, Notification
from notifications.sealed import HIDDEN_LINK
from partners.services import api_key_create, partner_invite
from tests import factories
from tests.api.conftest import key_client
from tests.notifications.standins import SmtpStandIn

pytestmark = pytest.mark.django_db


def stored_text(row: Notification) -> str:
    """Every stored value of the row, as text (what a database dump would show)."""
    row.refresh_from_db()
    values = {
        field.attname: getattr(row, field.attname) for field in Notification._meta.concrete_fields
    }
    return json.dumps(values, default=str)


def everything_stored() -> str:
    rows = [stored_text(row) for row in Notification.objects.all()]
    rows += [json.dumps(entry.data) for entry in AuditEntry.objects.all()]
    rows += [str(a.__dict__) for a in DeliveryAttempt.objects.all()]
    rows += [json.dumps(event.payload, default=str) for event in Event.objects.all()]
    return "\n".join(rows)


def test_the_invitation_token_is_stored_nowhere_readable(vendor: Any) -> None:
    _, token = partner_invite(partner=vendor, actor=SYSTEM)
    row = Notification.objects.get(kind="partner_invited")
    assert token not in everything_stored()
    assert HIDDEN_LINK in row.body_text and HIDDEN_LINK in row.body_html
    assert row.context["link"] == HIDDEN_LINK
    assert row.sealed and token not in row.sealed


def test_the_sent_invitation_carries_a_link_that_works(
    smtp_settings: SmtpStandIn, vendor: Any, client: Client
) -> None:
    _, token = partner_invite(partner=vendor, actor=SYSTEM)
    row = Notification.objects.get(kind="partner_invited")
    assert delivery.deliver(row.pk) == delivery.SENT
    (mail,) = smtp_settings.handler.messages
    parts = {part.get_content_type(): part for part in mail.message.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    link = re.search(r"http://testserver(/portal/invite/[^/\s]+/)", text)
    assert link is not None and token in link.group(1)
    assert f'href="http://testserver{link.group(1)}"' in html
    assert HIDDEN_LINK not in text and HIDDEN_LINK not in html
    assert client.get(link.group(1)).status_code == 200
    # Sending changed nothing stored: the row still shows the hidden form only.
    assert token not in everything_stored()
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT and HIDDEN_LINK in row.body_text


def test_the_api_and_the_admin_show_the_row_not_the_link(
    vendor: Any, superuser: Any, client: Client
) -> None:
    _, token = partner_invite(partner=vendor, actor=SYSTEM)
    row = Notification.objects.get(kind="partner_invited")
    staff = factories.StaffFactory()
    staff.user_permissions.add(Permission.objects.get(codename="view_notification"))
    _, raw = api_key_create(actor=SYSTEM, user=staff)
    api = key_client(raw)
    listed = api.get("/api/v1/notifications/")
    detail = api.get(f"/api/v1/notifications/{row.pk}/")
    assert listed.status_code == detail.status_code == 200
    assert HIDDEN_LINK in detail.json()["body_text"]
    client.force_login(superuser)
    page = client.get(f"/admin/notifications/notification/{row.pk}/change/")
    assert page.status_code == 200
    for response in (listed, detail, page):
        assert token not in response.content.decode()
        assert row.sealed not in response.content.decode()


def test_a_rotated_secret_key_kept_as_fallback_still_opens_the_link(
    smtp_settings: SmtpStandIn, vendor: Any, settings: Any
) -> None:
    _, token = partner_invite(partner=vendor, actor=SYSTEM)
    row = Notification.objects.get(kind="partner_invited")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-for-the-rotation-test-0123456789"
    assert delivery.deliver(row.pk) == delivery.SENT
    (mail,) = smtp_settings.handler.messages
    assert token in mail.data.decode()


def test_a_link_sealed_under_a_lost_key_fails_and_says_why(
    smtp_settings: SmtpStandIn, vendor: Any, settings: Any
) -> None:
    partner_invite(partner=vendor, actor=SYSTEM)
    row = Notification.objects.get(kind="partner_invited")
    settings.SECRET_KEY = "a-new-key-without-the-old-one-0123456789"
    assert delivery.deliver(row.pk) == delivery.FAILED
    row.refresh_from_db()
    assert "SECRET_KEY" in row.last_error
    assert smtp_settings.handler.messages == []

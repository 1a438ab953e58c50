"""The notification log in the admin: filters, search, detail, retry and cancel."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications.models import DeliveryAttempt, Notification
from partners.roles import AGENTS, PARTNER_MANAGERS
from tests import factories

pytestmark = pytest.mark.django_db
S = Notification.Status
CHANGELIST = reverse("admin:notifications_notification_changelist")


def change_url(row: Notification) -> str:
    return reverse("admin:notifications_notification_change", args=[row.pk])


def make(key: str, **fields: Any) -> Notification:
    defaults = {
        "kind": "booking_approved",
        "channel": Notification.Channel.EMAIL,
        "recipient_name": "Ada Lovelace",
        "recipient": f"{key}@example.com",
        "reference": f"BK-{key.upper()}",
        "subject": f"Booking BK-{key.upper()} is approved",
        "body_text": f"Hello Ada,\nBooking BK-{key.upper()} is approved.\n",
        "body_html": f"<html><body><p>Booking <b>BK-{key.upper()}</b></p></body></html>",
        "dedupe_key": f"test:{key}",
    }
    return Notification.objects.create(**{**defaults, **fields})


@pytest.fixture
def admin_client(client: Client, superuser: Any) -> Client:
    client.force_login(superuser)
    return client


@pytest.fixture
def rows(db: None) -> dict[str, Notification]:
    return {
        "pending": make("pending"),
        "sent": make("sent", status=S.SENT, attempts=1, sent_at=timezone.now()),
        "failed": make(
            "failed",
            status=S.FAILED,
            attempts=1,
            last_error="SMTP 550: No such user",
            failed_at=timezone.now(),
        ),
        "whatsapp": make(
            "whatsapp",
            channel=Notification.Channel.WHATSAPP,
            kind="item_assigned",
            recipient="+351910000000",
            body_html="",
            whatsapp_template="item_assigned",
            whatsapp_params=["BK-WHATSAPP", "Transfer"],
        ),
    }


def listed(response: Any) -> set[int]:
    return {row.pk for row in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status__exact": "failed"}, {"failed"}),
        ({"status__exact": "pending"}, {"pending", "whatsapp"}),
        ({"channel__exact": "whatsapp"}, {"whatsapp"}),
        ({"kind": "item_assigned"}, {"whatsapp"}),
        ({"q": "sent@example.com"}, {"sent"}),  # by recipient
        ({"q": "Lovelace"}, {"pending", "sent", "failed", "whatsapp"}),  # by name
        ({"q": "BK-FAILED"}, {"failed"}),  # by reference
        ({"q": "+351910000000"}, {"whatsapp"}),
    ],
)
def test_changelist_filters_and_search(
    admin_client: Client, rows: dict, query: dict, expected: set[str]
) -> None:
    response = admin_client.get(CHANGELIST, query)
    assert response.status_code == 200
    assert listed(response) == {rows[name].pk for name in expected}


def test_changelist_offers_the_status_channel_and_kind_filters(
    admin_client: Client, rows: dict
) -> None:
    response = admin_client.get(CHANGELIST)
    titles = {spec.title for spec in response.context["cl"].filter_specs}
    assert {"status", "possible duplicate", "channel", "kind"} <= titles
    assert set(response.context["action_form"].fields["action"].choices) >= {
        ("retry", "Retry the selected failed or cancelled notifications"),
        ("cancel", "Cancel the selected pending notifications (or drop interrupted ones)"),
        ("send_again", "Send the selected interrupted notifications again (possible duplicate)"),
        ("mark_delivered", "Mark the selected interrupted notifications as delivered (no resend)"),
    }


def test_detail_shows_the_rendered_message_and_its_attempts(
    admin_client: Client, rows: dict
) -> None:
    row = rows["failed"]
    DeliveryAttempt.objects.create(
        notification=row,
        number=1,
        finished_at=timezone.now(),
        outcome="failed",
        error="SMTP 550: No such user",
    )
    response = admin_client.get(change_url(row))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Booking BK-FAILED is approved" in html  # subject and text
    assert "Hello Ada," in html
    # The HTML body in a sandboxed iframe, escaped into srcdoc: never live on the page.
    assert 'sandbox=""' in html and "srcdoc=" in html
    assert "<b>BK-FAILED</b>" not in html
    assert "&lt;b&gt;BK-FAILED&lt;/b&gt;" in html
    assert html.count("SMTP 550: No such user") >= 2  # last error and the attempt
    assert "Failed" in html
    # Read-only: nothing to save, nothing to delete.
    assert 'name="_save"' not in html
    assert admin_client.post(change_url(row), {"subject": "x"}).status_code < 500
    row.refresh_from_db()
    assert row.subject == "Booking BK-FAILED is approved"


def test_detail_of_a_whatsapp_message_shows_the_template_call(
    admin_client: Client, rows: dict
) -> None:
    html = admin_client.get(change_url(rows["whatsapp"])).content.decode()
    assert "item_assigned(BK-WHATSAPP, Transfer)" in html


def test_detail_links_to_the_object_it_is_about(admin_client: Client) -> None:
    vendor = factories.VendorFactory(name="Lisbon Coaches")
    row = make(
        "linked",
        content_type=ContentType.objects.get_for_model(vendor),
        object_id=vendor.pk,
        reference="",
    )
    html = admin_client.get(change_url(row)).content.decode()
    assert reverse("admin:partners_vendor_change", args=[vendor.pk]) in html


def run_action(client: Client, action: str, *rows: Notification) -> Any:
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [row.pk for row in rows]},
        follow=True,
    )


def test_retry_requeues_failed_rows_and_skips_the_others(
    admin_client: Client, rows: dict, django_capture_on_commit_callbacks: Any, mailoutbox: list
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client, "retry", rows["failed"], rows["sent"])
    messages = [str(m) for m in response.context["messages"]]
    assert "1 notification(s) queued to be sent again." in messages
    assert any("1 notification(s) skipped" in m for m in messages)
    failed = Notification.objects.get(pk=rows["failed"].pk)
    # Delivered in sync mode after the action's commit, with a fresh set of attempts.
    assert failed.status == S.SENT and failed.attempts == 2
    assert failed.max_attempts == 1 + failed._meta.get_field("max_attempts").default()
    assert [m.subject for m in mailoutbox] == ["Booking BK-FAILED is approved"]
    assert Notification.objects.get(pk=rows["sent"].pk).attempts == 1


def test_cancel_stops_pending_rows_only(admin_client: Client, rows: dict) -> None:
    response = run_action(admin_client, "cancel", rows["pending"], rows["sent"])
    messages = [str(m) for m in response.context["messages"]]
    assert "1 notification(s) cancelled." in messages
    assert Notification.objects.get(pk=rows["pending"].pk).status == S.CANCELLED
    assert Notification.objects.get(pk=rows["sent"].pk).status == S.SENT


def test_a_cancelled_row_is_never_sent_and_can_be_retried(
    admin_client: Client, rows: dict, django_capture_on_commit_callbacks: Any, mailoutbox: list
) -> None:
    from notifications import delivery

    run_action(admin_client, "cancel", rows["pending"])
    assert delivery.deliver(rows["pending"].pk) == delivery.SKIPPED
    assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        run_action(admin_client, "retry", rows["pending"])
    assert Notification.objects.get(pk=rows["pending"].pk).status == S.SENT
    assert len(mailoutbox) == 1


def test_agents_may_retry_and_cancel_but_not_add_edit_or_delete(client: Client, rows: dict) -> None:
    agent = factories.StaffFactory(username="agent", groups=[AGENTS])
    client.force_login(agent)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert listed(response) == {row.pk for row in rows.values()}
    actions = {name for name, _ in response.context["action_form"].fields["action"].choices}
    assert {"retry", "cancel"} <= actions and "delete_selected" not in actions
    run_action(client, "cancel", rows["pending"])
    assert Notification.objects.get(pk=rows["pending"].pk).status == S.CANCELLED
    # The detail page shows the message but offers no save: every field is read-only.
    detail = client.get(reverse("admin:notifications_notification_change", args=[rows["sent"].pk]))
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert client.get(reverse("admin:notifications_notification_add")).status_code == 403
    delete = reverse("admin:notifications_notification_delete", args=[rows["sent"].pk])
    assert client.get(delete).status_code == 403


def test_partner_managers_see_the_log_but_cannot_retry_or_cancel(
    client: Client, rows: dict
) -> None:
    manager = factories.StaffFactory(username="manager", groups=[PARTNER_MANAGERS])
    client.force_login(manager)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert response.context["action_form"] is None
    run_action(client, "cancel", rows["pending"])
    assert Notification.objects.get(pk=rows["pending"].pk).status == S.PENDING


def test_changelist_query_count_does_not_grow_with_rows(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    vendor = factories.VendorFactory()
    ct = ContentType.objects.get_for_model(vendor)
    for n in range(30):
        make(f"r{n}", content_type=ct, object_id=vendor.pk)
    admin_client.get(CHANGELIST)  # warm the session and content-type caches
    with django_assert_max_num_queries(10):
        response = admin_client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == 30


def test_audit_log_is_read_only_even_for_superusers(admin_client: Client) -> None:
    from core.audit import audit_record

    vendor = factories.VendorFactory()
    entry = audit_record(target=vendor, action="invited")
    url = reverse("admin:core_auditentry_change", args=[entry.pk])
    html = admin_client.get(url).content.decode()
    assert "invited" in html and 'name="_save"' not in html
    assert admin_client.get(reverse("admin:core_auditentry_add")).status_code == 403


@pytest.mark.parametrize("page", ["offer", "broker"])
def test_offer_and_broker_pages_list_their_notifications(admin_client: Client, page: str) -> None:
    from datetime import timedelta
    from decimal import Decimal

    from core.domain import Actor
    from offers import services as offers
    from partners import services as partners

    system = Actor(via="system", label="test")
    broker = factories.BrokerFactory()
    if page == "offer":
        start = timezone.now() + timedelta(days=30)
        target = offers.offer_create(
            actor=system,
            broker=broker,
            valid_until=timezone.now() + timedelta(days=7),
            lines=[
                {
                    "service_type": "transfer",
                    "description": "Airport transfer",
                    "start": start,
                    "end": start + timedelta(hours=1),
                    "quantity": 1,
                    "unit_price": Decimal("80.00"),
                    "unit_cost": Decimal("50.00"),
                }
            ],
        )
        offers.offer_send(offer=target, actor=system)
        expected = ["offer_sent"]
    else:
        target = broker
        partners.partner_invite(partner=broker, actor=system)
        expected = ["partner_invited"]
    url = reverse(
        f"admin:{target._meta.app_label}_{target._meta.model_name}_change", args=[target.pk]
    )
    response = admin_client.get(url)
    formsets = {f.opts.__class__.__name__: f for f in response.context["inline_admin_formsets"]}
    rows = [form.original for form in formsets["NotificationInline"]]
    assert [row.kind for row in rows] == expected
    assert rows[0].recipient == broker.email
    # Each links to its detail page in the notification log.
    assert change_url(rows[0]) in response.content.decode()

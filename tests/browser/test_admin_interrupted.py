"""Staff decide on interrupted sends in the admin, in a real browser (desktop size).

Two WhatsApp messages were interrupted mid-send and are held; an agent finds them in
the notification list, sends one again and marks the other as delivered, then finds
the copy under the possible-duplicate filter and reads its attempt history. Each step
is screenshotted under ``test-artifacts/browser/`` and checked in the database.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from core.models import AuditEntry
from notifications.delivery import STALE_CLAIM
from notifications.models import DeliveryAttempt, Notification
from partners.roles import AGENTS
from tests import factories
from tests.browser.conftest import Phone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
S = Notification.Status
PASSWORD = "correct horse battery staple"


def held(n: int) -> Notification:
    """A WhatsApp row whose only send was interrupted, as the sweep leaves it."""
    began = timezone.now() - timedelta(minutes=5)
    row = Notification.objects.create(
        kind="item_assigned",
        channel=Notification.Channel.WHATSAPP,
        recipient_name=f"Vendor {n}",
        recipient=f"+35191000070{n}",
        reference=f"BK-HELD{n}",
        subject=f"New request BK-HELD{n}",
        body_text=f"New request BK-HELD{n}: Transfer.\n",
        whatsapp_template="item_assigned",
        whatsapp_params=[f"BK-HELD{n}", "Transfer"],
        dedupe_key=f"browser:held:{n}",
        status=S.INTERRUPTED,
        attempts=1,
        interrupted_at=timezone.now(),
        last_error=f"{STALE_CLAIM} Held: sent again only if a person decides so.",
    )
    DeliveryAttempt.objects.create(
        notification=row,
        number=1,
        started_at=began,
        finished_at=timezone.now(),
        outcome="interrupted",
        error=STALE_CLAIM,
    )
    return row


def test_an_agent_sends_one_held_message_again_and_marks_another_delivered(
    phone: Phone,
) -> None:
    from playwright.sync_api import expect

    first, second = held(1), held(2)
    factories.StaffFactory(username="agent", first_name="Ines", last_name="Agent", groups=[AGENTS])
    desk = phone.page.context.browser.new_page(viewport={"width": 1280, "height": 900})
    folder = phone.folder
    try:
        changelist = f"{phone.base_url}/admin/notifications/notification/"
        desk.goto(f"{phone.base_url}/admin/login/?next=/admin/notifications/notification/")
        desk.get_by_label("Username").fill("agent")
        desk.get_by_label("Password").fill(PASSWORD)
        desk.get_by_role("button", name="Log in").click()

        # The held rows, by the status filter in the sidebar.
        desk.get_by_role("link", name="Interrupted (held)").click()
        expect(desk.locator("#result_list tbody tr")).to_have_count(2)
        desk.screenshot(path=folder / "01-admin-interrupted-held.png", full_page=True)

        # Send the first again.
        desk.locator(f'input[name="_selected_action"][value="{first.pk}"]').check()
        desk.locator('select[name="action"]').select_option("send_again")
        desk.get_by_role("button", name="Go").click()
        expect(desk.locator(".messagelist")).to_contain_text(
            "1 notification(s) queued to be sent again; the recipient may get two copies."
        )
        desk.screenshot(path=folder / "02-admin-sent-again.png", full_page=True)

        # Mark the second as delivered (the vendor said they had it).
        desk.goto(f"{changelist}?status__exact=interrupted")
        desk.locator(f'input[name="_selected_action"][value="{second.pk}"]').check()
        desk.locator('select[name="action"]').select_option("mark_delivered")
        desk.get_by_role("button", name="Go").click()
        expect(desk.locator(".messagelist")).to_contain_text(
            "1 notification(s) marked as delivered."
        )
        desk.screenshot(path=folder / "03-admin-marked-delivered.png", full_page=True)

        # The copy is listed under the possible-duplicate filter, and only it.
        desk.goto(changelist)
        desk.locator("#changelist-filter").get_by_role("link", name="Yes").first.click()
        expect(desk.locator("#result_list tbody tr")).to_have_count(1)
        expect(desk.locator("#result_list")).to_contain_text("BK-HELD1")
        desk.screenshot(path=folder / "04-admin-possible-duplicates.png", full_page=True)

        # Its history: the interrupted attempt, then the copy sent.
        desk.goto(f"{changelist}{first.pk}/change/")
        expect(desk.locator("body")).to_contain_text(STALE_CLAIM)
        desk.screenshot(path=folder / "05-admin-resent-history.png", full_page=True)
    finally:
        desk.close()

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == S.SENT and first.possible_duplicate is True
    assert list(first.delivery_attempts.values_list("outcome", flat=True)) == [
        "interrupted",
        "sent",
    ]
    assert second.status == S.SENT and second.possible_duplicate is False
    assert second.delivery_attempts.count() == 1
    labels: Any = AuditEntry.objects.filter(object_id__in=[first.pk, second.pk]).values_list(
        "action", "actor_label"
    )
    assert sorted(labels) == [
        ("notification_marked_delivered", "Ines Agent"),
        ("notification_sent_again", "Ines Agent"),
    ]

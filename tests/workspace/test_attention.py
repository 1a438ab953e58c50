"""The first page's counts: each the same rows as the list its link opens, for the
user's permissions only, at a cost that does not grow with the data."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import attention
from tests import factories
from tests.workspace.conftest import notification
from workspace.attention import CONDITIONS

pytestmark = pytest.mark.django_db

KEYS = [c.key for c in CONDITIONS]


def panel_counts(html: str) -> dict[str, tuple[str, str]]:
    """{condition key: (the count shown, the link)} read off the first page."""
    cards = re.findall(
        r'data-key="(\w+)">\s*<a href="([^"]+)"[^>]*>\s*'
        r'<span class="attention-count">([^<]+)</span>',
        html,
    )
    return {key: (count, url.replace("&amp;", "&")) for key, url, count in cards}


def changelist_pks(client: Client, url: str) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200, url
    return {row.pk for row in response.context["cl"].queryset}


@pytest.mark.parametrize("key", KEYS)
def test_each_count_and_its_list_are_the_expected_rows(
    key: str, attention_rows: dict[str, Any], superuser: Any, client: Client
) -> None:
    client.force_login(superuser)
    shown = panel_counts(client.get("/admin/").content.decode())
    count, url = shown[key]
    assert url.endswith(f"?attention={key}")
    assert int(count) == len(attention_rows[key])
    assert changelist_pks(client, url) == attention_rows[key]


def test_counts_match_the_condition_rows_in_one_query(attention_rows: dict[str, Any]) -> None:
    now = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        counts = attention.bounded_counts(CONDITIONS, now=now)
    assert len(queries.captured_queries) == 1
    for condition in CONDITIONS:
        rows = set(condition.rows(now).values_list("pk", flat=True))
        assert rows == attention_rows[condition.key]
        assert counts[condition.key] == len(rows)


def test_the_filter_names_the_condition_in_the_list_sidebar(
    attention_rows: dict[str, Any], superuser: Any, client: Client
) -> None:
    client.force_login(superuser)
    html = client.get("/admin/bookings/bookingitem/?attention=answer_due").content.decode()
    assert "By needs attention" in html
    assert "Vendor answers overdue or due today" in html
    # A booking condition is not offered on the items' list.
    assert "attention=awaiting_approval" not in html


def test_a_count_stops_at_the_limit_and_says_so(
    attention_rows: dict[str, Any], superuser: Any, client: Client, monkeypatch: Any
) -> None:
    monkeypatch.setattr(attention, "COUNT_LIMIT", 1)
    client.force_login(superuser)
    shown = panel_counts(client.get("/admin/").content.decode())
    assert shown["awaiting_approval"][0] == "1+"  # three rows
    assert shown["offers_expiring"][0] == "1"  # one row: exact


def test_first_page_queries_do_not_grow_with_the_data(superuser: Any, client: Client) -> None:
    client.force_login(superuser)
    client.get("/admin/")  # warm the session and content types

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/admin/").status_code == 200
        return len(captured.captured_queries)

    few = queries()
    now = timezone.now()
    for n in range(30):
        factories.BookingFactory(status="pending_approval")
        factories.BookingItemFactory(booking__status="approved", start=now + timedelta(hours=3))
        notification("failed", n)
    assert queries() == few


def test_a_user_sees_counts_only_for_models_they_may_view(
    attention_rows: dict[str, Any], client: Client
) -> None:
    staff = factories.StaffFactory(username="bookings-only")
    staff.user_permissions.add(
        Permission.objects.get(codename="view_booking", content_type__app_label="bookings")
    )
    client.force_login(staff)
    shown = panel_counts(client.get("/admin/").content.decode())
    assert set(shown) == {"awaiting_approval"}
    assert shown["awaiting_approval"][0] == str(len(attention_rows["awaiting_approval"]))


def test_a_partner_manager_sees_no_count_they_cannot_open(
    attention_rows: dict[str, Any], partner_manager: Any, client: Client
) -> None:
    client.force_login(partner_manager)
    shown = panel_counts(client.get("/admin/").content.decode())
    # Partner managers view bookings, items, offers and notifications (partners.roles).
    assert set(shown) == set(KEYS)
    for _key, (_count, url) in shown.items():
        assert client.get(url).status_code == 200


def test_a_user_with_no_view_permission_sees_no_counts(client: Client) -> None:
    client.force_login(factories.StaffFactory(username="nothing"))
    html = client.get("/admin/").content.decode()
    assert panel_counts(html) == {}
    assert "Nothing you may see needs attention here." in html


@pytest.mark.postgres
@pytest.mark.parametrize("key", KEYS)
def test_each_count_can_be_answered_from_an_index(key: str) -> None:
    """With sequential scans priced out, the plan of each count still has none on the
    table it counts: an index answers the condition, so a count reads index entries of
    its rows, not the table (at a million bookings as at ten)."""
    condition = attention.get(key)
    assert condition is not None
    rows = condition.rows(timezone.now()).order_by().values("pk")[: attention.COUNT_LIMIT + 1]
    sql, params = rows.query.sql_with_params()
    table = condition.model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT COUNT(*) FROM ({sql}) AS c", params)  # noqa: S608
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"Seq Scan on {table}" not in plan, plan

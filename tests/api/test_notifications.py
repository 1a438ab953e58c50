"""``/api/v1/notifications/``: read only, staff only, filterable."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.utils import timezone

from notifications.models import Notification

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/"
_seq = count()


def _row(**fields: Any) -> Notification:
    n = next(_seq)
    defaults = {
        "kind": "booking_approved",
        "channel": Notification.Channel.EMAIL,
        "recipient": f"r{n}@example.com",
        "subject": "Hello",
        "dedupe_key": f"test:{n}",
        "status": Notification.Status.SENT,
    }
    return Notification.objects.create(**{**defaults, **fields})


@pytest.fixture
def viewer(staff_client: Any) -> Any:
    return staff_client(["notifications.view_notification"])


def test_list_newest_first(viewer: Any) -> None:
    old = _row(created_at=timezone.now() - timedelta(days=1))
    new = _row()
    data = viewer.get(URL).json()
    assert data["count"] == 2
    assert [n["id"] for n in data["results"]] == [new.pk, old.pk]
    assert data["results"][0]["recipient"] == new.recipient
    assert "context" not in data["results"][0]


def test_filters_by_status_channel_kind(viewer: Any) -> None:
    sent = _row()
    failed = _row(status=Notification.Status.FAILED)
    whatsapp = _row(channel=Notification.Channel.WHATSAPP, kind="item_assigned")

    def ids(query: str) -> set[int]:
        response = viewer.get(f"{URL}?{query}")
        assert response.status_code == 200
        return {n["id"] for n in response.json()["results"]}

    assert ids("status=failed") == {failed.pk}
    assert ids("status=failed&status=sent") == {failed.pk, sent.pk, whatsapp.pk}
    assert ids("channel=whatsapp") == {whatsapp.pk}
    assert ids("kind=item_assigned") == {whatsapp.pk}
    assert ids("kind=booking_approved&channel=email&status=sent") == {sent.pk}


@pytest.mark.parametrize("query", ["status=lost", "channel=fax", "updated_since=soon"])
def test_bad_filter_is_400(viewer: Any, query: str) -> None:
    assert viewer.get(f"{URL}?{query}").status_code == 400


def test_retrieve(viewer: Any) -> None:
    row = _row()
    response = viewer.get(f"{URL}{row.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == row.pk
    assert viewer.get(f"{URL}999999/").status_code == 404


def test_read_only(viewer: Any, superuser_client: Any) -> None:
    row = _row()
    for client in (viewer, superuser_client):
        assert client.post(URL, {"kind": "x"}, format="json").status_code == 405
        assert (
            client.patch(f"{URL}{row.pk}/", {"status": "failed"}, format="json").status_code == 405
        )
        assert client.delete(f"{URL}{row.pk}/").status_code == 405
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT


def test_staff_needs_view_permission(staff_client: Any) -> None:
    row = _row()
    client = staff_client(["partners.view_vendor"])
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{row.pk}/").status_code == 403


@pytest.mark.parametrize("who", ["vendor_client", "broker_client"])
def test_partners_get_403_on_list_and_404_on_rows(request: Any, who: str) -> None:
    client = request.getfixturevalue(who)
    row = _row()
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{row.pk}/").status_code == 404


def test_no_credentials_is_401(anon_client: Any) -> None:
    assert anon_client.get(URL).status_code == 401


def test_list_queries_do_not_grow_with_rows(viewer: Any, django_assert_num_queries: Any) -> None:
    for _ in range(5):
        _row()
    viewer.get(URL)
    with django_assert_num_queries(5) as small:
        assert len(viewer.get(f"{URL}?page_size=50").json()["results"]) == 5
    for _ in range(45):
        _row()
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(viewer.get(f"{URL}?page_size=50").json()["results"]) == 50


@pytest.mark.parametrize(
    "moment",
    ["2020-03-02T17:15:53-21:26", "2020-03-02T17:15:53+23:59", "0001-01-01T00:00:00-05:00"],
)
def test_odd_offsets_are_read_in_utc(viewer: Any, moment: str) -> None:
    row = _row()
    response = viewer.get(URL, {"created_before": moment})
    assert response.status_code == 200
    assert row.pk not in [n["id"] for n in response.json()["results"]]


def test_moment_out_of_range_is_400(viewer: Any) -> None:
    response = viewer.get(URL, {"created_after": "0001-01-01T00:00:00+05:00"})
    assert response.status_code == 400
    assert "created_after" in response.json()["fields"]


def test_a_possible_duplicate_is_shown_and_filterable(viewer: Any) -> None:
    """A copy sent again after an interrupted send says so, and can be listed alone."""
    clean = _row()
    resent = _row(interrupted_at=timezone.now(), possible_duplicate=True)
    held = _row(status=Notification.Status.INTERRUPTED, interrupted_at=timezone.now())
    data = {n["id"]: n for n in viewer.get(URL).json()["results"]}
    assert data[resent.pk]["possible_duplicate"] is True
    assert data[resent.pk]["interrupted_at"] is not None
    assert data[clean.pk]["possible_duplicate"] is False
    assert data[clean.pk]["interrupted_at"] is None
    assert data[held.pk]["status"] == "interrupted"
    duplicates = viewer.get(f"{URL}?possible_duplicate=true").json()["results"]
    assert [n["id"] for n in duplicates] == [resent.pk]
    held_rows = viewer.get(f"{URL}?status=interrupted").json()["results"]
    assert [n["id"] for n in held_rows] == [held.pk]

"""A request's time budget, kept by the web server: gunicorn's ``timeout`` does not stop a
gthread request, so PostgreSQL cancels a statement running past the budget and a request
past it is stopped at its next query, with a 503 in the error shape."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection

from bookings import selectors
from bookings.models import Booking
from core.domain import SYSTEM
from partners.services import api_key_create
from tests import factories
from tests.production.conftest import production_env, start_server


def test_a_request_past_its_budget_is_stopped_at_its_next_query(
    db: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rest_framework.test import APIClient

    settings.REQUEST_TIME_BUDGET = 0.3
    settings.API_RATE_LIMIT = ""
    booking = factories.BookingFactory()
    _, raw = api_key_create(actor=SYSTEM, user=factories.SuperuserFactory())
    slow = selectors.booking_get_visible

    def slow_lookup(**kwargs: Any) -> Any:
        time.sleep(0.5)  # past the budget, then the lookup's query
        return slow(**kwargs)

    monkeypatch.setattr(selectors, "booking_get_visible", slow_lookup)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    response = client.get(f"/api/v1/bookings/{booking.reference}/")
    assert response.status_code == 503
    assert response.json()["code"] == "request_timeout"
    assert "0.3 s budget" in response.json()["detail"]
    assert response["Retry-After"] == "5"
    # Within budget, the same request answers.
    settings.REQUEST_TIME_BUDGET = 5
    assert client.get(f"/api/v1/bookings/{booking.reference}/").status_code == 200


def test_no_budget_outside_the_web_server(settings: Any) -> None:
    # gunicorn.conf.py sets REQUEST_TIME_BUDGET for the web processes only; management
    # commands and the worker (a migration, a long purge) are not cut short.
    assert settings.REQUEST_TIME_BUDGET == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_gunicorn_stops_a_request_stuck_on_the_database(tmp_path: Path) -> None:
    """Real gunicorn with the repository's config on PostgreSQL: a booking row locked by
    another transaction would hold an approve forever; the budget turns it into a 503."""
    approver = factories.SuperuserFactory()
    _, raw = api_key_create(actor=SYSTEM, user=approver)
    booking = factories.BookingFactory(status=Booking.Status.PENDING_APPROVAL)
    factories.BookingItemFactory(booking=booking)
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = production_env(
        tmp_path, DATABASE_URL=url, REQUEST_TIME_BUDGET="1", API_KEY_CACHE_SECONDS="0"
    )
    server = start_server(tmp_path, env)
    headers = {"Authorization": f"Api-Key {raw}", "Content-Type": "application/json"}
    path = f"/api/v1/bookings/{booking.reference}/approve/"
    try:
        with psycopg.connect(
            dbname=db["NAME"], user=db["USER"], host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
        ) as holder:  # fmt: skip
            holder.execute("SELECT id FROM bookings_booking WHERE id = %s FOR UPDATE", [booking.pk])
            started = time.monotonic()
            stuck = server.request("POST", path, headers=headers, body=b"")
            took = time.monotonic() - started
            holder.rollback()
        assert stuck.status == 503, stuck.body
        assert json.loads(stuck.body)["code"] == "request_timeout"
        assert 0.9 < took < 5, took
        booking.refresh_from_db()
        assert booking.status == Booking.Status.PENDING_APPROVAL
        # The lock gone, the same request goes through.
        done = server.request("POST", path, headers=headers, body=b"")
        assert done.status == 200, done.body
        assert json.loads(done.body)["status"] == Booking.Status.APPROVED
        assert "statement timeout" in server.log() or "request stopped" in server.log()
    finally:
        server.stop()

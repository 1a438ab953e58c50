"""The audit writer records only known actions, with the actor's identity and door."""

from __future__ import annotations

import pytest

from core.audit import audit
from core.changes import apply_changes, audit_changes
from core.domain import Actor
from core.models import AuditAction, AuditEntry
from tests import factories

pytestmark = pytest.mark.django_db


def test_audit_refuses_an_action_that_is_not_a_choice():
    vendor = factories.VendorFactory()
    with pytest.raises(ValueError, match="not a valid AuditAction"):
        audit(vendor, "tickled", Actor(via="admin"))
    assert not AuditEntry.objects.filter(action="tickled").exists()


def test_audit_records_actor_door_and_data():
    vendor = factories.VendorFactory()
    entry = audit(vendor, AuditAction.DEACTIVATED, Actor(via="api", label="key X"), why="gone")
    entry.refresh_from_db()
    assert entry.action == "deactivated"
    assert entry.get_action_display() == "Deactivated"
    assert entry.actor_label == "key X"
    assert entry.data == {"via": "api", "why": "gone"}
    assert entry.target == vendor


def test_apply_changes_sets_only_what_differs():
    vendor = factories.VendorFactory.build(name="Old", email="a@example.com")
    changed = apply_changes(vendor, {"name": "New", "email": "a@example.com"})
    assert changed == {"name": "New"}
    assert vendor.name == "New"
    assert audit_changes({"n": 3}) == {"n": "3"}

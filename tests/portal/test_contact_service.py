"""partner_update_contact: the narrow service behind the portal's profile page."""

from __future__ import annotations

from typing import Any

import pytest

from core.domain import Actor, NotPermitted, ValidationFailed
from partners import services


def test_a_vendor_changes_only_its_own_contact_details(vendor: Any, other_vendor: Any) -> None:
    actor = Actor(vendor=vendor, via="portal")
    services.partner_update_contact(partner=vendor, actor=actor, phone="+351910000001")
    vendor.refresh_from_db()
    assert vendor.phone == "+351910000001"
    with pytest.raises(NotPermitted):
        services.partner_update_contact(partner=other_vendor, actor=actor, phone="+351910000002")
    other_vendor.refresh_from_db()
    assert other_vendor.phone != "+351910000002"


@pytest.mark.parametrize("field", ["name", "service_types", "is_active"])
def test_a_vendor_cannot_change_other_fields(vendor: Any, field: str) -> None:
    with pytest.raises(ValidationFailed, match="Unknown fields"):
        services.partner_update_contact(
            partner=vendor, actor=Actor(vendor=vendor, via="portal"), **{field: "x"}
        )


def test_a_broker_has_no_channels_and_a_vendor_cannot_edit_a_broker(
    broker: Any, vendor: Any
) -> None:
    with pytest.raises(ValidationFailed):
        services.partner_update_contact(
            partner=broker, actor=Actor(broker=broker, via="portal"), notify_by=["email"]
        )
    with pytest.raises(NotPermitted):
        services.partner_update_contact(
            partner=broker, actor=Actor(vendor=vendor, via="portal"), email="x@example.com"
        )


def test_staff_use_partner_update_instead(vendor: Any, agent: Any) -> None:
    with pytest.raises(NotPermitted):
        services.partner_update_contact(
            partner=vendor, actor=Actor(user=agent, via="admin"), email="x@example.com"
        )


def test_bad_values_are_refused_by_full_clean(vendor: Any) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.partner_update_contact(
            partner=vendor, actor=Actor(vendor=vendor, via="portal"), notify_by=["pigeon"]
        )
    vendor.refresh_from_db()
    assert vendor.notify_by == ["email"]

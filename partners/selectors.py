"""Reads about partners, including which partner a portal user acts for."""

from __future__ import annotations

from typing import Any

from core.domain import Actor
from partners.models import Broker, PortalAccount, Vendor


def portal_account_for_user(*, user: Any) -> PortalAccount | None:
    """The active partner link of ``user``, or None (staff, anonymous, inactive partner)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    account = (
        PortalAccount.objects.select_related("vendor", "broker").filter(user_id=user.pk).first()
    )
    if account is None or not account.partner.is_active:
        return None
    return account


def actor_for_user(*, user: Any, via: str) -> Actor:
    """The Actor for a logged-in person: their partner if they have one, else staff."""
    account = portal_account_for_user(user=user)
    if account is None:
        return Actor(user=user, via=via)
    return Actor(user=user, vendor=account.vendor, broker=account.broker, via=via)


def vendors_assignable(*, service_type: str | None = None) -> list[Vendor]:
    """Active vendors, those supplying ``service_type`` first."""
    vendors = list(Vendor.objects.filter(is_active=True).order_by("name"))
    if service_type:
        vendors.sort(key=lambda v: service_type not in v.service_types)
    return vendors


def brokers_active() -> Any:
    return Broker.objects.filter(is_active=True).order_by("name")

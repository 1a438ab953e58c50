"""Who is calling: the ``partners.domain.Actor`` every service call takes (via="api")."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request

from partners.domain import Actor
from partners.models import ApiKey, Broker, Vendor
from partners.selectors import portal_account_for_user

_CACHE_ATTR = "_api_actor"


def _resolve(request: Request) -> Actor | None:
    auth = request.auth
    if isinstance(auth, ApiKey):
        label = f"API key {auth.prefix}"
        if auth.vendor_id is not None:
            return Actor(vendor=auth.vendor, via="api", label=f"vendor {auth.vendor} via {label}")
        if auth.broker_id is not None:
            return Actor(broker=auth.broker, via="api", label=f"broker {auth.broker} via {label}")
    user = request.user
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_staff:
        return Actor(user=user, via="api")
    # A portal user (session or a key made for their user) acts for their partner.
    account = portal_account_for_user(user=user)
    if account is None:
        return None
    return Actor(user=user, vendor=account.vendor, broker=account.broker, via="api")


def api_actor(request: Request) -> Actor | None:
    """The caller as an Actor, or None for someone the API does not serve.

    Staff key or staff session -> ``Actor(user=...)`` acting with Django permissions;
    a broker's or vendor's key, or a portal user's session -> the partner's Actor.
    Resolved once per request.
    """
    cached = getattr(request, _CACHE_ATTR, _CACHE_ATTR)
    if cached is _CACHE_ATTR:
        cached = _resolve(request)
        setattr(request, _CACHE_ATTR, cached)
    return cached  # type: ignore[return-value]


def caller_vendor(request: Request) -> Vendor | None:
    actor = api_actor(request)
    return actor.vendor if actor is not None else None


def caller_broker(request: Request) -> Broker | None:
    actor = api_actor(request)
    return actor.broker if actor is not None else None


def is_staff_caller(request: Request) -> bool:
    actor = api_actor(request)
    return actor is not None and not actor.is_partner and not actor.is_system


def owner_token(request: Request) -> str:
    """A stable id for the credentials: ``apikey:<id>`` or ``user:<pk>`` (idempotency, throttle)."""
    auth: Any = request.auth
    if isinstance(auth, ApiKey):
        return f"apikey:{auth.pk}"
    user = request.user
    if user is not None and user.is_authenticated and user.pk is not None:
        return f"user:{user.pk}"
    return ""

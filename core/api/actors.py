"""Who is calling: the ``core.domain.Actor`` every service call takes (via="api").

Which actor a request's credentials stand for is the business of the app that owns
the credentials (``partners.api_auth.resolve_actor``, named by ``API_ACTOR_RESOLVER``),
so this module, at the bottom of the house, imports no business app.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string
from rest_framework.request import Request

from core.domain import Actor

_CACHE_ATTR = "_api_actor"


@cache
def _resolver() -> Callable[[Request], Actor | None]:
    return import_string(settings.API_ACTOR_RESOLVER)


def api_actor(request: Request) -> Actor | None:
    """The caller as an Actor, or None for someone the API does not serve.

    Staff key or staff session -> ``Actor(user=...)`` acting with Django permissions;
    a broker's or vendor's key, or a portal user's session -> the partner's Actor.
    Resolved once per request.
    """
    cached = getattr(request, _CACHE_ATTR, _CACHE_ATTR)
    if cached is _CACHE_ATTR:
        cached = _resolver()(request)
        setattr(request, _CACHE_ATTR, cached)
    return cached  # type: ignore[return-value]


def caller_vendor(request: Request) -> Any:
    actor = api_actor(request)
    return actor.vendor if actor is not None else None


def caller_broker(request: Request) -> Any:
    actor = api_actor(request)
    return actor.broker if actor is not None else None


def is_staff_caller(request: Request) -> bool:
    actor = api_actor(request)
    return actor is not None and not actor.is_partner and not actor.is_system


def owner_token(request: Request) -> str:
    """A stable id for the credentials: ``apikey:<id>`` or ``user:<pk>`` (idempotency, throttle)."""
    auth: Any = request.auth
    if auth is not None and getattr(auth, "pk", None) is not None:
        return f"apikey:{auth.pk}"
    user = request.user
    if user is not None and user.is_authenticated and user.pk is not None:
        return f"user:{user.pk}"
    return ""

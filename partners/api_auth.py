"""``Authorization: Api-Key <key>`` authentication, and the Actor a caller stands for.

Raw keys look like ``bk_<prefix>_<secret>`` (``partners.services.api_key_create``).
The prefix finds the row through a unique index; the SHA-256 of the whole key,
compared in constant time, proves it. Keys are long and random, so a fast hash is as
safe as a slow one and costs microseconds instead of the ~100 ms of a password hash.
"""

from __future__ import annotations

import copy
import hmac
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, router
from django.db.models import Q
from django.db.models.base import ModelState
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from core.domain import Actor
from partners.models import ApiKey
from partners.selectors import portal_account_for_user
from partners.services import hash_token

KEYWORD = "Api-Key"
# last_used_at is written at most this often per key: a busy integrator would
# otherwise turn every read into a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)

_INVALID = "Invalid API key."


class ApiKeyPrincipal:
    """``request.user`` for a vendor's or broker's key: authenticated, but no Django user.

    It has no permissions of its own; what the partner may see and do is decided by
    the selectors and services through ``api_actor`` (``Actor(vendor=...)`` etc.).
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, key: ApiKey) -> None:
        self.key = key

    def __str__(self) -> str:
        return f"{self.key.owner} (API key {self.key.prefix})"

    def get_username(self) -> str:
        return str(self)

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perms: Any, obj: Any = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False


def parse_key(header_value: str) -> str | None:
    """The raw key from an ``Authorization`` value, or None if it is not ``Api-Key ...``."""
    parts = header_value.split()
    if not parts or parts[0].lower() != KEYWORD.lower():
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed("Give the key as: Authorization: Api-Key <key>.")
    return parts[1]


def _prefix_of(raw: str) -> str | None:
    parts = raw.split("_")
    if len(parts) < 3 or not parts[1] or len(parts[1]) > 16:
        return None
    return parts[1]


def _owner_active(key: ApiKey) -> bool:
    if key.user_id is not None:
        return bool(key.user.is_active)
    partner = key.vendor if key.vendor_id is not None else key.broker
    return partner is not None and partner.is_active


def key_lookup(raw: str) -> ApiKey | None:
    """The live key for ``raw`` with its owner loaded (one query), or None."""
    prefix = _prefix_of(raw)
    if prefix is None or len(raw) > 200:
        return None
    digest = hash_token(raw)
    key = ApiKey.objects.select_related("user", "vendor", "broker").filter(prefix=prefix).first()
    if key is None:
        return None
    if not hmac.compare_digest(key.key_hash, digest):
        return None
    if key.revoked_at is not None or not _owner_active(key):
        return None
    return key


# --- a short-lived, per-process memory of keys already proven ---------------------------
#
# The lookup above is a three-way join; on this project's machines it measured a
# quarter of the time of a 50-row list request. A key proven once is remembered by
# the SHA-256 of the whole key (so a wrong secret never matches) for
# API_KEY_CACHE_SECONDS (default 10; 0 turns it off). The price: a revoked key, or one
# whose owner was deactivated, keeps working for at most that long in a process that
# has just seen it; so may a staff user's permissions as they were. Rows are kept as
# plain values and rebuilt into new model instances for every request, so no request
# sees another's objects.

_Row = tuple[type[models.Model], dict[str, Any]]
_remembered: dict[str, tuple[float, tuple[_Row, _Row | None]]] = {}
_last_touched: dict[int, datetime] = {}
_lock = threading.Lock()
MAX_REMEMBERED = 10_000


# ModelBackend's per-instance permission caches, remembered with a staff user so a
# request costs no permission queries either (permission changes: same bound).
PERMISSION_CACHES = ("_user_perm_cache", "_group_perm_cache", "_perm_cache")


def _row(obj: models.Model) -> _Row:
    values = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    values.update({name: obj.__dict__[name] for name in PERMISSION_CACHES if name in obj.__dict__})
    return type(obj), values


def _rebuild(row: _Row) -> Any:
    """A new instance holding the remembered values, as if just read from the database.

    Built without ``__init__`` (a fifth of the cost; these models have no init
    signals): the values are immutable or copied, so instances share nothing.
    """
    model, values = row
    obj = model.__new__(model)
    obj.__dict__.update({k: copy.copy(v) for k, v in values.items()})
    obj._state = ModelState()
    obj._state.adding = False
    obj._state.db = router.db_for_read(model)
    return obj


def forget_keys() -> None:
    """Drop every remembered key (tests; or after revoking in this process)."""
    with _lock:
        _remembered.clear()
        _last_touched.clear()


def _cache_seconds() -> float:
    return float(getattr(settings, "API_KEY_CACHE_SECONDS", 0) or 0)


def authenticate_key(raw: str) -> ApiKey | None:
    """``key_lookup`` through the per-process memory (see above)."""
    ttl = _cache_seconds()
    if ttl <= 0:
        return key_lookup(raw)
    digest = hash_token(raw)
    now = time.monotonic()
    entry = _remembered.get(digest)
    if entry is not None and entry[0] > now:
        key_row, owner_row = entry[1]
        key = _rebuild(key_row)
        if owner_row is not None:
            owner = _rebuild(owner_row)
            field = "user" if key.user_id is not None else "vendor" if key.vendor_id else "broker"
            setattr(key, field, owner)
        return key
    key = key_lookup(raw)
    if key is None:
        with _lock:
            _remembered.pop(digest, None)
        return None
    owner_obj = key.user if key.user_id is not None else key.vendor or key.broker
    if key.user_id is not None and not key.user.is_superuser:
        key.user.get_all_permissions()  # fills the caches remembered with the user
    with _lock:
        if len(_remembered) >= MAX_REMEMBERED:
            _remembered.clear()
            _last_touched.clear()
        _remembered[digest] = (now + ttl, (_row(key), _row(owner_obj)))
    return key


def touch_last_used(key: ApiKey) -> None:
    """Record use, at most once per ``LAST_USED_RESOLUTION`` per key and process
    (a conditional UPDATE, so several processes write it about once a minute too)."""
    now = timezone.now()
    seen = [t for t in (key.last_used_at, _last_touched.get(key.pk)) if t is not None]
    if seen and now - max(seen) < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    key.last_used_at = now
    _last_touched[key.pk] = now


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """A staff key authenticates as its user; a vendor's or broker's key as an
    ``ApiKeyPrincipal``. ``request.auth`` is the ``ApiKey`` either way."""

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        raw = parse_key(header)
        if raw is None:
            return None
        key = authenticate_key(raw)
        if key is None:
            raise exceptions.AuthenticationFailed(_INVALID)
        if getattr(settings, "API_KEY_TRACK_LAST_USED", True):
            touch_last_used(key)
        user = key.user if key.user_id is not None else ApiKeyPrincipal(key)
        return user, key

    def authenticate_header(self, request: Request) -> str:
        return f'{KEYWORD} realm="api"'


class CsrfSessionAuthentication(authentication.SessionAuthentication):
    """Portal users' session, with CSRF enforced (DRF's SessionAuthentication does)."""


def resolve_actor(request: Request) -> Actor | None:
    """The Actor behind a request's API key or session (``API_ACTOR_RESOLVER``)."""
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

"""``Idempotency-Key`` on POST and PATCH.

The same key with the same credentials within ``IDEMPOTENCY_TTL`` replays the first
response (status and body) without acting again; with a different request (method,
path or body) it is a 422; while the first is still running it is a 409. The claim is
an INSERT guarded by the (owner, key) unique constraint, committed before the view
runs, so of two concurrent requests exactly one acts. A 5xx (or a crash) deletes the
claim so the client may retry.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import timedelta

import orjson
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.actors import owner_token
from core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
META_KEY = "HTTP_IDEMPOTENCY_KEY"
METHODS = frozenset({"POST", "PATCH"})
IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255
REPLAY_HEADER = "Idempotent-Replayed"


def _error(status: int, detail: str, code: str) -> Response:
    return Response({"detail": detail, "code": code}, status=status)


def request_fingerprint(request: Request) -> str:
    """SHA-256 of method, path with query and body; JSON bodies in canonical form, so
    the same document with other whitespace or key order is the same request."""
    body = request._request.body  # read (and cached) before DRF parses the stream
    # Not JSON, or nested deeper than orjson writes (TypeError): hashed as sent, and
    # the parser answers 400.
    with contextlib.suppress(orjson.JSONDecodeError, TypeError):
        body = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b"\n")
    digest.update(request.get_full_path().encode() + b"\n")
    digest.update(body)
    return digest.hexdigest()


def _answer_existing(record: IdempotencyRecord, fingerprint: str) -> Response | HttpResponse:
    if record.request_hash != fingerprint:
        return _error(
            422,
            "This Idempotency-Key was already used for a different request.",
            "idempotency_key_reused",
        )
    if record.state != IdempotencyRecord.State.DONE:
        return _error(
            409,
            "A request with this Idempotency-Key is still being processed; retry later.",
            "idempotency_in_progress",
        )
    replay = HttpResponse(
        bytes(record.response_body or b""),
        status=record.response_status,
        content_type=record.response_content_type or None,
    )
    replay[REPLAY_HEADER] = "true"
    return replay


def claim(request: Request) -> IdempotencyRecord | Response | HttpResponse | None:
    """Claim the request's key: the new record, the response to give instead, or None
    if the request carries no key (or is not a POST or PATCH)."""
    if request.method not in METHODS:
        return None
    key = request.META.get(META_KEY)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        return _error(
            400,
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
            "invalid_idempotency_key",
        )
    owner = owner_token(request)
    fingerprint = request_fingerprint(request)
    now = timezone.now()
    # An expired record frees its key (the conditional delete is safe under races).
    IdempotencyRecord.objects.filter(
        owner=owner, key=key, created_at__lt=now - IDEMPOTENCY_TTL
    ).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                owner=owner,
                key=key,
                method=request.method,
                path=request.path[:500],
                request_hash=fingerprint,
                created_at=now,
            )
    except IntegrityError:
        existing = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
        if existing is None:  # its owner gave it up (a 5xx) in between
            return _error(
                409,
                "A request with this Idempotency-Key just failed; retry.",
                "idempotency_in_progress",
            )
        return _answer_existing(existing, fingerprint)


def complete(record: IdempotencyRecord, response: HttpResponse) -> None:
    """Store the response to replay, or give the key up after a server error."""
    if response.status_code >= 500:
        release(record)
        return
    if isinstance(response, Response) and not response.is_rendered:
        response.render()
    record.state = IdempotencyRecord.State.DONE
    record.response_status = response.status_code
    record.response_body = response.content
    record.response_content_type = response.get("Content-Type", "")[:100]
    record.save(
        update_fields=["state", "response_status", "response_body", "response_content_type"]
    )


def release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(
        pk=record.pk, state=IdempotencyRecord.State.IN_PROGRESS
    ).delete()


def purge_expired(*, now: timezone.datetime | None = None) -> int:
    """Delete records past the replay window; returns how many."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted

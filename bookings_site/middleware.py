"""Project middleware: request ids, the portal's Content-Security-Policy and API
response compression."""

from __future__ import annotations

import gzip
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import brotli
from django.conf import settings
from django.core.signals import request_finished
from django.db import OperationalError, connection
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from django.utils.regex_helper import _lazy_re_compile

from bookings_site.logging import request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from a proxy or client: short, printable, no spaces. Anything else
# (a log-injection attempt, a megabyte of junk) is replaced by our own id.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{7,127}$")

Handler = Callable[[HttpRequest], HttpResponse]
logger = logging.getLogger(__name__)


class RequestIdMiddleware:
    """Gives every request an id: a valid incoming ``X-Request-ID`` or a new one.

    The id is on ``request.request_id``, in every log line written while the request
    is served, and in the response's ``X-Request-ID`` header (gunicorn's access log
    reads it from there).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        # Not reset on the way out: Django logs 4xx/5xx ("Not Found: ...") after the
        # middleware chain has returned. request_finished clears it instead.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


@receiver(request_finished, dispatch_uid="bookings_site.clear_request_id")
def _clear_request_id(**kwargs: object) -> None:
    """Once the response is closed, lines on this thread belong to no request."""
    request_id_var.set("-")


class RequestLimitsMiddleware:
    """Refuses, before anything reads or routes them, a body declared larger than
    ``MAX_REQUEST_BODY_BYTES`` (413; Django never reads past Content-Length) and a NUL
    character anywhere in the path or query string (400: PostgreSQL cannot hold one in
    a string, and lookups with it were a 500). API paths answer in the API's error shape.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.MAX_REQUEST_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django then reads nothing
        if length > limit:
            return self._refuse(
                request, 413, f"The request body is larger than {limit} bytes.", "request_too_large"
            )
        if "\x00" in request.path or "\x00" in unquote(request.META.get("QUERY_STRING", "")):
            return self._refuse(
                request,
                400,
                "The address contains a NUL character, which is never valid.",
                "invalid",
            )
        return self.get_response(request)

    @staticmethod
    def _refuse(request: HttpRequest, status: int, detail: str, code: str) -> HttpResponse:
        if request.path.startswith(settings.API_COMPRESSION_PREFIX):
            return JsonResponse({"detail": detail, "code": code}, status=status)
        return HttpResponse(detail, status=status, content_type="text/plain; charset=utf-8")


# PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout.
QUERY_CANCELED = "57014"


class RequestBudgetExceeded(Exception):
    """The request spent its ``REQUEST_TIME_BUDGET``; it is stopped at this query."""


class BudgetGuard:
    """A database execute wrapper: refuses the first query started after the deadline,
    and turns PostgreSQL's cancellation of a statement that ran past
    ``statement_timeout`` (SQLSTATE 57014) into the same refusal. Later queries (the
    clean-up of the refused request) pass: each is still bounded by statement_timeout.
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.tripped = False

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if not self.tripped and time.monotonic() > self.deadline:
            self.tripped = True
            raise RequestBudgetExceeded("The request ran past its time budget.")
        try:
            return execute(sql, params, many, context)
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) == QUERY_CANCELED and not self.tripped:
                self.tripped = True
                raise RequestBudgetExceeded(
                    "A database statement ran past its time budget."
                ) from exc
            raise


class RequestBudgetMiddleware:
    """Stops a request that runs past ``REQUEST_TIME_BUDGET`` seconds with a 503.

    gunicorn's ``timeout`` does not bound a request on a gthread worker (it restarts
    only a worker whose main loop stops), and Python cannot stop a running thread, so
    the budget is kept at the database, where the time goes: PostgreSQL cancels any
    statement running past it (``statement_timeout``, set for web processes in
    settings), and once the budget is spent the request is refused at its next query.
    The last middleware, so it covers the view and the rendering but not the session
    save after them. Off (0) outside the web server.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        budget = settings.REQUEST_TIME_BUDGET
        if not budget:
            return self.get_response(request)
        with connection.execute_wrapper(BudgetGuard(time.monotonic() + budget)):
            return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, RequestBudgetExceeded):
            return None
        logger.warning("request stopped: %s (budget %s s)", exception, settings.REQUEST_TIME_BUDGET)
        detail = (
            f"The request took longer than its {settings.REQUEST_TIME_BUDGET:g} s budget and "
            "was stopped. Try again in a moment."
        )
        if request.path.startswith(settings.API_COMPRESSION_PREFIX):
            response: HttpResponse = JsonResponse(
                {"detail": detail, "code": "request_timeout"}, status=503
            )
        else:
            response = HttpResponse(detail, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = "5"
        return response


class ContentSecurityPolicyMiddleware:
    """Sends ``settings.CONTENT_SECURITY_POLICY`` on the portal and account pages.

    The admin is left to Django (its templates use inline scripts a strict policy
    would block); the API returns JSON, which a browser does not execute.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY
        self.prefixes = tuple(settings.CONTENT_SECURITY_POLICY_PATHS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and request.path.startswith(self.prefixes):
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


_ACCEPT_ENCODING_RE = _lazy_re_compile(r"\s*([\w*-]+)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*")


def _accepted_encodings(header: str) -> set[str]:
    """The codings the client accepts (q > 0), lower-cased."""
    accepted = set()
    for part in header.split(","):
        match = _ACCEPT_ENCODING_RE.fullmatch(part)
        if not match:
            continue
        coding, q = match.group(1).lower(), match.group(2)
        try:
            if q is not None and float(q) <= 0:
                continue
        except ValueError:
            continue
        accepted.add(coding)
    return accepted


class ApiCompressionMiddleware:
    """Compresses API JSON responses with brotli or gzip when the client accepts it.

    Only JSON under ``API_COMPRESSION_PREFIX`` is compressed, and only when the
    request carries no session cookie. BREACH needs three things in one response: it
    is compressed, it reflects attacker-chosen input, and it holds a secret the
    browser sends automatically (a CSRF token, or data fetched with the victim's
    cookie). HTML pages (with their CSRF tokens) are therefore never compressed here,
    and API responses only when authenticated by an ``Authorization`` header, which
    a cross-site attacker cannot make a victim's browser send.
    """

    BROTLI_QUALITY = 4  # fast for dynamic content; still beats gzip -6 on JSON
    GZIP_LEVEL = 6

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.prefix = settings.API_COMPRESSION_PREFIX
        self.min_length = settings.API_COMPRESSION_MIN_LENGTH

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(self.prefix):
            return response
        # Caches must key on Accept-Encoding whether or not this response was
        # compressed, since the next one may be.
        patch_vary_headers(response, ("Accept-Encoding",))
        if (
            response.streaming
            or response.has_header("Content-Encoding")
            or settings.SESSION_COOKIE_NAME in request.COOKIES
            or not self._is_json(response.get("Content-Type", ""))
            or len(response.content) < self.min_length
        ):
            return response
        accepted = _accepted_encodings(request.META.get("HTTP_ACCEPT_ENCODING", ""))
        if "br" in accepted:
            body, coding = brotli.compress(response.content, quality=self.BROTLI_QUALITY), "br"
        elif "gzip" in accepted or "*" in accepted:
            body, coding = gzip.compress(response.content, self.GZIP_LEVEL, mtime=0), "gzip"
        else:
            return response
        if len(body) >= len(response.content):
            return response
        response.content = body
        response["Content-Length"] = str(len(body))
        response["Content-Encoding"] = coding
        # A strong ETag names exact bytes; these bytes differ from the uncompressed ones.
        etag = response.get("ETag")
        if etag and etag.startswith('"'):
            response["ETag"] = "W/" + etag
        return response

    @staticmethod
    def _is_json(content_type: str) -> bool:
        media = content_type.split(";", 1)[0].strip().lower()
        return media == "application/json" or media.endswith("+json")

"""Structured logs: one JSON object per line, with the request id, never a secret.

Used by Django's LOGGING (settings) and by gunicorn's ``logconfig_dict``
(gunicorn.conf.py), so this module imports nothing from Django at import time: the
gunicorn master loads it before any settings exist.

Redaction happens in the formatter, on the final text (message, exception, extra
fields), so a secret is removed whichever logger or library wrote it: Django's
"Not Found: /portal/invite/<token>/", an exception that quotes a URL with a password,
a ``logger.info("...", extra={"password": ...})`` or gunicorn's access line.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

REDACTED = "[REDACTED]"

# The id of the request being served on this thread, set by RequestIdMiddleware.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Field names whose values are secrets wherever they appear (form fields, query
# strings, JSON bodies, headers, ``extra=`` keys, DSNs).
SENSITIVE_NAMES = (
    r"password\d?|passwd|pwd|old_password|new_password\d|secret|secret_key|client_secret|"
    r"app_secret|token|access_token|refresh_token|id_token|auth_token|verify_token|"
    r"hub\.verify_token|api[_-]?key|x-api-key|authorization|proxy-authorization|"
    r"sessionid|session_id|session|csrftoken|csrfmiddlewaretoken|x-csrftoken|cookie|"
    r"set-cookie|signature|x-hub-signature-256|idempotency-key"
)
_SENSITIVE_KEY = re.compile(rf"^(?:{SENSITIVE_NAMES})$", re.IGNORECASE)

_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    # Our API keys: bk_<8 hex lookup prefix>_<secret>. The prefix is not secret and
    # tells an operator which key it was.
    (re.compile(r"\b(bk_[0-9a-f]{8}_)[A-Za-z0-9_\-]+"), rf"\1{REDACTED}"),
    # Authorization schemes, wherever they are quoted.
    (
        re.compile(r"\b(Api-Key|Bearer|Basic|Token|Digest)\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE),
        rf"\1 {REDACTED}",
    ),
    # Credentials inside URLs: scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^:/@\s]+:)[^\s/]+@", re.IGNORECASE), rf"\1{REDACTED}@"),
    # Tokens carried in our URL paths: invitations and Django's password reset.
    (re.compile(r"(/invite/)[^/\s?#\"']+"), rf"\1{REDACTED}"),
    (re.compile(r"(/reset/)[^/\s?#\"']+/[^/\s?#\"']+"), rf"\1{REDACTED}/{REDACTED}"),
    # name=value, name: value, "name": "value" (query strings, form bodies, cookies,
    # headers, JSON, repr of dicts).
    (
        re.compile(
            rf"""(?P<k>["']?\b(?:{SENSITIVE_NAMES})\b["']?\s*(?:=|:)\s*)"""
            r"""(?:(?P<q>["'])[^"']*(?P=q)|[^\s&;,}\]"']+)""",
            re.IGNORECASE,
        ),
        lambda m: f"{m['k']}{m['q'] or ''}{REDACTED}{m['q'] or ''}",
    ),
]


def redact(text: str) -> str:
    """Replace every secret this module knows how to recognise in ``text``."""
    if not text:
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any, key: str = "") -> Any:
    """Redact a structured value: secrets by key name, then by pattern in strings."""
    if key and _SENSITIVE_KEY.match(key):
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {str(k): redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


class ContextFilter(logging.Filter):
    """Stamps every record with the current request id (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class RedactingFormatter(logging.Formatter):
    """A plain text formatter for development that still never prints a secret."""

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return redact(super().format(record))


# LogRecord attributes that are not "extra" fields.
_RESERVED = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()
    | {"message", "asctime", "request_id", "taskName"}
)
# Extra fields that are objects, not data (Django passes the request to django.request).
_SKIPPED_EXTRA = frozenset({"request", "server_time", "environ"})

# gunicorn access atoms worth keeping, and under which name. Never the whole atoms
# mapping: it holds every request header, Authorization and Cookie included.
_ACCESS_FIELDS = {
    "m": "method",
    "U": "path",
    "q": "query",
    "s": "status",
    "B": "bytes",
    "D": "duration_us",
    "h": "remote_addr",
    "a": "user_agent",
    "{x-request-id}o": "request_id",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role = os.environ.get("PROCESS_ROLE", "")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            entry["message"] = "request"
            entry.update(self._access_fields(record.args))
        else:
            entry["message"] = redact(record.getMessage())
            entry["request_id"] = getattr(record, "request_id", None) or request_id_var.get()
        entry["pid"] = record.process
        if self.role:
            entry["role"] = self.role
        for key, value in record.__dict__.items():
            if key in _RESERVED or key in _SKIPPED_EXTRA or key.startswith("_"):
                continue
            entry.setdefault(key, redact_value(value, key))
        if record.exc_info:
            entry["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["exc"] = redact("".join(traceback.format_exception(*record.exc_info)))
        elif record.exc_text:
            entry["exc"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(record.stack_info)
        return orjson.dumps(entry, default=str).decode()

    @staticmethod
    def _access_fields(atoms: Mapping[str, Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for atom, name in _ACCESS_FIELDS.items():
            value = atoms.get(atom)
            if value in (None, "", "-"):
                continue
            if name in ("status", "bytes", "duration_us"):
                with contextlib.suppress(TypeError, ValueError):
                    value = int(value)
            fields[name] = redact(value) if isinstance(value, str) else value
        return fields


def gunicorn_logconfig() -> dict[str, Any]:
    """``logconfig_dict`` for gunicorn: its master and workers log JSON to stdout."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["stdout"], "level": "INFO"},
        "loggers": {
            "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        },
    }

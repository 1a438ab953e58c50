"""The JSON log format and its redaction, line by line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bookings_site.logging import (
    REDACTED,
    ContextFilter,
    JsonFormatter,
    RedactingFormatter,
    redact,
    request_id_var,
)


@pytest.fixture
def capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("tests.production.capture")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("password=hunter2&username=bob", "hunter2"),
        ('{"password": "hunter2", "name": "x"}', "hunter2"),
        ("{'new_password1': 'Tr0ub4dor&3'}", "Tr0ub4dor"),
        ("Authorization: Api-Key bk_0123abcd_s3cr3tS3cr3tS3cr3t", "s3cr3tS3cr3t"),
        ("used key bk_0123abcd_s3cr3tS3cr3tS3cr3t for it", "s3cr3tS3cr3t"),
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi"),
        ("Cookie: sessionid=abc123xyz; csrftoken=def456uvw", "abc123xyz"),
        ("Cookie: sessionid=abc123xyz; csrftoken=def456uvw", "def456uvw"),
        ("GET /portal/invite/Zm9vYmFyYmF6/ HTTP/1.1", "Zm9vYmFyYmF6"),
        ("GET /accounts/reset/MQ/c4x-1a2b3c4d5e6f/", "c4x-1a2b3c4d5e6f"),
        ("smtp+tls://mailer:Pa55word@smtp.example.com:587", "Pa55word"),
        ("GET /api/v1/bookings/?api_key=k3yk3yk3y&page=2", "k3yk3yk3y"),
        ("whatsapp access_token=EAAGm0PX4ZCpsBA", "EAAGm0PX4ZCpsBA"),
        ("invalid token: 7f3a9b", "7f3a9b"),
    ],
)
def test_redact_removes_secrets(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert REDACTED in cleaned


def test_redact_keeps_what_is_not_secret() -> None:
    text = "password=x&username=bob&page=2 status=ok GET /api/v1/bookings/BK-123/"
    cleaned = redact(text)
    assert "username=bob&page=2 status=ok GET /api/v1/bookings/BK-123/" in cleaned
    # The API key's lookup prefix stays, so an operator can tell which key it was.
    assert redact("bk_0123abcd_secretpart") == f"bk_0123abcd_{REDACTED}"


def test_json_line_has_request_id_and_redacted_message_extra_and_exception(capture) -> None:
    logger, stream = capture
    token = request_id_var.set("req-12345678")
    try:
        try:
            raise ValueError("bad login for password=Sup3rS3cret")
        except ValueError:
            logger.exception(
                "login failed for %s with Api-Key %s",
                "bob",
                "bk_0123abcd_AnotherSecretValue",
                extra={"password": "Sup3rS3cret", "form": {"token": "t0k3n", "user": "bob"}},
            )
    finally:
        request_id_var.reset(token)
    raw = stream.getvalue()
    for secret in ("Sup3rS3cret", "AnotherSecretValue", "t0k3n"):
        assert secret not in raw
    (entry,) = _lines(stream)
    assert entry["request_id"] == "req-12345678"
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "tests.production.capture"
    assert entry["message"].startswith("login failed for bob with Api-Key ")
    assert entry["password"] == REDACTED
    assert entry["form"] == {"token": REDACTED, "user": "bob"}
    assert entry["exc_type"] == "ValueError"
    assert "Traceback" in entry["exc"]


def test_outside_a_request_the_id_is_a_dash(capture) -> None:
    logger, stream = capture
    logger.info("tick")
    assert _lines(stream)[0]["request_id"] == "-"


def test_gunicorn_access_line_keeps_chosen_fields_never_headers() -> None:
    atoms = {
        "m": "GET",
        "U": "/portal/invite/InviteSecret/",
        "q": "token=QuerySecret",
        "s": "404",
        "B": 179,
        "D": 1234,
        "h": "127.0.0.1",
        "a": "curl/8",
        "{authorization}i": "Api-Key bk_0123abcd_HeaderSecret",
        "{cookie}i": "sessionid=CookieSecret",
        "{x-request-id}o": "abcdef0123456789",
    }
    record = logging.LogRecord("gunicorn.access", logging.INFO, "", 0, "%(m)s", (atoms,), None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["request_id"] == "abcdef0123456789"
    assert entry["status"] == 404 and entry["duration_us"] == 1234
    assert entry["path"] == "/portal/invite/[REDACTED]/"
    text = json.dumps(entry)
    for secret in ("InviteSecret", "QuerySecret", "HeaderSecret", "CookieSecret"):
        assert secret not in text


def test_plain_development_format_is_redacted_too() -> None:
    formatter = RedactingFormatter("%(request_id)s %(message)s")
    record = logging.LogRecord("x", logging.INFO, "", 0, "password=%s", ("hunter2",), None)
    assert formatter.format(record) == f"- password={REDACTED}"

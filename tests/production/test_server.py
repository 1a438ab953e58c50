"""The production server as deployed: gunicorn + whitenoise + DEBUG off, over HTTP."""

from __future__ import annotations

import gzip
import json
import re
import time
from pathlib import Path

import brotli
import pytest

from tests.production.conftest import Server, manage, production_env, start_server

IMMUTABLE = "max-age=315360000, public, immutable"


def _manifest(server: Server) -> dict[str, str]:
    data = json.loads((Path(server.env["STATIC_ROOT"]) / "staticfiles.json").read_text())
    return data["paths"]


def test_hashed_static_file_is_served_immutable_and_compressed(prod_server: Server) -> None:
    hashed = _manifest(prod_server)["admin/css/base.css"]
    assert re.search(r"base\.[0-9a-f]{12}\.css$", hashed)
    original = (Path(prod_server.env["STATIC_ROOT"]) / hashed).read_bytes()

    br = prod_server.get(f"/static/{hashed}", headers={"Accept-Encoding": "br, gzip"})
    assert br.status == 200
    assert br.headers["cache-control"] == IMMUTABLE
    assert br.headers["content-encoding"] == "br"
    assert "Accept-Encoding" in br.headers["vary"]
    assert brotli.decompress(br.body) == original
    assert len(br.body) < len(original)

    gz = prod_server.get(f"/static/{hashed}", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["content-encoding"] == "gzip"
    assert gzip.decompress(gz.body) == original


def test_only_hashed_static_names_are_kept(prod_server: Server) -> None:
    # WHITENOISE_KEEP_ONLY_HASHED_FILES: pages link hashed names only, so the
    # unhashed copy is not kept (nor compressed) and cannot be cached forever by mistake.
    manifest = _manifest(prod_server)
    assert manifest["admin/css/base.css"] != "admin/css/base.css"
    assert prod_server.get("/static/admin/css/base.css").status == 404
    assert prod_server.get(f"/static/{manifest['admin/css/base.css']}").status == 200


@pytest.fixture(scope="module")
def admin_session(prod_server: Server) -> str:
    """Log a superuser in through the admin's own form, as a browser would."""
    env = {**prod_server.env, "DJANGO_SUPERUSER_PASSWORD": "Prod-test-Passw0rd!"}
    done = manage(env, "createsuperuser", "--noinput", "--username", "root", "--email", "r@x.io")
    assert done.returncode == 0, done.stderr
    page = prod_server.get("/admin/login/")
    csrf_cookie = re.search(r"csrftoken=([^;]+)", page.headers["set-cookie"]).group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1)
    reply = prod_server.request(
        "POST",
        "/admin/login/?next=/admin/",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf_cookie}",
            "Origin": f"https://127.0.0.1:{prod_server.port}",
            "Referer": f"https://127.0.0.1:{prod_server.port}/admin/login/",
        },
        body=b"username=root&password=Prod-test-Passw0rd!&csrfmiddlewaretoken=" + token,
    )
    assert reply.status == 302, reply.body[:500]
    assert "secure" in reply.headers["set-cookie"].lower()
    return re.search(r"sessionid=([^;]+)", reply.headers["set-cookie"]).group(1)


def test_admin_works_with_debug_off(prod_server: Server, admin_session: str) -> None:
    cookie = {"Cookie": f"sessionid={admin_session}"}
    for path in ("/admin/", "/admin/bookings/booking/", "/admin/partners/vendor/add/"):
        reply = prod_server.get(path, headers=cookie)
        assert reply.status == 200, (path, reply.body[:300])
    page = prod_server.get("/admin/", headers=cookie).body.decode()
    stylesheets = re.findall(r'href="(/static/[^"]+\.css)"', page)
    assert stylesheets, "the admin links its stylesheets"
    for href in stylesheets:
        assert re.search(r"\.[0-9a-f]{12}\.css$", href), href
        assert prod_server.get(href).status == 200


def test_portal_login_page_works_with_debug_off_under_csp(prod_server: Server) -> None:
    reply = prod_server.get("/accounts/login/")
    assert reply.status == 200, reply.body[:500]
    csp = reply.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    for href in re.findall(rb'(?:href|src)="(/static/[^"]+)"', reply.body):
        assert prod_server.get(href.decode()).status == 200, href
    # No inline script could run under this policy, so the page must not rely on one.
    assert not re.search(rb"<script(?![^>]*\bsrc=)[^>]*>\s*\S", reply.body)


def test_admin_pages_have_no_portal_csp(prod_server: Server) -> None:
    reply = prod_server.get("/admin/login/")
    assert "content-security-policy" not in reply.headers


def test_plain_http_redirects_to_https_but_health_checks_answer(prod_server: Server) -> None:
    reply = prod_server.get("/admin/", https=False)
    assert reply.status == 301
    assert reply.headers["location"].startswith("https://127.0.0.1")
    assert prod_server.get("/healthz", https=False).status == 200
    secure = prod_server.get("/healthz")
    assert secure.headers["strict-transport-security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert secure.headers["x-content-type-options"] == "nosniff"


def _wait_for_log(server: Server, needle: str) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = server.log()
        if needle in text:
            return text
        time.sleep(0.05)
    return server.log()


def test_logs_are_json_lines_with_the_request_id_and_no_secrets(prod_server: Server) -> None:
    api_key = "bk_deadbeef_SuperSecretApiKeyValue0123456789abcdef"
    reply = prod_server.get(
        "/no-such-page/invite/InviteTokenSecret42/?token=QueryTokenSecret",
        headers={"X-Request-ID": "prod-test-0001", "Authorization": f"Api-Key {api_key}"},
    )
    assert reply.headers["x-request-id"] == "prod-test-0001"
    prod_server.request(
        "POST",
        "/accounts/login/",
        headers={
            "X-Request-ID": "prod-test-0002",
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "sessionid=SessionIdSecret99; csrftoken=CsrfSecret77",
        },
        body=b"username=someone&password=PlainPasswordSecret",
    )
    text = _wait_for_log(prod_server, "prod-test-0002")
    lines = [line for line in text.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    mine = [e for e in entries if e.get("request_id") == "prod-test-0001"]
    assert any(e["logger"] == "gunicorn.access" and e["status"] == 404 for e in mine), mine
    assert any(e["logger"] == "django.request" for e in mine), "Django's 404 line carries the id"
    access = next(e for e in mine if e["logger"] == "gunicorn.access")
    assert access["path"] == "/no-such-page/invite/[REDACTED]/"
    for secret in (
        "InviteTokenSecret42",
        "QueryTokenSecret",
        "SuperSecretApiKeyValue",
        "PlainPasswordSecret",
        "SessionIdSecret99",
        "CsrfSecret77",
    ):
        assert secret not in text


def test_generated_request_id_is_returned_and_logged(prod_server: Server) -> None:
    reply = prod_server.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    request_id = reply.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert request_id in _wait_for_log(prod_server, request_id)


def test_sigterm_stops_workers_gracefully(prod_tmp: Path, prod_env: dict[str, str]) -> None:
    server = start_server(prod_tmp, {**prod_env, "WEB_CONCURRENCY": "2"})
    master = server.process.pid
    workers = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    assert workers
    assert server.get("/healthz").status == 200
    started = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - started < 25
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    assert "Shutting down: Master" in server.log()


def test_readyz_is_503_when_the_database_is_away(tmp_path: Path) -> None:
    # A closed port on loopback: the connection is refused at once.
    env = production_env(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:9/away")
    server = start_server(tmp_path, env)
    try:
        assert server.get("/healthz").status == 200
        reply = server.get("/readyz")
        assert reply.status == 503
        body = json.loads(reply.body)
        assert body == {"status": "unavailable", "reason": "database unavailable"}
    finally:
        assert server.stop() == 0

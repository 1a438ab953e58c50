"""The security limits on the production server (gunicorn with the repository's config,
DEBUG off, behind one simulated load balancer): the login lockout keyed on the client
address the balancer forwards, the body bound, NUL bytes and deeply nested JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.production.conftest import Server, manage, start_server

PASSWORD = "Prod-test-Passw0rd!"
ATTACKER = "203.0.113.5"
OWNER = "198.51.100.7"


@pytest.fixture(scope="module")
def server(prod_tmp: Path, prod_env: dict[str, str]) -> Iterator[Server]:
    # One proxy in front: gunicorn sees the balancer (here loopback) as REMOTE_ADDR.
    env = {**prod_env, "TRUSTED_PROXY_COUNT": "1", "DJANGO_SUPERUSER_PASSWORD": PASSWORD}
    done = manage(env, "createsuperuser", "--noinput", "--username", "root", "--email", "r@x.io")
    assert done.returncode == 0, done.stderr
    server = start_server(prod_tmp, env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def api_key(server: Server) -> str:
    done = manage(server.env, "create_api_key", "--user", "root")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def admin_login(server: Server, client: str, password: str) -> int:
    page = server.get("/admin/login/", headers={"X-Forwarded-For": client})
    cookie = re.search(r"csrftoken=([^;]+)", page.headers["set-cookie"]).group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1)
    reply = server.request(
        "POST",
        "/admin/login/?next=/admin/",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookie}",
            "Origin": f"https://127.0.0.1:{server.port}",
            "Referer": f"https://127.0.0.1:{server.port}/admin/login/",
            "X-Forwarded-For": client,
        },
        body=f"username=root&password={password}&csrfmiddlewaretoken=".encode() + token,
    )
    return reply.status


def test_failures_from_one_client_never_lock_out_another(server: Server) -> None:
    statuses = [admin_login(server, ATTACKER, "wrong") for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert admin_login(server, ATTACKER, PASSWORD) == 429
    # The balancer appends the address it saw; what the client wrote before it is ignored.
    assert admin_login(server, f"{OWNER}, {ATTACKER}", PASSWORD) == 429
    assert admin_login(server, OWNER, PASSWORD) == 302


def test_a_body_over_the_bound_is_a_413(server: Server, api_key: str) -> None:
    body = b'{"customer_name": "Ann", "notes": "' + b"x" * 2_000_000 + b'"}'
    reply = server.request(
        "POST",
        "/api/v1/bookings/",
        headers={"Authorization": f"Api-Key {api_key}", "Content-Type": "application/json"},
        body=body,
    )
    assert reply.status == 413
    assert json.loads(reply.body)["code"] == "request_too_large"


def test_deep_json_and_nul_bytes_are_4xx(server: Server, api_key: str) -> None:
    headers = {"Authorization": f"Api-Key {api_key}", "Content-Type": "application/json"}
    deep = server.request("POST", "/api/v1/bookings/", headers=headers, body=b"[" * 1000)
    assert deep.status == 400 and json.loads(deep.body)["code"] == "parse_error"
    assert server.get("/api/v1/bookings/%00/", headers=headers).status == 400
    assert server.get("/portal/bookings/%00/").status == 400
    assert server.get("/admin/bookings/booking/?status__exact=%00").status == 400
    assert "Traceback" not in server.log()

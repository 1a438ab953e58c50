"""A local stand-in for the card provider's API (Stripe Checkout's shape), on loopback."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tests.notifications.standins import free_port


class CardApi:
    """Records each checkout session it is asked for; ``fail_with`` answers that status."""

    def __init__(self, secret_key: str) -> None:
        self.secret_key = secret_key
        self.sessions: list[dict[str, str]] = []
        self.fail_with: int | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._ids = itertools.count(1)
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                if self.headers.get("Authorization") != f"Bearer {api.secret_key}":
                    return self._answer(401, {"error": {"message": "Invalid API key"}})
                if self.path != "/v1/checkout/sessions":
                    return self._answer(404, {"error": {"message": "No such path"}})
                if api.fail_with is not None:
                    return self._answer(api.fail_with, {"error": {"message": "down"}})
                session_id = f"cs_test_{next(api._ids)}"
                api.sessions.append({"id": session_id, **form})
                self._answer(200, {"id": session_id, "url": f"{api.url}/pay/{session_id}"})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CardApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def running(secret_key: str) -> Iterator[CardApi]:
    with CardApi(secret_key) as api:
        yield api

"""A webhook receiver on loopback: a real HTTP server in a thread.

It records every request (headers, body, arrival time) and answers with the next
scripted reply (``replies``: a status, or ("sleep", seconds) to outwait the
sender's timeout), then 200 once the script is used up. Used by the tests and by
``bench/webhooks.py``.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class ReceiverState:
    requests: list[Received] = field(default_factory=list)
    replies: collections.deque = field(default_factory=collections.deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(default_factory=threading.Condition)


class _Handler(BaseHTTPRequestHandler):
    server: Any
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        state: ReceiverState = self.server.state
        with state.lock:
            reply = state.replies.popleft() if state.replies else 200
        if isinstance(reply, tuple) and reply[0] == "sleep":
            time.sleep(reply[1])
            reply = 200
        received = Received(self.path, dict(self.headers.items()), body, time.time())
        with state.arrived:
            state.requests.append(received)
            state.arrived.notify_all()
        status, extra = (reply, {}) if isinstance(reply, int) else reply
        payload = b'{"ok": true}' if status < 300 else b'{"error": "scripted failure"}'
        try:
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender gave up waiting (a timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class WebhookReceiver:
    def __init__(self, port: int = 0) -> None:
        self.state = ReceiverState()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.server.daemon_threads = True
        self.server.state = self.state  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    @property
    def requests(self) -> list[Received]:
        return list(self.state.requests)

    def script(self, *replies: Any) -> None:
        with self.state.lock:
            self.state.replies.extend(replies)

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.state.arrived:
            while len(self.state.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.state.arrived.wait(left)
            return list(self.state.requests)

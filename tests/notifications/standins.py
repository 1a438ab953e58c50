"""Local stand-ins for the outside world: an SMTP server and the WhatsApp Cloud API.

Both listen on 127.0.0.1 on a free port, record what they accept, can be told to
fail, and are stopped by whoever started them (the fixtures, the bench). Used by the
tests and by ``bench/pipeline.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import socket
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

# aiosmtpd logs every connection at INFO: noise in test output and bench logs.
logging.getLogger("mail.log").setLevel(logging.WARNING)

NOTIFICATION_ID = re.compile(r"notification[.:](\d+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- SMTP -------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> Any:
        return message_from_bytes(self.data)

    @property
    def notification_id(self) -> int | None:
        match = NOTIFICATION_ID.search(self.message.get("Message-ID", ""))
        return int(match.group(1)) if match else None


class SmtpHandler:
    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        # Replies given instead of accepting, one per message, in order.
        self.data_replies: list[str] = []
        # Addresses refused at RCPT with this reply.
        self.refuse: dict[str, str] = {}
        self.sessions = 0
        # Every n-th DATA gets a transient "451" (0: never), for soak runs.
        self.fail_every = 0
        self.data_commands = 0
        # Seconds between taking a message and saying "250" (a slow relay): a client
        # killed meanwhile has handed over a message it will never hear was accepted.
        self.reply_delay = 0.0
        self.replying = 0  # messages taken whose "250" is still to come
        self.lock = threading.Lock()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.data_commands += 1
            if self.data_replies:
                return self.data_replies.pop(0)
            if self.fail_every and self.data_commands % self.fail_every == 0:
                return "451 4.3.0 Stand-in busy, try again later"
            self.messages.append(
                ReceivedMail(
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    data=bytes(envelope.content),
                )
            )
            delay = self.reply_delay
            if delay:
                self.replying += 1
        if delay:
            try:
                await asyncio.sleep(delay)
            finally:
                with self.lock:
                    self.replying -= 1
        return "250 Message accepted for delivery"

    def message_ids(self, notification_id: int) -> list[str]:
        """The Message-ID header of every copy of one notification taken."""
        with self.lock:
            mails = [m for m in self.messages if m.notification_id == notification_id]
        return [m.message["Message-ID"] for m in mails]

    def accepted_ids(self) -> Counter[int]:
        with self.lock:
            return Counter(m.notification_id for m in self.messages if m.notification_id)


class SmtpStandIn:
    def __init__(self) -> None:
        self.handler = SmtpHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpStandIn:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


# --- WhatsApp Cloud API -----------------------------------------------------------

HANG = "hang"


@dataclass
class ApiRequest:
    path: str
    headers: dict[str, str]
    body: Any
    client_port: int

    @property
    def notification_id(self) -> int | None:
        data = self.body.get("biz_opaque_callback_data", "") if isinstance(self.body, dict) else ""
        match = NOTIFICATION_ID.search(data)
        return int(match.group(1)) if match else None


Responder = Callable[[ApiRequest, int], Any]


@dataclass
class CloudApiState:
    requests: list[ApiRequest] = field(default_factory=list)
    accepted: list[ApiRequest] = field(default_factory=list)
    hanging: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)
    # Called with (request, number); returns None (accept), an HTTP status,
    # (status, json body[, headers]), or HANG (hold the request until released,
    # then answer 500: it was never accepted).
    responder: Responder | None = None

    def accepted_ids(self) -> Counter[int]:
        with self.lock:
            return Counter(r.notification_id for r in self.accepted if r.notification_id)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client's session reuses the socket
    # The headers and the body of a reply leave in two writes; with Nagle's algorithm
    # the body would wait for the client's delayed ACK (up to 40 ms), a cost of this
    # stand-in that the real Cloud API does not have.
    disable_nagle_algorithm = True
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client went away (killed worker)

    def do_POST(self) -> None:
        state: CloudApiState = self.server.state
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        request = ApiRequest(
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client_port=self.client_address[1],
        )
        with state.lock:
            state.requests.append(request)
            number = len(state.requests)
        outcome = state.responder(request, number) if state.responder else None
        if outcome == HANG:
            with state.lock:
                state.hanging += 1
            state.release.wait(30)
            with state.lock:
                state.hanging -= 1
            self._reply(500, {"error": {"message": "released", "code": 1}})
            return
        if outcome is None:
            message_id = f"wamid.standin.{next(self.server.ids)}"
            with state.lock:
                state.accepted.append(request)
            self._reply(
                200,
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                    "messages": [{"id": message_id}],
                },
            )
            return
        if isinstance(outcome, int):
            outcome = (outcome, {"error": {"message": f"stand-in says {outcome}", "code": 0}})
        status, payload, *extra = outcome
        self._reply(status, payload, extra[0] if extra else None)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A killed worker resets its keep-alive connection: expected, not worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class CloudApiStandIn:
    def __init__(self) -> None:
        self.state = CloudApiState()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.state = self.state  # type: ignore[attr-defined]
        self.server.ids = itertools.count(1)  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> CloudApiStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.state.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v21.0"

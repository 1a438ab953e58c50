"""Where a webhook may be sent: no private, loopback or link-local address (SSRF).

Checked twice: when an endpoint is registered (its host must resolve, to public
addresses only), and on every send, against the address the socket actually
connected to (``GuardedAdapter``), so a host that resolves to a public address at
registration and to an internal one later (DNS rebinding) is still refused.
``WEBHOOK_ALLOW_PRIVATE_TARGETS=true`` lifts both (development and tests).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from events import conf


class TargetRefused(Exception):
    """The URL may not be used as a webhook target; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> None:
    """Raise ``TargetRefused`` unless ``url`` is an allowed webhook target."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise TargetRefused("The URL must start with https://.")
    if scheme == "http" and not conf.allow_http():
        raise TargetRefused("The URL must use HTTPS.")
    if parts.username or parts.password:
        raise TargetRefused("The URL must not contain a user name or password.")
    host = parts.hostname
    if not host:
        raise TargetRefused("The URL has no host.")
    if conf.allow_private_targets():
        return
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("The URL's port is not a number.") from exc
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"The host {host} could not be resolved.") from exc
    for info in infos:
        address = str(info[4][0])
        if not is_public(address):
            raise TargetRefused(
                f"The host {host} resolves to {address}, a private or reserved address."
            )


def _guard(sock: socket.socket, host: str) -> socket.socket:
    if conf.allow_private_targets():
        return sock
    address = sock.getpeername()[0]
    if not is_public(address):
        sock.close()
        raise TargetRefused(f"{host} is at {address}, a private or reserved address.")
    return sock


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _guard(super()._new_conn(), self.host)


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _guard(super()._new_conn(), self.host)


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """Connects only to public addresses, checked on the connected socket itself."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


def guarded_session() -> requests.Session:
    session = requests.Session()
    # No proxies from the environment: a proxy would connect on our behalf, unchecked.
    session.trust_env = False
    adapter = GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session

"""The bench's own PostgreSQL databases: made when missing (the web step and the scale
step both use this)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit


def libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise SystemExit(f"bench: unexpected database name {name!r}")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(libpq(admin), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')

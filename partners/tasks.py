"""django-q2 tasks of the partners app."""

from __future__ import annotations

from partners.services import password_reset_email as _password_reset_email


def password_reset_email(email: str) -> int:
    """A password reset asked for on the site: record the email for each account."""
    return _password_reset_email(email=email)

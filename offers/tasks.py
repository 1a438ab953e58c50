"""django-q2 tasks of the offers app."""

from __future__ import annotations

from offers.services import offers_expire_due


def expire_due_offers() -> int:
    """Scheduled: expire every sent offer past its validity (the broker or customer is told)."""
    return offers_expire_due()

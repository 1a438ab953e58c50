"""django-q2 tasks of the bookings app."""

from __future__ import annotations

from bookings.deadlines import deadlines_sweep


def sweep_vendor_deadlines() -> dict[str, float]:
    """Scheduled: remind vendors and alert staff of what is due. Safe to run twice, or on
    two workers at once: each reminder is sent once (``VendorReminder``'s constraint)."""
    result = deadlines_sweep()
    return {
        "checked": result.checked,
        "reminders": result.reminders,
        "alerts": result.alerts,
        "per_second": round(result.per_second),
    }

"""django-q2 tasks. They take ids only, are safe to run twice, and call services."""

from __future__ import annotations

from billing import notify


def invoice_send(invoice_id: int, entry_id: int | None = None) -> int:
    """After an issue's commit: render the PDF and email it."""
    return notify.invoice_send(invoice_id=invoice_id, entry_id=entry_id)


def sweep() -> dict[str, int]:
    """Hourly: payment reminders before and after due dates; documents whose send was lost."""
    counts = notify.reminders_sweep()
    counts["documents"] = notify.unsent_documents_sweep()
    return counts

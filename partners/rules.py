"""Rules on what people type, applied by every service to every door's input.

Text is refused, never cut: a value longer than its field allows is a
``ValidationFailed`` naming the field, whatever door it came through (the admin, the
portal, the API or a command). A single-line field (a name, a reference, a
description: anything that ends up in an email header, a WhatsApp parameter or a
one-line table cell) refuses every control character (CR, LF, NUL, TAB and the rest
of Unicode's Cc category) and the Unicode line and paragraph separators. A multi-line
field (notes, reasons) allows line breaks and tabs but no other control character.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from core.domain import ValidationFailed

NAME_LENGTH = 200
REFERENCE_LENGTH = 100
DESCRIPTION_LENGTH = 300
REASON_LENGTH = 2000
NOTES_LENGTH = 5000

_LINE_BREAKS = {"\n", "\r", "\t"}
_SEPARATORS = {"Zl", "Zp"}


def _bad_character(value: str, *, single_line: bool) -> str | None:
    for char in value:
        category = unicodedata.category(char)
        if category == "Cc" and (single_line or char not in _LINE_BREAKS):
            return char
        if single_line and category in _SEPARATORS:
            return char
    return None


def check_text(
    value: Any,
    *,
    field: str,
    label: str,
    max_length: int,
    single_line: bool = True,
    required: bool = False,
) -> str:
    """``value`` if it may be stored in ``field``; else ``ValidationFailed`` saying why.

    ``label`` names the field as people know it ("The lead customer's name").
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{label} must be text.", field=field)
    bad = _bad_character(value, single_line=single_line)
    if bad is not None:
        if single_line and bad in _LINE_BREAKS | {"\u2028", "\u2029"}:
            message = f"{label} must be a single line (no line breaks or tabs)."
        else:
            message = f"{label} contains a control character (U+{ord(bad):04X}); remove it."
        raise ValidationFailed(message, field=field)
    if len(value) > max_length:
        raise ValidationFailed(
            f"{label} is too long: {len(value)} characters, at most {max_length}.", field=field
        )
    if required and not value.strip():
        raise ValidationFailed(f"{label} is required.", field=field)
    return value


def check_reason(reason: str, *, field: str = "reason") -> str:
    """A reason (for cancelling, declining...): several lines, at most ``REASON_LENGTH``."""
    return check_text(
        reason, field=field, label="The reason", max_length=REASON_LENGTH, single_line=False
    ).strip()


def check_contact_text(
    fields: Mapping[str, Any], *, name_label: str, name_required: bool = False
) -> None:
    """The contact fields bookings and offers share: a name, an email and a phone on one
    line each, and notes on several; only the fields given are checked."""
    if "customer_name" in fields:
        check_text(
            fields["customer_name"],
            field="customer_name",
            label=name_label,
            max_length=NAME_LENGTH,
            required=name_required,
        )
    for name, label in (("customer_email", "The email"), ("customer_phone", "The phone")):
        if name in fields:
            check_text(fields[name], field=name, label=label, max_length=NAME_LENGTH)
    if "notes" in fields:
        check_text(
            fields["notes"],
            field="notes",
            label="The notes",
            max_length=NOTES_LENGTH,
            single_line=False,
        )

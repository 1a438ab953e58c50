"""The one way a service changes some fields of a row: set only what differs, validate,
save only those columns (and ``updated_at``), and describe the change for the audit log."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models


def apply_changes(obj: models.Model, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Set on ``obj`` each value of ``fields`` that differs from what it holds; return those."""
    changed = {name: value for name, value in fields.items() if getattr(obj, name) != value}
    for name, value in changed.items():
        setattr(obj, name, value)
    return changed


def save_changes(
    obj: models.Model,
    changed: Iterable[str],
    *,
    also: Iterable[str] = (),
    exclude: list[str] | None = None,
) -> None:
    """``full_clean`` then save only the changed columns, ``also`` and ``updated_at``."""
    obj.full_clean(exclude=exclude)
    update_fields = [*changed, *also]
    try:
        obj._meta.get_field("updated_at")
    except FieldDoesNotExist:
        pass
    else:
        if "updated_at" not in update_fields:
            update_fields.append("updated_at")
    obj.save(update_fields=update_fields)


def audit_changes(changed: Mapping[str, Any]) -> dict[str, str]:
    """The changed values as the audit log stores them."""
    return {name: str(value) for name, value in changed.items()}

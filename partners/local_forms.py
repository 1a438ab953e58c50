"""Forms that read a service's start and end on the wall clock where it happens.

Django's date-time fields read a time in the site's zone (``TIME_ZONE``). A service's
time is read in the service's own zone instead: the ``timezone`` chosen on the form,
else the item's, else its vendor's, else ``DEFAULT_SERVICE_TIMEZONE``; the form says
which. A time the clocks skip, or pass twice, on a daylight-saving change is a field
error in words (``partners.timezones.make_aware_local``), never a silent shift.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

from partners.timezones import (
    LocalTimeError,
    make_aware_local,
    service_timezone,
    timezone_choices,
)

LOCAL_FIELDS = ("start", "end")


class LocalDateTimeField(forms.DateTimeField):
    """A wall-clock time, left naive: the form makes it aware in the service's zone.
    (An ISO time with an offset names its instant already and stays aware.)"""

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)  # noqa: DTZ001 - wall clock
        try:
            result = parse_datetime(value.strip())
        except ValueError as exc:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from exc
        if result is None:
            result = forms.BaseTemporalField.to_python(self, value)
        return result


class LocalSplitDateTimeField(forms.SplitDateTimeField):
    """The admin's date + time widgets, read as a wall-clock time (naive)."""

    def compress(self, data_list: list[Any]) -> datetime | None:
        if data_list:
            if data_list[0] in self.empty_values:
                raise ValidationError(self.error_messages["invalid_date"], code="invalid_date")
            if data_list[1] in self.empty_values:
                raise ValidationError(self.error_messages["invalid_time"], code="invalid_time")
            return datetime.combine(*data_list)
        return None


def _local_field(field: forms.Field) -> forms.Field:
    kwargs = {
        "required": field.required,
        "label": field.label,
        "widget": field.widget,
        "initial": field.initial,
    }
    if isinstance(field, forms.SplitDateTimeField):
        return LocalSplitDateTimeField(**kwargs)
    return LocalDateTimeField(**kwargs)


class LocalTimeFormMixin:
    """Mix into a ModelForm of an item or a line (fields ``start``, ``end``, ``timezone``).

    ``vendor_field`` names the form field whose vendor's zone applies when none is chosen.
    """

    vendor_field = "vendor"

    def timezone_field(self, current: str) -> forms.Field:
        """The ``timezone`` field (a form where no vendor is chosen offers another)."""
        return forms.ChoiceField(
            required=False,
            choices=[
                ("", "Where its vendor works (or the site's default)"),
                *timezone_choices(),
            ],
            label="Timezone",
            help_text="Where the service happens: start and end are its local time.",
        )

    def local_time_help(self, current: str) -> str:
        return f"Local time in {current or 'the timezone chosen below'}."

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, forms.Field] = self.fields  # type: ignore[attr-defined]
        instance = getattr(self, "instance", None)
        current = getattr(instance, "timezone", "") if getattr(instance, "pk", None) else ""
        if "timezone" in fields:
            fields["timezone"] = self.timezone_field(current)
        for name in LOCAL_FIELDS:
            if name not in fields:
                continue
            fields[name] = _local_field(fields[name])
            fields[name].help_text = self.local_time_help(current)
            value = getattr(instance, name, None) if current else None
            if isinstance(value, datetime):
                # Shown on the service's own clock, not the site's.
                self.initial[name] = make_aware_local(value, current).replace(tzinfo=None)  # type: ignore[attr-defined]

    def service_timezone(self, cleaned: dict[str, Any]) -> str:
        instance = getattr(self, "instance", None)
        return service_timezone(
            chosen=cleaned.get("timezone") or "",
            current=getattr(instance, "timezone", "") if getattr(instance, "pk", None) else "",
            vendor=cleaned.get(self.vendor_field),
        )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        zone = self.service_timezone(cleaned)
        for name in LOCAL_FIELDS:
            value = cleaned.get(name)
            if isinstance(value, datetime):
                try:
                    cleaned[name] = make_aware_local(value, zone)
                except LocalTimeError as error:
                    self.add_error(name, error)  # type: ignore[attr-defined]
                    cleaned.pop(name, None)
        return cleaned

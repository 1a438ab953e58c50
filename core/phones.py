"""Phone numbers as people write them (``+44 20 7946 0000``, ``912 345 678``), parsed by
the ``phonenumbers`` library and stored in E.164 (``+442079460000``).

A national number (no ``+``) is read in ``PHONE_DEFAULT_REGION`` (an ISO 3166 country
code such as ``PT``); with no region set, a number must carry its country code.
Every door parses with ``normalize_phone``; the models keep ``E164_VALIDATOR`` so that
whatever reaches the database is E.164.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import forms
from django.conf import settings
from django.core.validators import RegexValidator

from core.domain import ValidationFailed

E164_VALIDATOR = RegexValidator(
    r"^\+[1-9]\d{6,14}$",
    "Enter the phone number in international E.164 form, e.g. +351912345678.",
)
# Long enough for what people type around a number: spaces, dashes, "(0)".
MAX_TYPED_LENGTH = 40


def default_region() -> str | None:
    return (getattr(settings, "PHONE_DEFAULT_REGION", "") or "").upper() or None


def invalid_message(region: str | None = None) -> str:
    region = region or default_region()
    if region:
        example = phonenumbers.example_number(region)
        national = (
            phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
            if example
            else ""
        )
        hint = f" or a number from {region} such as {national}" if national else ""
        return f"Enter a valid phone number: with its country code, e.g. +351 912 345 678{hint}."
    return "Enter a valid phone number with its country code, e.g. +351 912 345 678."


def normalize_phone(value: str | None, *, field: str = "phone", region: str | None = None) -> str:
    """The number in E.164, or "" for an empty value; ``ValidationFailed`` if it is not a
    number that can be dialled."""
    text = (value or "").strip()
    if not text:
        return ""
    region = region or default_region()
    if len(text) > MAX_TYPED_LENGTH:
        raise ValidationFailed(invalid_message(region), field=field)
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed(invalid_message(region), field=field) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(invalid_message(region), field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(value: str) -> str:
    """An E.164 number written for people (``+44 20 7946 0000``); anything else as is."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


class PhoneFormField(forms.CharField):
    """A form field that accepts a number as people write it and cleans it to E.164."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["max_length"] = MAX_TYPED_LENGTH
        kwargs.pop("validators", None)
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "With its country code, e.g. +351 912 345 678.")
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "tel")
        self.widget.attrs.setdefault("autocomplete", "tel")

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        try:
            return normalize_phone(text)
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.message, code="invalid_phone") from None

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("+"):
            return format_phone(value)
        return value

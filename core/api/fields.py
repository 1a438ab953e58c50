"""Serializer fields the API shares."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.domain import ValidationFailed
from core.phones import E164_VALIDATOR, MAX_TYPED_LENGTH, normalize_phone


class PhoneNumberField(serializers.CharField):
    """A phone number as people write it in; E.164 out (``core.phones``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["max_length"] = MAX_TYPED_LENGTH
        kwargs.pop("validators", None)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        try:
            return normalize_phone(text)
        except ValidationFailed as exc:
            raise serializers.ValidationError(exc.message, code="invalid_phone") from None


class PhoneNumbersMixin:
    """For a ModelSerializer: every model field kept in E.164 takes numbers as people
    write them (``PhoneNumberField``)."""

    def build_standard_field(self, field_name: str, model_field: Any) -> tuple[type, dict]:
        field_class, kwargs = super().build_standard_field(field_name, model_field)  # type: ignore[misc]
        if E164_VALIDATOR in getattr(model_field, "validators", ()):
            kwargs.pop("validators", None)
            kwargs.pop("max_length", None)
            field_class = PhoneNumberField
        return field_class, kwargs

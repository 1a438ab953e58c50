"""The back office's forms for partners: vendors, brokers, invitations and API keys."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from core.admin_kit import TransitionForm
from partners.models import ApiKey, Broker, Channel, ServiceType, Vendor
from partners.timezones import timezone_choices

# --- forms for partners -------------------------------------------------------------


class VendorForm(forms.ModelForm):
    service_types = forms.MultipleChoiceField(
        choices=ServiceType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="What the vendor supplies; offered first when assigning such items.",
    )
    notify_by = forms.MultipleChoiceField(
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[Channel.EMAIL],
        help_text="How the vendor is told about new requests. WhatsApp needs a phone.",
    )

    class Meta:
        model = Vendor
        fields = [
            "name",
            "email",
            "phone",
            "service_types",
            "notify_by",
            "timezone",
            "response_hours",
        ]
        widgets = {"timezone": forms.Select(choices=timezone_choices())}


class BrokerForm(forms.ModelForm):
    class Meta:
        model = Broker
        fields = [
            "name",
            "email",
            "phone",
            "commission_rate",
            "deposit_percent",
            "deposit_due_days",
            "balance_due_days",
        ]


def _send_invitation_field() -> forms.BooleanField:
    return forms.BooleanField(
        label="Send an invitation now",
        required=False,
        initial=True,
        help_text="Emails the contact address a link to set up their portal login.",
    )


class VendorAddForm(VendorForm):
    send_invitation = _send_invitation_field()


class BrokerAddForm(BrokerForm):
    send_invitation = _send_invitation_field()


class InviteForm(TransitionForm):
    email = forms.EmailField(
        required=False,
        help_text="Leave empty to invite each partner's contact email. Re-inviting an "
        "address replaces its open invitation: the old link stops working.",
    )

    def clean_email(self) -> str | None:
        return self.cleaned_data.get("email") or None


class ApiKeyAddForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "user", "vendor", "broker"]
        help_texts = {
            "user": "A staff user: the key acts with that user's permissions.",
            "vendor": "Or a vendor: the key sees only the vendor's items.",
            "broker": "Or a broker: the key sees only the broker's offers and bookings.",
        }

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()
        if self.instance.pk:
            return cleaned  # an existing key is never edited, only revoked
        owners = [cleaned.get(name) for name in ("user", "vendor", "broker")]
        if sum(owner is not None for owner in owners) != 1:
            raise ValidationError("Choose exactly one owner: a staff user, a vendor or a broker.")
        # Whose key this may be (staff, active, not someone else's unless a superuser
        # asks) is api_key_create's to say; the admin shows its answer on save.
        return cleaned

    def _post_clean(self) -> None:
        # The key's prefix and hash are made by the service; nothing to validate on
        # the half-built instance.
        pass

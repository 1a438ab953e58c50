"""Forms of the portal's offer pages."""

from __future__ import annotations

from typing import Any

from django import forms

from core.phones import PhoneFormField


class OfferDeclineForm(forms.Form):
    reason = forms.CharField(
        label="Why are you declining? (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="It helps us make a better offer next time.",
    )


class OfferAcceptForm(forms.Form):
    """Who travels, prefilled with the offer's customer when it names one."""

    lead_name = forms.CharField(
        label="Lead traveller's name",
        required=False,
        help_text="The person we book under and meet on arrival.",
    )
    lead_email = forms.EmailField(label="Lead traveller's email", required=False)
    lead_phone = PhoneFormField(
        label="Lead traveller's phone",
        help_text="With its country code, e.g. +351 912 345 678. An email or a phone is needed.",
    )

    def __init__(self, *args: Any, offer: Any = None, **kwargs: Any) -> None:
        if offer is not None:
            kwargs.setdefault(
                "initial",
                {
                    "lead_name": offer.customer_name,
                    "lead_email": offer.customer_email,
                    "lead_phone": offer.customer_phone,
                },
            )
        super().__init__(*args, **kwargs)

"""Forms of the portal's offer pages."""

from __future__ import annotations

from django import forms


class OfferDeclineForm(forms.Form):
    reason = forms.CharField(
        label="Why are you declining? (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="It helps us make a better offer next time.",
    )

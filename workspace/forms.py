from __future__ import annotations

from typing import Any

from django import forms

from bookings.models import BookingItem
from partners.models import ServiceType, Vendor
from workspace.agenda import Filters

MAX_DAYS = 31


class AgendaForm(forms.Form):
    """The agenda's filters; every one optional (an empty form is the coming week)."""

    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    days = forms.IntegerField(required=False, min_value=1, max_value=MAX_DAYS, label="Days")
    service_type = forms.ChoiceField(
        required=False, label="Service type", choices=[("", "All"), *ServiceType.choices]
    )
    vendor = forms.ModelChoiceField(
        required=False, label="Vendor", empty_label="All", queryset=Vendor.objects.order_by("name")
    )
    status = forms.ChoiceField(
        required=False,
        label="Vendor status",
        choices=[("", "All"), *BookingItem.VendorStatus.choices],
    )

    def filters(self) -> Filters:
        data: dict[str, Any] = self.cleaned_data if self.is_valid() else {}
        vendor = data.get("vendor")
        return Filters(
            service_type=data.get("service_type") or "",
            vendor_id=vendor.pk if vendor is not None else None,
            status=data.get("status") or "",
        )

"""Forms of the booking intermediate pages: choosing a vendor, confirming for one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance

from core.admin_kit import TransitionForm
from partners.local_forms import LocalTimeFormMixin
from partners.models import ServiceType, Vendor
from partners.selectors import vendors_assignable


class AssignVendorForm(TransitionForm):
    """Active vendors, those supplying the items' service type listed first."""

    vendor = forms.TypedChoiceField(coerce=int, empty_value=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        types = {item.service_type for item in self.objects}
        service_type = next(iter(types)) if len(types) == 1 else None
        vendors = vendors_assignable(service_type=service_type)
        self.vendors: dict[int, Vendor] = {vendor.pk: vendor for vendor in vendors}
        choices: list[Any] = [("", "Choose a vendor")]
        if service_type:
            label = ServiceType(service_type).label
            able = [(v.pk, self._label(v)) for v in vendors if service_type in v.service_types]
            others = [
                (v.pk, self._label(v)) for v in vendors if service_type not in v.service_types
            ]
            if able:
                choices.append((f"Supply {label.lower()}", able))
            if others:
                choices.append(("Other active vendors", others))
        else:
            choices += [(v.pk, self._label(v)) for v in vendors]
        field = self.fields["vendor"]
        field.choices = choices  # type: ignore[attr-defined]
        field.help_text = (
            "The vendor is asked on the channels it chose. An item already with another "
            "vendor is withdrawn from that vendor, who is told."
        )

    @staticmethod
    def _label(vendor: Vendor) -> str:
        return f"{vendor.name} ({vendor.get_service_types_display() or 'no service types'})"

    def clean_vendor(self) -> Vendor:
        pk = self.cleaned_data["vendor"]
        if pk not in self.vendors:
            raise forms.ValidationError("Choose an active vendor from the list.")
        return self.vendors[pk]


class ConfirmForm(TransitionForm):
    vendor_reference = forms.CharField(
        help_text="The vendor's own confirmation number, as they gave it.",
    )


class ServiceModelForm(forms.ModelForm):
    """An admin form that parses types only and leaves every rule to the service.

    Django's model form would validate the model (its validators and database
    constraints) before ``save_model`` calls the service, and answer in other words
    than the portal and the API do ("Constraint ... is violated."). Here the form
    builds the instance and stops; the service checks it, and its refusal comes back
    beside the field it names (see ``partners.admin_forms``).
    """

    def _post_clean(self) -> None:
        try:
            self.instance = construct_instance(
                self, self.instance, self._meta.fields, self._meta.exclude
            )
        except ValidationError as exc:
            self._update_errors(exc)


class LocalServiceModelForm(LocalTimeFormMixin, ServiceModelForm):
    """An item's form: start and end read on the service's own clock."""


class LocalOfferLineForm(LocalTimeFormMixin, ServiceModelForm):
    vendor_field = "proposed_vendor"

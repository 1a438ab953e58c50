"""Forms of the portal's booking pages: a vendor's answers and a broker's requests.

They parse types and shapes only (a date is a date, a number a number). Whether a
value is allowed (not in the past, not too long, not a price from a broker) is
``bookings.services``' to say; its refusal comes back as a form error. No
``max_length`` here either: a browser cuts a pasted text to it without a word, where
the service refuses it and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.html import format_html

from bookings.models import BookingItem
from bookings.rules import MAX_ITEMS_PER_BOOKING
from core.domain import CURRENCY_CHOICES
from core.phones import PhoneFormField
from partners.local_forms import LocalTimeFormMixin
from partners.models import ServiceType
from partners.timezones import service_timezone, service_timezone_choices, timezone_names


class ActionForm(forms.Form):
    """A confirmation with nothing to fill in; carries the errors of a refused action."""


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label="Why can you not provide it?",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="We read this to find another supplier: e.g. fully booked on these dates.",
    )


class ConfirmForm(forms.Form):
    vendor_reference = forms.CharField(
        label="Your confirmation reference",
        help_text="The number or code in your own system for this booking.",
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Why are you cancelling?",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class BookingRequestForm(forms.Form):
    """The lead customer and the booking's terms."""

    customer_name = forms.CharField(label="Lead customer name")
    customer_email = forms.EmailField(label="Customer email", required=False)
    customer_phone = PhoneFormField(label="Customer phone")
    currency = forms.ChoiceField(label="Currency", choices=CURRENCY_CHOICES, initial="EUR")
    notes = forms.CharField(
        label="Notes for us",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Group size, special needs, anything we should know. Only our staff "
        "read this; suppliers never see it.",
    )


DATETIME_WIDGET = {"type": "datetime-local"}


class RequestItemForm(LocalTimeFormMixin, forms.Form):
    """One service the broker asks for. Prices and suppliers are ours to fill in.

    Its start and end are read where the service happens (``LocalTimeFormMixin``, as
    the admin reads them): in the zone chosen here, which is the item's own when it is
    being changed, else ``DEFAULT_SERVICE_TIMEZONE`` (a broker chooses no vendor whose
    zone could apply). The form says which zone it reads them in; a time that a
    daylight-saving change skips or repeats there is a field error in words.
    """

    service_type = forms.ChoiceField(label="Service", choices=ServiceType.choices)
    description = forms.CharField(label="What is needed", help_text="e.g. 2 double rooms, sea view")
    timezone = forms.CharField(required=False)  # the mixin's choice of zones, see below
    start = forms.DateTimeField(
        label="Starts",
        widget=forms.DateTimeInput(attrs=DATETIME_WIDGET, format="%Y-%m-%dT%H:%M"),
    )
    end = forms.DateTimeField(
        label="Ends",
        widget=forms.DateTimeInput(attrs=DATETIME_WIDGET, format="%Y-%m-%dT%H:%M"),
    )
    quantity = forms.IntegerField(label="Quantity", initial=1)

    def __init__(self, *args: Any, instance: BookingItem | None = None, **kwargs: Any) -> None:
        # An item of a draft being changed: its values, its times on its own clock.
        self.instance = instance
        if instance is not None:
            kwargs["initial"] = {
                name: getattr(instance, name)
                for name in ("service_type", "description", "timezone", "quantity")
            } | dict(kwargs.get("initial") or {})
        super().__init__(*args, **kwargs)

    def timezone_field(self, current: str) -> forms.Field:
        return forms.ChoiceField(
            required=False,
            choices=service_timezone_choices(),
            initial=service_timezone(current=current),
            label="Where the service happens",
            help_text="Its timezone: start and end are the local time there.",
        )

    def local_time_help(self, current: str) -> str:
        return format_html(
            'Times are local to the service: <strong data-zone-hint="">{}</strong>',
            self.reading_zone(current),
        )

    def reading_zone(self, current: str = "") -> str:
        """The zone the times typed are read in: the one chosen (as posted, when it is a
        zone), else the item's own, else the site's default (``service_timezone``)."""
        posted = self.data.get(self.add_prefix("timezone"), "") if self.is_bound else ""
        chosen = posted if posted in timezone_names() else self.initial.get("timezone", "")
        return service_timezone(chosen=chosen or "", current=current)


class BaseRequestItemFormSet(forms.BaseFormSet):
    # Django's wording speaks of "forms"; people here add items.
    default_error_messages = {
        "too_few_forms": "Add at least one item.",
        "too_many_forms": "Request at most %(num)d items at once.",
    }

    # Rows typed so far, shown again (unbound, so without errors) after "add another item".
    carried: Sequence[dict[str, Any]] = ()

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = super().get_form_kwargs(index)
        if index is not None and index < len(self.carried):
            kwargs["initial"] = self.carried[index]
        return kwargs

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = "Remove this item"


RequestItemFormSet = forms.formset_factory(
    RequestItemForm,
    formset=BaseRequestItemFormSet,
    extra=0,
    min_num=1,
    validate_min=True,
    max_num=MAX_ITEMS_PER_BOOKING,
    validate_max=True,
    can_delete=True,
)


ITEMS_PREFIX = "items"


def request_forms_with_another_item(
    data: Any,
) -> tuple[BookingRequestForm, BaseRequestItemFormSet]:
    """The request form again as typed, rows marked "remove" dropped and one blank row
    added. Unbound on purpose: a half-filled request is not an error yet."""
    form = BookingRequestForm(
        initial={name: data.get(name, "") for name in BookingRequestForm.base_fields}
    )
    try:
        total = int(data.get(f"{ITEMS_PREFIX}-TOTAL_FORMS", 1))
    except (TypeError, ValueError):
        total = 1
    total = min(max(total, 1), RequestItemFormSet.max_num)
    rows = [
        {name: data.get(f"{ITEMS_PREFIX}-{i}-{name}", "") for name in RequestItemForm.base_fields}
        for i in range(total)
        if not data.get(f"{ITEMS_PREFIX}-{i}-DELETE")
    ]
    formset = RequestItemFormSet(prefix=ITEMS_PREFIX)
    formset.carried = rows
    wanted = min(len(rows) + 1, RequestItemFormSet.max_num)
    formset.extra = max(wanted - formset.min_num, 0)
    return form, formset

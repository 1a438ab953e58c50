"""Forms of the partner portal's account pages: login, invitation, profile."""

from __future__ import annotations

import logging
import math
from typing import Any

from axes.helpers import get_cool_off
from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from core.phones import PhoneFormField
from partners.models import Channel, Invitation
from partners.services import password_reset_request

logger = logging.getLogger(__name__)


def lockout_minutes(request: HttpRequest | None) -> int:
    cool_off = get_cool_off(request)
    return max(1, math.ceil(cool_off.total_seconds() / 60)) if cool_off else 15


class ThrottledLoginMixin:
    """Says why a login was refused when django-axes holds it back (see settings:
    ``AXES_*``): too many failures for this username from this client address.

    Mixed into Django's own login forms, before them: the portal's and the admin's.
    Axes refuses inside ``authenticate`` without checking the password; the form then
    shows this message instead of "wrong password", and the view answers 429.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "Too many failed attempts. Try again in %(minutes)s minute(s), "
        "or reset your password.",
    }

    throttled = False
    cleaned_data: dict[str, Any]
    request: HttpRequest | None

    def clean(self) -> dict[str, Any]:
        try:
            cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        except ValidationError:
            if getattr(self.request, "axes_locked_out", False):
                self.throttled = True
                raise ValidationError(
                    self.error_messages["throttled"],
                    code="throttled",
                    params={"minutes": lockout_minutes(self.request)},
                ) from None
            raise
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    """The portal's login: Django's form, by email or username, slowed after failures."""

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Email or username"
        self.fields["username"].widget.attrs["autocomplete"] = "username"

    def clean_username(self) -> str:
        """People log in with the email they were invited with, typed as they like."""
        value = self.cleaned_data["username"].strip()
        users = get_user_model().objects
        if "@" not in value or users.filter(username=value).exists():
            return value
        # Invited people's usernames are their lower-cased email.
        for lookup in ("username__iexact", "email__iexact"):
            matches = list(users.filter(**{lookup: value}).values_list("username", flat=True)[:2])
            if len(matches) == 1:
                return matches[0]
        return value


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The admin's login, slowed after failures like the portal's: staff accounts are
    the ones most worth guessing."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": ThrottledLoginMixin.error_messages["throttled"],
    }


class OutboxPasswordResetForm(PasswordResetForm):
    """Django's reset form; the email goes through the worker and the outbox instead of
    SMTP inside the request (``partners.services.password_reset_request``)."""

    def save(self, *args: Any, **kwargs: Any) -> None:
        password_reset_request(email=self.cleaned_data["email"])


class InvitationAcceptForm(forms.Form):
    """A new person's name and password, or an existing account's password to link it."""

    first_name = forms.CharField(label="First name")
    last_name = forms.CharField(label="Last name")
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, invitation: Invitation, existing_user: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.invitation = invitation
        self.existing_user = existing_user
        if existing_user is not None:
            # Linking an account: only its current password proves it is theirs.
            for name in ("first_name", "last_name", "password2"):
                del self.fields[name]
            self.fields["password1"].label = "Your current password"
            self.fields["password1"].help_text = ""
            self.fields["password1"].widget.attrs["autocomplete"] = "current-password"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.existing_user is not None:
            return cleaned
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords do not match.")
        elif password1:
            user = get_user_model()(
                username=self.invitation.email,
                email=self.invitation.email,
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                password_validation.validate_password(password1, user)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class ProfileForm(forms.Form):
    """The partner's own contact details and, for vendors, how they want to be told."""

    email = forms.EmailField(label="Contact email", max_length=254)
    phone = PhoneFormField(label="Phone (WhatsApp)")
    notify_by = forms.MultipleChoiceField(
        label="Tell us about new items by",
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one channel."},
    )

    def __init__(self, *args: Any, vendor: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not vendor:
            del self.fields["notify_by"]

    def changes(self) -> dict[str, Any]:
        """The cleaned values in the order the model keeps them (channels as a list)."""
        data = dict(self.cleaned_data)
        if "notify_by" in data:
            data["notify_by"] = [c for c in Channel.values if c in data["notify_by"]]
        return data

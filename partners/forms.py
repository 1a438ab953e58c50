"""Forms of the partner portal's account pages: login, invitation, profile."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from partners.models import E164_VALIDATOR, Channel, Invitation

logger = logging.getLogger(__name__)


class LoginThrottle:
    """Slows down password guessing: after ``LOGIN_FAILURE_LIMIT`` failed logins for one
    username from one address within ``LOGIN_FAILURE_WINDOW`` seconds, that pair is
    refused for ``LOGIN_LOCKOUT_SECONDS`` without the password even being checked.

    Keyed by username *and* address, so someone guessing from elsewhere cannot lock a
    partner out of their own account. The counters live in the default cache, which in
    production is shared by every process (database or Redis).
    """

    def __init__(self, *, username: str, address: str) -> None:
        raw = f"{username.strip().lower()}|{address}".encode()
        digest = hashlib.sha256(raw).hexdigest()
        self.count_key = f"login-failures:{digest}"
        self.block_key = f"login-blocked:{digest}"
        self.limit: int = getattr(settings, "LOGIN_FAILURE_LIMIT", 5)
        self.window: int = getattr(settings, "LOGIN_FAILURE_WINDOW", 15 * 60)
        self.lockout: int = getattr(settings, "LOGIN_LOCKOUT_SECONDS", 15 * 60)

    def blocked_for(self) -> int:
        """Seconds left of a lockout, 0 when logging in is allowed."""
        until = cache.get(self.block_key)
        if until is None:
            return 0
        return max(0, math.ceil(until - time.time()))

    def failed(self) -> None:
        cache.add(self.count_key, 0, timeout=self.window)
        try:
            failures = cache.incr(self.count_key)
        except ValueError:  # expired between add and incr
            cache.set(self.count_key, 1, timeout=self.window)
            failures = 1
        if failures >= self.limit:
            cache.set(self.block_key, time.time() + self.lockout, timeout=self.lockout)
            cache.delete(self.count_key)
            logger.warning("login locked out after %s failures", failures)

    def succeeded(self) -> None:
        cache.delete(self.count_key)


def client_address(request: HttpRequest | None) -> str:
    # REMOTE_ADDR, not X-Forwarded-For: a header the client sets would let a guesser
    # pick a fresh "address" for every try.
    return (request.META.get("REMOTE_ADDR") if request else "") or "unknown"


class ThrottledLoginMixin:
    """Refuses a login form for a while after repeated failures (see ``LoginThrottle``).

    Mixed into Django's own login forms, before them: the portal's and the admin's.
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
        username = self.cleaned_data.get("username") or ""
        throttle = LoginThrottle(username=username, address=client_address(self.request))
        wait = throttle.blocked_for()
        if wait:
            self.throttled = True
            raise ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": max(1, math.ceil(wait / 60))},
            )
        try:
            cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        except ValidationError:
            if username:
                throttle.failed()
            raise
        throttle.succeeded()
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


class InvitationAcceptForm(forms.Form):
    """A new person's name and password, or an existing account's password to link it."""

    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)
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


class PhoneField(forms.CharField):
    """An E.164 number; spaces, dashes and brackets people type are dropped first."""

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        return "".join(ch for ch in value if ch not in " -().")


class ProfileForm(forms.Form):
    """The partner's own contact details and, for vendors, how they want to be told."""

    email = forms.EmailField(label="Contact email", max_length=254)
    phone = PhoneField(
        label="Phone (WhatsApp)",
        max_length=16,
        required=False,
        validators=[E164_VALIDATOR],
        help_text="International form with country code, e.g. +351912345678.",
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
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

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        wants_whatsapp = Channel.WHATSAPP in cleaned.get("notify_by", [])
        if wants_whatsapp and not cleaned.get("phone") and "phone" not in self.errors:
            self.add_error("phone", "Add a phone number to be told on WhatsApp.")
        return cleaned

    def changes(self) -> dict[str, Any]:
        """The cleaned values in the order the model keeps them (channels as a list)."""
        data = dict(self.cleaned_data)
        if "notify_by" in data:
            data["notify_by"] = [c for c in Channel.values if c in data["notify_by"]]
        return data

"""Portal plumbing shared by every portal view, and the partner's own pages.

``portal_view`` is the one door into the portal: it resolves the logged-in person's
partner through ``portal_account_for_user`` (an inactive partner has no access),
sends staff to the admin, and hands the view a ``Portal`` with the ``Actor`` every
service call uses. ``apply_service`` turns a refused change into a form error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from core.domain import Actor, DomainError
from partners import services
from partners.forms import InvitationAcceptForm, ProfileForm, ThrottledAuthenticationForm
from partners.models import Broker, PortalAccount, Vendor
from partners.selectors import portal_account_for_user

T = TypeVar("T")
View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class Portal:
    """Who is using the portal: their partner link and the actor for service calls."""

    account: PortalAccount
    actor: Actor

    @property
    def vendor(self) -> Vendor | None:
        return self.account.vendor

    @property
    def broker(self) -> Broker | None:
        return self.account.broker

    @property
    def partner(self) -> Vendor | Broker:
        return self.account.partner

    @property
    def kind(self) -> str:
        return "vendor" if self.account.vendor is not None else "broker"


def portal_view(kind: str | None = None) -> Callable[[View], View]:
    """Let in only people of an active partner (of ``kind`` if given: else a 404).

    Anonymous people go to the login page, staff to the admin. The view receives the
    request with ``request.portal`` set.
    """

    def decorator(view: View) -> View:
        @functools.wraps(view)
        @never_cache
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if user.is_staff:
                return redirect("admin:index")
            account = portal_account_for_user(user=user)
            if account is None:
                return render(request, "portal/no_access.html", status=403)
            portal = Portal(
                account=account,
                actor=Actor(user=user, vendor=account.vendor, broker=account.broker, via="portal"),
            )
            if kind is not None and portal.kind != kind:
                raise Http404("No such page.")
            request.portal = portal  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def apply_service(
    form: forms.BaseForm, call: Callable[[], T], *, rows: Sequence[forms.BaseForm] = ()
) -> T | None:
    """Run a service; if it refuses, put why on ``form`` (beside the field it names).

    ``rows`` are the forms of a list the service took (a request's items): an error
    the service ties to one of them (``row``) goes beside that row's field.
    """
    try:
        return call()
    except DomainError as exc:
        field = getattr(exc, "field", None)
        row = getattr(exc, "row", None)
        if row is not None and 0 <= row < len(rows):
            form = rows[row]
        form.add_error(field if field in form.fields else None, exc.message)
    except ValidationError as exc:  # a model's full_clean() refused a value
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc.messages)
    return None


def posted(request: HttpRequest) -> Any:
    """The submitted data on a POST (even an empty one), else None for an unbound form.

    Not ``request.POST or None``: a POST without fields would leave the form unbound.
    """
    return request.POST if request.method == "POST" else None


# --- accounts ------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """Django's login view with our template and the failed-login throttle."""

    authentication_form = ThrottledAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form: ThrottledAuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
        return response


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer to a login it held back (``AXES_LOCKOUT_CALLABLE``): the
    login page as the view rendered it, whose form says why, answered 429."""
    if original_response is None:
        original_response = HttpResponse(
            "Too many failed attempts. Try again later, or reset your password.",
            content_type="text/plain; charset=utf-8",
        )
    original_response.status_code = 429
    return original_response


# --- invitations ---------------------------------------------------------------------

INVALID_HELP = {
    "invitation_unknown": "Check that you opened the whole link from the email. If it still "
    "does not work, ask your contact at our office to send a new invitation.",
    "invitation_used": "This invitation has already been accepted. Log in with your email "
    "and password, or reset your password if you have forgotten it.",
    "invitation_replaced": "A newer invitation was sent to this address: open the link in "
    "the most recent email.",
    "invitation_expired": "Invitations are valid for a limited time. Ask your contact at our "
    "office to send you a new one.",
    "partner_inactive": "Your company's account with us is not active. Please contact our office.",
}


@sensitive_post_parameters("password1", "password2")
@csrf_protect
@never_cache
def invite_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Show the partner's name, take the person's name and password, log them in."""
    try:
        invitation = services.invitation_get_open(token=token)
    except services.InvitationInvalid as exc:
        context = {"error": exc.message, "help": INVALID_HELP.get(exc.code, ""), "code": exc.code}
        # Unknown is "not found"; used, replaced or expired links are gone for good.
        status = 404 if exc.code == "invitation_unknown" else 410
        return render(request, "portal/invite_invalid.html", context, status=status)
    existing_user = services.invitation_user(invitation=invitation)
    form = InvitationAcceptForm(posted(request), invitation=invitation, existing_user=existing_user)
    if request.method == "POST" and form.is_valid():
        user = apply_service(
            form,
            lambda: services.invitation_accept(
                token=token,
                password=form.cleaned_data["password1"],
                first_name=form.cleaned_data.get("first_name", ""),
                last_name=form.cleaned_data.get("last_name", ""),
            ),
        )
        if user is not None:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to the {invitation.partner.name} portal.")
            return redirect("portal:dashboard")
    context = {
        "invitation": invitation,
        "partner": invitation.partner,
        "partner_kind": invitation.partner._meta.verbose_name,
        "existing_user": existing_user,
        "form": form,
    }
    return render(request, "portal/invite_accept.html", context)


# --- profile -------------------------------------------------------------------------


@portal_view()
def profile(request: HttpRequest) -> HttpResponse:
    """The partner's contact details and (vendors) the channels they are told on."""
    portal: Portal = request.portal  # type: ignore[attr-defined]
    partner = portal.partner
    is_vendor = portal.kind == "vendor"
    initial = {"email": partner.email, "phone": partner.phone}
    if is_vendor:
        initial["notify_by"] = partner.notify_by
    form = ProfileForm(posted(request), initial=initial, vendor=is_vendor)
    if request.method == "POST" and form.is_valid():
        updated = apply_service(
            form,
            lambda: services.partner_update_contact(
                partner=partner, actor=portal.actor, **form.changes()
            ),
        )
        if updated is not None:
            messages.success(request, "Your details are saved.")
            return redirect("portal:profile")
    return render(
        request,
        "portal/profile.html",
        {"form": form, "partner": partner, "is_vendor": is_vendor, "nav": "profile"},
    )

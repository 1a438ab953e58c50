"""What the back-office admins share: transitions as actions and buttons, writes through
the services, the intermediate-page forms, and the partner forms.

Every admin write goes through a service. Two paths lead there:

* Transitions (approve, cancel, invite...) are declared once per admin as
  ``Transition`` objects; ``ServiceAdminMixin`` turns each into a changelist action
  and a button on the change page, both behind the same permission, both calling the
  service one object at a time (each call is its own transaction) and turning a
  refusal into an admin message.
* The add/change form and its inlines call the create/update services from
  ``save_model`` / ``save_formset``. Django runs those inside one transaction; if a
  service refuses, ``ServiceSaveFailed`` leaves that transaction (so nothing of the
  save survives) and the form is shown again with the service's reasons.

This module lives in ``partners`` because that app is the base of the import chain
(offers -> bookings -> partners): the other admins import from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import unquote
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from partners.domain import Actor, DomainError
from partners.models import ApiKey, Broker, Channel, ServiceType, Vendor
from partners.timezones import timezone_choices

SERVICE_ERRORS = (DomainError, ValidationError)

# --- small helpers ----------------------------------------------------------------

TONES = {
    "grey": "#6b7280",
    "amber": "#b45309",
    "blue": "#1d4ed8",
    "green": "#15803d",
    "darkgreen": "#166534",
    "red": "#b91c1c",
}


def badge(label: str, tone: str) -> str:
    """A coloured pill for a status; readable in the light and the dark theme."""
    return format_html(
        '<span class="status-badge" style="background:{};color:#fff;padding:1px 8px;'
        'border-radius:9px;font-size:11px;font-weight:600;white-space:nowrap">{}</span>',
        TONES.get(tone, TONES["grey"]),
        label,
    )


def admin_actor(request: HttpRequest) -> Actor:
    return Actor(user=request.user, via="admin")


def error_messages(exc: Exception) -> list[tuple[str | None, str]]:
    """(field or None, message) pairs of a ``DomainError`` or a Django ``ValidationError``."""
    if isinstance(exc, DomainError):
        return [(getattr(exc, "field", None), exc.message)]
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return [
                (None if field == NON_FIELD_ERRORS else field, message)
                for field, field_messages in exc.message_dict.items()
                for message in field_messages
            ]
        return [(None, message) for message in exc.messages]
    return [(None, str(exc))]


def describe(exc: Exception) -> str:
    """One readable sentence for an admin message."""
    parts = []
    for field, message in error_messages(exc):
        parts.append(f"{field.replace('_', ' ')}: {message}" if field else message)
    return " ".join(parts)


class ServiceSaveFailed(Exception):
    """A service refused part of an admin form's save; carries its reasons."""

    def __init__(self, errors: list[tuple[str | None, str]]) -> None:
        super().__init__("; ".join(message for _, message in errors))
        self.errors = errors


@contextmanager
def service_errors(prefix: str = "", *, keep_fields: bool = True) -> Iterator[None]:
    """Turn a service's refusal into ``ServiceSaveFailed`` (see the module docstring)."""
    try:
        yield
    except SERVICE_ERRORS as exc:
        raise ServiceSaveFailed(
            [
                (field if keep_fields else None, f"{prefix}{message}")
                for field, message in error_messages(exc)
            ]
        ) from exc


def save_rows(
    request: HttpRequest,
    formset: Any,
    *,
    noun: str,
    fields: Sequence[str],
    add: Callable[[Any, Actor, dict[str, Any]], Model],
    update: Callable[[Any, Actor, dict[str, Any]], Any],
    remove: Callable[[Any, Actor], Any],
) -> None:
    """Save an inline's rows through the services: remove, update or add each row.

    A row's domain error becomes a form error labelled with the row ("Item 2 (...): ").
    """
    actor = admin_actor(request)
    parent = formset.instance
    for number, form in enumerate(formset.forms, start=1):
        row = form.instance
        label = f"{noun} {number} ({row.description or 'new'}): "
        with service_errors(label, keep_fields=False):
            deleting = formset._should_delete_form(form)
            if row.pk is not None and deleting:
                remove(row, actor)
                formset.deleted_objects.append(row)
            elif row.pk is not None:
                changed = {k: form.cleaned_data[k] for k in form.changed_data if k in fields}
                if changed:
                    update(row, actor, changed)
                    formset.changed_objects.append((row, list(changed)))
            elif form.has_changed() and not deleting:
                data = {k: form.cleaned_data[k] for k in fields}
                formset.new_objects.append(add(parent, actor, data))


class ServiceErrorsFormMixin:
    """Adds the reasons of a refused save to a form, so it is shown again, invalid."""

    service_errors: Sequence[tuple[str | None, str]] = ()

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        for field, message in self.service_errors:
            target = field if field in self.fields else None  # type: ignore[attr-defined]
            self.add_error(target, message)  # type: ignore[attr-defined]
        return cleaned


def adopt(target: Model, saved: Model) -> None:
    """Make the admin's unsaved instance the row a create service just saved.

    Django keeps using the instance it built from the form (inline formsets hang on
    it, the success message names it), so it takes the saved row's values and pk.
    """
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


def save_through_services(
    request: HttpRequest,
    obj: Model,
    form: Any,
    change: bool,
    *,
    fields: Sequence[str],
    create: Callable[[Actor, dict[str, Any]], Model],
    update: Callable[[Model, Actor, dict[str, Any]], Any],
) -> Model | None:
    """An admin ``save_model`` through the services: a change passes only the fields
    the form changed to ``update`` (nothing at all when none did); an add passes every
    field to ``create`` and adopts the row it saved, which it returns."""
    actor = admin_actor(request)
    data = {name: form.cleaned_data[name] for name in fields if name in form.cleaned_data}
    with service_errors():
        if change:
            changed = {name: data[name] for name in form.changed_data if name in data}
            if changed:
                update(obj, actor, changed)
            return None
        saved = create(actor, data)
    adopt(obj, saved)
    return saved


# --- transitions --------------------------------------------------------------------

Call = Callable[..., Any]


def calling(service: Call, arg: str) -> Call:
    """Adapt ``service(<arg>=obj, actor=..., **data)`` to ``call(obj, actor, data)``."""

    def call(obj: Any, actor: Actor, data: dict[str, Any]) -> Any:
        return service(**{arg: obj}, actor=actor, **data)

    call.__name__ = getattr(service, "__name__", "call")
    return call


def always(obj: Any) -> bool:
    return True


@dataclass(frozen=True)
class Transition:
    """One state change offered as an action and as a button.

    ``when`` only decides whether the button is shown on an object's page; the
    service alone decides whether the change is allowed.
    """

    name: str
    label: str
    call: Call
    done: str
    permission: str = "change"
    form: type[TransitionForm] | None = None
    when: Callable[[Any], bool] = always
    danger: bool = False
    confirm: bool = False
    help: str = ""

    @property
    def direct(self) -> bool:
        """Whether the change-page button posts at once (no input, not destructive)."""
        return self.form is None and not self.confirm and not self.danger


class TransitionForm(forms.Form):
    """Base of intermediate-page forms. ``objects`` are the rows the change applies to."""

    def __init__(self, *args: Any, objects: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.objects = list(objects)


class ReasonForm(TransitionForm):
    # No max_length: a browser would cut a longer text to it without a word; the
    # service refuses it and says so.
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded in the history and, where someone is told, in their message.",
    )


class OptionalReasonForm(ReasonForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = False


APPLY = "_transition_apply"


class ServiceAdminMixin:
    """ModelAdmin mixin: writes through services, transitions as actions and buttons.

    Subclasses declare ``transitions`` and may override ``object_label`` (how an
    object is named in messages) and ``save_formset_through`` (per inline model).
    """

    transitions: tuple[Transition, ...] = ()
    stay_after_add = False
    change_form_template = "admin/service_change_form.html"
    transition_template = "admin/transition_form.html"

    # Typing aids: these come from ModelAdmin.
    opts: Any
    model: Any
    admin_site: Any
    actions: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self.actions = [*(self.actions or []), *(self._action(t) for t in self.transitions)]

    # ---- naming --------------------------------------------------------------------

    def object_label(self, obj: Any) -> str:
        return str(obj)

    def _labels(self, objects: Sequence[Any]) -> str:
        names = [self.object_label(obj) for obj in objects[:10]]
        more = len(objects) - len(names)
        return ", ".join(names) + (f" and {more} more" if more else "")

    # ---- running a transition ------------------------------------------------------

    def _transition(self, name: str) -> Transition:
        for transition in self.transitions:
            if transition.name == name:
                return transition
        raise Http404("No such change.")

    def _allowed(self, request: HttpRequest, transition: Transition, obj: Any = None) -> bool:
        check = getattr(self, f"has_{transition.permission}_permission")
        return bool(check(request, obj))

    def run_transition(
        self,
        request: HttpRequest,
        transition: Transition,
        objects: Sequence[Any],
        data: dict[str, Any],
    ) -> list[Any]:
        """Call the service for each object; one message per refusal, one for the rest.

        Each call is its own transaction, so a refused object leaves the others done.
        """
        actor = admin_actor(request)
        done = []
        for obj in objects:
            try:
                transition.call(obj, actor, dict(data))
            except SERVICE_ERRORS as exc:
                self.message_user(  # type: ignore[attr-defined]
                    request, f"{self.object_label(obj)}: {describe(exc)}", messages.ERROR
                )
            else:
                done.append(obj)
        if done:
            self.message_user(  # type: ignore[attr-defined]
                request, f"{transition.done}: {self._labels(done)}.", messages.SUCCESS
            )
        return done

    def _action(self, transition: Transition) -> Callable[..., Any]:
        def action(modeladmin: Any, request: HttpRequest, queryset: QuerySet) -> Any:
            return modeladmin.transition_action(request, queryset, transition)

        action.__name__ = f"transition_{transition.name}"
        label = transition.label + ("…" if transition.form else "")
        return admin.action(description=label, permissions=[transition.permission])(action)

    def transition_action(
        self, request: HttpRequest, queryset: QuerySet, transition: Transition
    ) -> HttpResponse | None:
        objects = list(queryset)
        if transition.form is None:
            self.run_transition(request, transition, objects, {})
            return None
        if APPLY in request.POST:
            form = transition.form(request.POST, objects=objects)
            if form.is_valid():
                self.run_transition(request, transition, objects, form.cleaned_data)
                return None
        else:
            form = transition.form(objects=objects)
        return self._render_transition(request, transition, objects, form, bulk=True)

    def _next_url(self, request: HttpRequest, obj: Any) -> str:
        candidate = request.POST.get("next") or request.GET.get("next") or ""
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])

    def transition_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        """GET: the page asking for the input (or a confirmation); POST: do it."""
        transition = self._transition(name)
        obj = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id.")
        if not self._allowed(request, transition, obj):
            raise PermissionDenied
        next_url = self._next_url(request, obj)
        form = None
        if request.method == "POST":
            if transition.form is not None:
                form = transition.form(request.POST, objects=[obj])
            if form is None or form.is_valid():
                data = form.cleaned_data if form is not None else {}
                self.run_transition(request, transition, [obj], data)
                return HttpResponseRedirect(next_url)
        elif transition.form is not None:
            form = transition.form(objects=[obj])
        return self._render_transition(
            request, transition, [obj], form, bulk=False, next_url=next_url
        )

    def _render_transition(
        self,
        request: HttpRequest,
        transition: Transition,
        objects: Sequence[Any],
        form: forms.Form | None,
        *,
        bulk: bool,
        next_url: str = "",
    ) -> HttpResponse:
        opts = self.opts
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        subject = (
            self.object_label(objects[0])
            if len(objects) == 1
            else f"{len(objects)} {opts.verbose_name_plural}"
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "app_label": opts.app_label,
            "title": f"{transition.label}: {subject}",
            "subtitle": None,
            "transition": transition,
            "objects": [(obj, self.object_label(obj)) for obj in objects],
            "single": objects[0] if not bulk and objects else None,
            "form": form,
            "media": self.media + (form.media if form is not None else forms.Media()),  # type: ignore[attr-defined]
            "bulk": bulk,
            "apply_name": APPLY,
            "action_name": f"transition_{transition.name}",
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "form_url": request.get_full_path() if not bulk else changelist,
            "next_url": next_url,
            "cancel_url": next_url or changelist,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.transition_template, context)

    # ---- change page buttons and urls ----------------------------------------------

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        urls = [
            path(
                "<path:object_id>/transition/<slug:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="{}_{}_transition".format(*info),
            )
        ]
        return urls + super().get_urls()  # type: ignore[misc]

    def transition_url(self, obj: Any, name: str, next_url: str = "") -> str:
        url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_transition", args=[obj.pk, name]
        )
        return f"{url}?{urlencode({'next': next_url})}" if next_url else url

    def transition_buttons(self, request: HttpRequest, obj: Any) -> list[dict[str, Any]]:
        return [
            {
                "label": t.label,
                "url": self.transition_url(obj, t.name),
                "direct": t.direct,
                "danger": t.danger,
                "name": t.name,
            }
            for t in self.transitions
            if t.when(obj) and self._allowed(request, t, obj)
        ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None and obj.pk and change:
            context["transition_buttons"] = self.transition_buttons(request, obj)
        return super().render_change_form(  # type: ignore[misc]
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )

    # ---- the add/change form writes through services ------------------------------

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(  # type: ignore[misc]
                request, object_id, form_url, extra_context
            )
        except ServiceSaveFailed as failed:
            # Django's transaction for the save was rolled back on the way out, so
            # nothing of it is left. Show the same form with the reasons; this pass
            # saves nothing because the form is invalid.
            request._service_errors = failed.errors  # type: ignore[attr-defined]
            return super().changeform_view(  # type: ignore[misc]
                request, object_id, form_url, extra_context
            )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        form = super().get_form(request, obj, change, **kwargs)  # type: ignore[misc]
        errors = getattr(request, "_service_errors", None)
        if errors:
            form = type(form.__name__, (ServiceErrorsFormMixin, form), {"service_errors": errors})
        return form

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        response = super().response_add(request, obj, post_url_continue)  # type: ignore[misc]
        # A new booking or offer is a draft: its next step (submit, send) is a button
        # on its own page, so "Save" lands there rather than on the list.
        if (
            self.stay_after_add
            and isinstance(response, HttpResponseRedirect)
            and "_addanother" not in request.POST
            and IS_POPUP_VAR not in request.POST
        ):
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])
            )
        return response

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        raise NotImplementedError("Each back-office admin saves through its services.")

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # No many-to-many fields here; the inlines save through the services.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        saver = self.formset_savers().get(formset.model)
        if saver is not None:
            saver(request, formset)

    def formset_savers(self) -> dict[type[Model], Callable[[HttpRequest, Any], None]]:
        """The function that saves each editable inline's rows through a service."""
        return {}

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
        except ServiceSaveFailed as failed:
            for _, message in failed.errors:
                self.message_user(request, message, messages.ERROR)  # type: ignore[attr-defined]
            return HttpResponseRedirect(
                reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                    args=[unquote(object_id)],
                )
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        raise PermissionDenied

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        raise PermissionDenied


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
        fields = ["name", "email", "phone", "commission_rate"]


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

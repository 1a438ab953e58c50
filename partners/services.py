"""Services for vendors, brokers, invitations and portal accounts.

The rules every door's input meets here: a partner's name is one line of at most 200
characters (no control characters: it becomes an email's display name); a vendor
told by WhatsApp has a phone number, whoever sets the channels (staff in the admin
or the API, the vendor in the portal); names given when accepting an invitation and
an API key's name are refused when too long, never cut (``partners.rules``).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from core.audit import audit
from core.changes import apply_changes, audit_changes, save_changes
from core.domain import Actor, DomainError, InvalidTransition, NotPermitted, ValidationFailed
from notifications.formatting import format_moment
from notifications.services import Recipient, notify
from partners.models import ApiKey, Broker, Channel, Invitation, PortalAccount, Vendor
from partners.rules import NAME_LENGTH, REFERENCE_LENGTH, check_text
from partners.timezones import check_timezone

logger = logging.getLogger(__name__)

Partner = Vendor | Broker

VENDOR_FIELDS = {
    "name",
    "email",
    "phone",
    "service_types",
    "notify_by",
    "timezone",
    "response_hours",
}
# Hours a vendor may be given to answer a request (a month at most).
RESPONSE_HOURS_RANGE = (1, 24 * 30)
BROKER_FIELDS = {
    "name",
    "email",
    "phone",
    "commission_rate",
    "deposit_percent",
    "deposit_due_days",
    "balance_due_days",
}


class InvitationInvalid(DomainError):
    code = "invitation_invalid"


def _perm(partner: Partner | type[Partner], verb: str) -> str:
    return f"partners.{verb}_{partner._meta.model_name}"


def _check_fields(model: type[Partner], fields: dict[str, Any]) -> None:
    allowed = VENDOR_FIELDS if model is Vendor else BROKER_FIELDS
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if "name" in fields:
        check_text(
            fields["name"], field="name", label="The name", max_length=NAME_LENGTH, required=True
        )
    for name, label in (("email", "The email"), ("phone", "The phone")):
        if name in fields:
            check_text(fields[name], field=name, label=label, max_length=NAME_LENGTH)
    if "timezone" in fields:
        fields["timezone"] = check_timezone(fields["timezone"])
    hours = fields.get("response_hours")
    low, high = RESPONSE_HOURS_RANGE
    if hours is not None and not (isinstance(hours, int) and low <= hours <= high):
        raise ValidationFailed(
            f"The hours to answer are between {low} and {high}, or empty for the site's "
            "default.",
            field="response_hours",
        )


def _check_channels(partner: Partner) -> None:
    """WhatsApp messages need a number to go to."""
    wants_whatsapp = Channel.WHATSAPP in (getattr(partner, "notify_by", None) or [])
    if isinstance(partner, Vendor) and wants_whatsapp and not partner.phone:
        raise ValidationFailed("Add a phone number to be told on WhatsApp.", field="phone")


@transaction.atomic
def vendor_create(*, actor: Actor, **fields: Any) -> Vendor:
    """Create a vendor. Nobody is told: inviting is a separate step."""
    return _partner_create(Vendor, actor=actor, fields=fields)  # type: ignore[return-value]


@transaction.atomic
def broker_create(*, actor: Actor, **fields: Any) -> Broker:
    """Create a broker. Nobody is told: inviting is a separate step."""
    return _partner_create(Broker, actor=actor, fields=fields)  # type: ignore[return-value]


def _partner_create(model: type[Partner], *, actor: Actor, fields: dict[str, Any]) -> Partner:
    actor.require_perm(_perm(model, "add"), f"add a {model._meta.verbose_name}")
    _check_fields(model, fields)
    partner = model(**fields)
    _check_channels(partner)
    partner.full_clean()
    partner.save()
    audit(partner, "created", actor, **{k: str(v) for k, v in fields.items()})
    return partner


@transaction.atomic
def partner_update(*, partner: Partner, actor: Actor, **fields: Any) -> Partner:
    """Change a partner's details; only the fields given are written."""
    model = type(partner)
    actor.require_perm(_perm(model, "change"), f"change a {model._meta.verbose_name}")
    _check_fields(model, fields)
    partner = model.objects.select_for_update().get(pk=partner.pk)
    changed = apply_changes(partner, fields)
    if not changed:
        return partner
    _check_channels(partner)
    save_changes(partner, changed)
    audit(partner, "updated", actor, changed=audit_changes(changed))
    return partner


@transaction.atomic
def partner_deactivate(*, partner: Partner, actor: Actor) -> Partner:
    """Active -> inactive: the partner's users and API keys stop working; nothing is deleted."""
    return _partner_set_active(partner=partner, actor=actor, active=False)


@transaction.atomic
def partner_activate(*, partner: Partner, actor: Actor) -> Partner:
    """Inactive -> active again."""
    return _partner_set_active(partner=partner, actor=actor, active=True)


def _partner_set_active(*, partner: Partner, actor: Actor, active: bool) -> Partner:
    model = type(partner)
    actor.require_perm(_perm(model, "change"), f"change a {model._meta.verbose_name}")
    partner = model.objects.select_for_update().get(pk=partner.pk)
    if partner.is_active == active:
        state = "active" if active else "inactive"
        raise InvalidTransition(f"{partner.name} is already {state}.")
    partner.is_active = active
    partner.deactivated_at = None if active else timezone.now()
    partner.save(update_fields=["is_active", "deactivated_at", "updated_at"])
    audit(
        partner,
        "activated" if active else "deactivated",
        actor,
        from_status="inactive" if active else "active",
        to_status="active" if active else "inactive",
    )
    return partner


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def partner_invite(
    *, partner: Partner, actor: Actor, email: str | None = None
) -> tuple[Invitation, str]:
    """Invite someone (by default the partner's contact) to the portal; email them the link.

    Re-inviting the same address replaces its open invitation: the old link stops
    working. Returns the invitation and the raw token, which is stored nowhere else.
    """
    model = type(partner)
    actor.require_perm(_perm(model, "change"), f"invite people to a {model._meta.verbose_name}")
    partner = model.objects.select_for_update().get(pk=partner.pk)
    if not partner.is_active:
        raise InvalidTransition(f"{partner.name} is inactive; activate it before inviting.")
    email = (email or partner.email).strip()
    if not email:
        raise ValidationFailed("An email address is needed for the invitation.", field="email")
    owner = {"vendor": partner} if isinstance(partner, Vendor) else {"broker": partner}
    now = timezone.now()
    replaced = Invitation.objects.filter(
        **owner, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        **owner,
        email=email,
        token_hash=hash_token(token),
        created_by=actor.audit_user,
        expires_at=now + timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    entry = audit(partner, "reinvited" if replaced else "invited", actor, email=email)
    link = settings.SITE_URL + reverse("portal:invite-accept", args=[token])
    notify(
        kind="partner_invited",
        recipients=[Recipient(name=partner.name, email=email, link=link, secret_link=True)],
        context={
            "partner_name": partner.name,
            "partner_kind": model._meta.verbose_name,
            "expires": format_moment(invitation.expires_at),
            "reinvite": bool(replaced),
        },
        target=partner,
        cause=entry,
    )
    return invitation, token


def invitation_get_open(*, token: str) -> Invitation:
    """The open invitation for ``token``, or ``InvitationInvalid`` saying why not."""
    invitation = (
        Invitation.objects.select_related("vendor", "broker")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None:
        raise InvitationInvalid("This invitation link is not valid.", code="invitation_unknown")
    if invitation.accepted_at is not None:
        raise InvitationInvalid("This invitation has already been used.", code="invitation_used")
    if invitation.revoked_at is not None:
        raise InvitationInvalid(
            "This invitation was replaced by a newer one; use the link in the latest email.",
            code="invitation_replaced",
        )
    if invitation.expires_at <= timezone.now():
        raise InvitationInvalid("This invitation has expired.", code="invitation_expired")
    if not invitation.partner.is_active:
        raise InvitationInvalid("This partner account is inactive.", code="partner_inactive")
    return invitation


def _free_username(email: str) -> str:
    """The lower-cased email as username, suffixed if someone already has it."""
    user_model = get_user_model()
    base = email.lower()[:140]
    username, n = base, 1
    while user_model.objects.filter(username__iexact=username).exists():
        n += 1
        username = f"{base}-{n}"
    return username


def invitation_user(*, invitation: Invitation) -> Any:
    """The existing account the invitation will be linked to, or None for a new one."""
    return get_user_model().objects.filter(email__iexact=invitation.email).order_by("pk").first()


@transaction.atomic
def invitation_accept(
    *,
    token: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
) -> AbstractBaseUser:
    """Open -> accepted: make (or link) the user for the invited email and join the partner.

    An email that already has an account is linked to the partner rather than
    duplicated; its password must then be the account's own and its name is kept.
    A new account's password must pass ``AUTH_PASSWORD_VALIDATORS`` (Django's
    ``ValidationError`` otherwise). Nothing is written unless it all succeeds.
    """
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        check_text(value, field=field, label="Your name", max_length=150)
    invitation = invitation_get_open(token=token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:  # lost a race with another accept
        raise InvitationInvalid("This invitation has already been used.", code="invitation_used")
    user = invitation_user(invitation=invitation)
    if user is None:
        user = get_user_model()(
            username=_free_username(invitation.email),
            email=invitation.email,
            first_name=(first_name or "").strip(),
            last_name=(last_name or "").strip(),
        )
        validate_password(password, user)
        user.set_password(password)
        user.save()
    else:
        if not user.check_password(password):
            raise NotPermitted(
                "An account with this email already exists; enter its current password to link it."
            )
        if not user.is_active:
            raise NotPermitted("The account with this email is disabled; please contact us.")
        if user.is_staff:
            raise NotPermitted("Staff accounts cannot join a partner portal.")
        account = PortalAccount.objects.filter(user=user).first()
        if account is not None and account.partner != invitation.partner:
            raise NotPermitted("This account already belongs to another partner.")
    PortalAccount.objects.get_or_create(
        user=user, defaults={"vendor": invitation.vendor, "broker": invitation.broker}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit(
        invitation.partner,
        "invitation_accepted",
        Actor(user=user, via="portal"),
        email=invitation.email,
    )
    return user


def password_reset_request(*, email: str) -> None:
    """Someone asked for a password-reset link for ``email``: hand it to the worker.

    The request does only this, the same for every address, so the page answers in
    the same time whether or not the address has an account (looking it up and
    rendering the message here took some 10 ms more for a known one). The worker runs
    ``password_reset_email``.
    """
    from django_q.tasks import async_task

    try:
        async_task(
            "partners.tasks.password_reset_email",
            email,
            task_name="password-reset",
            group="accounts",
            save=False,
        )
    except Exception:
        # The page says the same either way; the person can ask again.
        logger.exception("could not queue a password reset request")


def password_reset_email(*, email: str) -> int:
    """(Worker) Record a reset email for each active account of ``email`` that has a
    password, as Django's reset form chooses them. Returns how many."""
    sent = 0
    for user in PasswordResetForm().get_users(email):
        address = getattr(user, user.get_email_field_name())
        password_reset_send(
            user=user,
            email=address,
            uid=urlsafe_base64_encode(force_bytes(user.pk)),
            token=default_token_generator.make_token(user),
        )
        sent += 1
    return sent


@transaction.atomic
def password_reset_send(*, user: Any, email: str, uid: str, token: str) -> None:
    """Email ``user`` a link to choose a new password, through the outbox.

    The link is a secret: it is stored sealed and put into the message only when the
    worker sends it.
    """
    link = settings.SITE_URL + reverse("password_reset_confirm", args=[uid, token])
    notify(
        kind="password_reset",
        recipients=[Recipient(name=user.get_full_name(), email=email, link=link, secret_link=True)],
        context={"email": email, "first_name": user.first_name},
        target=user,
    )


PORTAL_VENDOR_FIELDS = {"email", "phone", "notify_by"}
PORTAL_BROKER_FIELDS = {"email", "phone"}


@transaction.atomic
def partner_update_contact(*, partner: Partner, actor: Actor, **fields: Any) -> Partner:
    """A partner changes its own contact details (and a vendor its channels) in the portal.

    Narrower than ``partner_update``, which needs a staff permission: only the
    partner's own people, and only the contact email, phone and (vendors) channels.
    """
    is_vendor = isinstance(partner, Vendor)
    own = actor.vendor if is_vendor else actor.broker
    if own is None or own.pk != partner.pk:
        raise NotPermitted("You can change only your own company's details.")
    unknown = set(fields) - (PORTAL_VENDOR_FIELDS if is_vendor else PORTAL_BROKER_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.")
    _check_fields(type(partner), fields)
    model = type(partner)
    partner = model.objects.select_for_update().get(pk=partner.pk)
    changed = apply_changes(partner, fields)
    if not changed:
        return partner
    _check_channels(partner)
    save_changes(partner, changed)
    audit(partner, "updated", actor, changed=audit_changes(changed))
    return partner


API_KEY_PREFIX = "bk"


def _check_key_user(*, actor: Actor, user: Any) -> None:
    """A staff key acts with its user's permissions, so it must never carry more than
    its creator holds: staff make keys for themselves (or partners); only a superuser,
    who holds every permission, makes one for another staff user."""
    if not user.is_staff:
        raise ValidationFailed(
            "Only staff users hold personal keys; give a partner's key to its vendor "
            "or broker instead.",
            field="user",
        )
    if not user.is_active:
        raise ValidationFailed(f"{user.get_username()} is inactive.", field="user")
    if actor.is_system:
        return
    creator = actor.audit_user
    if creator is not None and (creator.pk == user.pk or creator.is_superuser):
        return
    raise NotPermitted(
        "You can create API keys only for yourself and for partners; only a superuser "
        "can create one for another staff user."
    )


@transaction.atomic
def api_key_create(
    *,
    actor: Actor,
    name: str = "",
    user: Any = None,
    vendor: Vendor | None = None,
    broker: Broker | None = None,
) -> tuple[ApiKey, str]:
    """Make an API key for exactly one owner. Returns the key and the raw secret,
    which is shown once and stored only as a SHA-256 hash.

    Raw keys look like ``bk_<8 hex prefix>_<43 url-safe chars>``; the prefix finds the
    row, the hash proves the key.
    """
    if sum(owner is not None for owner in (user, vendor, broker)) != 1:
        raise ValidationFailed("An API key belongs to exactly one user, vendor or broker.")
    check_text(name, field="name", label="The key's name", max_length=REFERENCE_LENGTH)
    actor.require_perm("partners.add_apikey", "create API keys")
    if user is not None:
        _check_key_user(actor=actor, user=user)
    for field, partner in (("vendor", vendor), ("broker", broker)):
        if partner is not None and not partner.is_active:
            raise ValidationFailed(f"{partner.name} is inactive.", field=field)
    prefix = secrets.token_hex(4)
    while ApiKey.objects.filter(prefix=prefix).exists():  # pragma: no cover - 1 in 4e9
        prefix = secrets.token_hex(4)
    raw = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        key_hash=hash_token(raw),
        user=user,
        vendor=vendor,
        broker=broker,
        created_by=actor.audit_user,
    )
    audit(key, "created", actor, owner=str(key.owner))
    return key, raw


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: Actor) -> ApiKey:
    """Active -> revoked: the key stops working at once and for good."""
    actor.require_perm("partners.change_apikey", "revoke API keys")
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        raise InvalidTransition("This API key is already revoked.")
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    audit(key, "revoked", actor, from_status="active", to_status="revoked")
    return key

"""Every change to an offer or its lines goes through one of these functions.

Offer: draft -> sent -> accepted | declined | expired; draft | sent -> withdrawn: the
table in ``offers.states``, which every service here uses as its guard.
Accepting creates the booking (pending approval) with one item per line, in the same
transaction: either both exist afterwards or neither does.

The rules every door's input meets here: a line is a service line like a booking
item (``bookings.rules``: not starting in the past, the end not before the start,
quantity 1 to 10000, prices 0 to 1,000,000 in cents, at most
``MAX_ITEMS_PER_BOOKING`` lines); an offer names a broker or a customer; names and
contact details are single lines; notes at most 5000 characters, reasons 2000
(refused, never cut: ``partners.rules``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bookings import services as booking_services
from bookings.models import ZERO, Booking, new_reference
from bookings.rules import check_line_count, check_service_line
from core.audit import audit
from core.changes import apply_changes, audit_changes, save_changes
from core.domain import Actor, DomainError, InvalidTransition, NotPermitted, ValidationFailed
from core.phones import normalize_phone
from notifications.formatting import format_moment, format_money, format_when
from notifications.services import Recipient, notify, staff_recipients
from offers.models import Offer, OfferLine
from offers.states import OFFER
from partners.models import Broker
from partners.roles import AGENTS
from partners.rules import NAME_LENGTH, check_contact_text, check_reason, check_text
from partners.timezones import check_timezone

S = Offer.Status
OFFER_FIELDS = {
    "broker",
    "customer_name",
    "customer_email",
    "customer_phone",
    "currency",
    "valid_until",
    "notes",
}
LINE_FIELDS = {
    "service_type",
    "description",
    "start",
    "end",
    "quantity",
    "unit_price",
    "unit_cost",
    "proposed_vendor",
    "timezone",
}


def _lock(offer: Offer | int) -> Offer:
    pk = offer if isinstance(offer, int) else offer.pk
    return Offer.objects.select_for_update(of=("self",)).select_related("broker").get(pk=pk)


def _require_staff(actor: Actor, perm: str, action: str) -> None:
    if actor.is_partner:
        raise NotPermitted(f"Only staff can {action}.")
    actor.require_perm(perm, action)


def _check_keys(fields: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.")


def _unique_reference() -> str:
    for _ in range(20):
        reference = new_reference("OF")
        if not Offer.objects.filter(reference=reference).exists():
            return reference
    raise RuntimeError("Could not find a free offer reference.")  # pragma: no cover


def _recipients(offer: Offer) -> list[Recipient]:
    if offer.broker is not None:
        link = settings.SITE_URL + reverse("portal:offer-detail", args=[offer.reference])
        return [Recipient(name=offer.broker.name, email=offer.broker.email, link=link)]
    return [Recipient(name=offer.customer_name, email=offer.customer_email)]


def _context(offer: Offer) -> dict[str, Any]:
    lines = list(offer.lines.all())
    total = sum((line.total_price for line in lines), start=ZERO)
    return {
        "reference": offer.reference,
        "customer_name": offer.customer_name or (offer.broker.name if offer.broker else ""),
        "broker_name": offer.broker.name if offer.broker else "",
        "valid_until": format_moment(offer.valid_until),
        "total": format_money(total, offer.currency),
        "booking_reference": offer.booking.reference if offer.booking_id else "",
        "decline_reason": offer.decline_reason,
        "lines": [
            {
                "service": line.get_service_type_display(),
                "description": line.description,
                "when": format_when(line.start, line.end, line.timezone),
                "quantity": str(line.quantity),
                "price": format_money(line.total_price, offer.currency),
            }
            for line in lines
        ],
    }


def _tell(kind: str, offer: Offer, entry: Any, *, staff: bool = False) -> None:
    recipients = (
        staff_recipients(
            group=AGENTS,
            link=settings.SITE_URL + reverse("admin:offers_offer_change", args=[offer.pk]),
        )
        if staff
        else _recipients(offer)
    )
    notify(
        kind=kind,
        recipients=recipients,
        context=_context(offer),
        target=offer,
        cause=entry,
        reference=offer.reference,
    )


# --- offers -----------------------------------------------------------------------


@transaction.atomic
def offer_create(
    *,
    actor: Actor,
    valid_until: datetime,
    broker: Broker | None = None,
    customer_name: str = "",
    customer_email: str = "",
    customer_phone: str = "",
    currency: str = "EUR",
    notes: str = "",
    lines: Iterable[Mapping[str, Any]] = (),
    reference: str | None = None,
) -> Offer:
    """Create a draft offer with its lines. Nobody is told until it is sent.

    ``reference`` keeps an existing reference (imports, demo data).
    """
    _require_staff(actor, "offers.add_offer", "create offers")
    lines = list(lines)
    check_line_count(len(lines), holder="An offer", noun="lines", field="lines")
    check_contact_text(
        {
            "customer_name": customer_name,
            "customer_email": customer_email,
            "customer_phone": customer_phone,
            "notes": notes,
        },
        name_label="The customer's name",
    )
    if broker is None and not (customer_name or "").strip():
        raise ValidationFailed("An offer needs a broker or a customer name.", field="customer_name")
    offer = Offer(
        reference=reference or _unique_reference(),
        broker=broker,
        customer_name=customer_name,
        customer_email=customer_email,
        customer_phone=customer_phone,
        currency=currency,
        valid_until=valid_until,
        notes=notes,
        created_by=actor.audit_user,
    )
    offer.full_clean()
    offer.save()
    audit(offer, "created", actor, to_status=offer.status)
    for row, data in enumerate(lines):
        try:
            _line_create(offer=offer, actor=actor, data=data)
        except DomainError as exc:
            exc.message = f"Line {row + 1}: {exc.message}"
            exc.args = (exc.message,)
            exc.row = row  # type: ignore[attr-defined]
            raise
    return offer


@transaction.atomic
def offer_update(*, offer: Offer, actor: Actor, **fields: Any) -> Offer:
    """Change a draft offer."""
    _check_keys(fields, OFFER_FIELDS)
    offer = _lock(offer)
    OFFER.check("change", offer, actor)
    check_contact_text(fields, name_label="The customer's name")
    changed = apply_changes(offer, fields)
    if not changed:
        return offer
    if offer.broker is None and not (offer.customer_name or "").strip():
        raise ValidationFailed("An offer needs a broker or a customer name.", field="customer_name")
    save_changes(offer, changed)
    audit(offer, "updated", actor, changed=audit_changes(changed))
    return offer


@transaction.atomic
def offer_send(*, offer: Offer, actor: Actor) -> Offer:
    """draft -> sent. The broker or customer is told, with the lines and prices."""
    offer = _lock(offer)
    OFFER.check("send", offer, actor)
    offer.status = S.SENT
    offer.sent_at = timezone.now()
    offer.save(update_fields=["status", "sent_at", "updated_at"])
    entry = audit(offer, "sent", actor, from_status=S.DRAFT, to_status=S.SENT)
    _tell("offer_sent", offer, entry)
    return offer


def _lead_traveller(offer: Offer, *, name: str, email: str, phone: str) -> tuple[str, str, str]:
    """Who travels: as given, else the offer's customer. Never the broker's company name:
    an offer made to a broker without a customer needs the name given here, and a way
    to reach them (an email or a phone)."""
    name = check_text(
        (name or "").strip() or offer.customer_name,
        field="lead_name",
        label="The lead traveller's name",
        max_length=NAME_LENGTH,
    ).strip()
    if not name:
        raise ValidationFailed("Tell us who travels: the lead traveller's name.", field="lead_name")
    email = (email or "").strip() or offer.customer_email
    phone = (phone or "").strip() or offer.customer_phone
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            raise ValidationFailed(
                "Enter a valid email address for the lead traveller.", field="lead_email"
            ) from None
    if phone:
        phone = normalize_phone(phone, field="lead_phone")
    if not email and not phone:
        raise ValidationFailed(
            "Give the lead traveller's email or phone, so we can reach them.",
            field="lead_email",
        )
    return name, email, phone


@transaction.atomic
def offer_accept(
    *,
    offer: Offer,
    actor: Actor,
    lead_name: str = "",
    lead_email: str = "",
    lead_phone: str = "",
) -> Offer:
    """sent -> accepted, creating the booking (pending approval) with one item per line.

    The booking's lead customer is the lead traveller given here, else the offer's
    customer (see ``_lead_traveller``). A line's proposed vendor is assigned and asked
    with the booking's submission. Staff are told; approvers hear of the new booking
    through its submission.
    """
    offer = _lock(offer)
    OFFER.check("accept", offer, actor)
    lead = _lead_traveller(offer, name=lead_name, email=lead_email, phone=lead_phone)
    # The booking is the offer's consequence, not an act of the accepting partner:
    # it is created as the system, labelled with who accepted.
    system = Actor(via="offer", label=f"{actor} (offer {offer.reference})")
    booking = booking_services.booking_create(
        actor=system,
        broker=offer.broker,
        customer_name=lead[0],
        customer_email=lead[1],
        customer_phone=lead[2],
        currency=offer.currency,
        notes=offer.notes,
        source=Booking.Source.OFFER,
        items=[
            {
                "service_type": line.service_type,
                "description": line.description,
                "start": line.start,
                "end": line.end,
                "timezone": line.timezone,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "unit_cost": line.unit_cost,
                "vendor": line.proposed_vendor
                if line.proposed_vendor and line.proposed_vendor.is_active
                else None,
            }
            for line in offer.lines.select_related("proposed_vendor")
        ],
    )
    booking = booking_services.booking_submit(booking=booking, actor=system)
    offer.status = S.ACCEPTED
    offer.responded_at = timezone.now()
    offer.booking = booking
    offer.save(update_fields=["status", "responded_at", "booking", "updated_at"])
    entry = audit(
        offer,
        "accepted",
        actor,
        from_status=S.SENT,
        to_status=S.ACCEPTED,
        booking=booking.reference,
    )
    _tell("offer_accepted", offer, entry, staff=True)
    return offer


@transaction.atomic
def offer_decline(*, offer: Offer, actor: Actor, reason: str = "") -> Offer:
    """sent -> declined by the broker (or staff for a customer). Staff are told."""
    offer = _lock(offer)
    OFFER.check("decline", offer, actor)
    reason = check_reason(reason)
    offer.status = S.DECLINED
    offer.responded_at = timezone.now()
    offer.decline_reason = reason
    offer.save(update_fields=["status", "responded_at", "decline_reason", "updated_at"])
    entry = audit(
        offer,
        "declined",
        actor,
        from_status=S.SENT,
        to_status=S.DECLINED,
        reason=offer.decline_reason,
    )
    _tell("offer_declined", offer, entry, staff=True)
    return offer


@transaction.atomic
def offer_withdraw(*, offer: Offer, actor: Actor, reason: str = "") -> Offer:
    """draft | sent -> withdrawn by staff. A broker or customer holding it is told."""
    offer = _lock(offer)
    OFFER.check("withdraw", offer, actor)
    reason = check_reason(reason)
    previous = offer.status
    offer.status = S.WITHDRAWN
    offer.save(update_fields=["status", "updated_at"])
    entry = audit(
        offer, "withdrawn", actor, from_status=previous, to_status=S.WITHDRAWN, reason=reason
    )
    if previous == S.SENT:
        _tell("offer_withdrawn", offer, entry)
    return offer


@transaction.atomic
def offer_expire(*, offer: Offer, actor: Actor) -> Offer:
    """sent -> expired once ``valid_until`` has passed. The broker or customer is told."""
    offer = _lock(offer)
    OFFER.check("expire", offer, actor)
    offer.status = S.EXPIRED
    offer.save(update_fields=["status", "updated_at"])
    entry = audit(offer, "expired", actor, from_status=S.SENT, to_status=S.EXPIRED)
    _tell("offer_expired", offer, entry)
    return offer


def offers_expire_due(*, actor: Actor | None = None) -> int:
    """The scheduled sweep: expire every sent offer past ``valid_until``. Returns how many."""
    actor = actor or Actor(via="system", label="offer expiry sweep")
    due = Offer.objects.filter(status=S.SENT, valid_until__lte=timezone.now()).values_list(
        "pk", flat=True
    )
    expired = 0
    for pk in list(due):
        try:
            offer_expire(offer=Offer(pk=pk), actor=actor)
        except InvalidTransition:
            continue  # accepted, declined or extended meanwhile
        expired += 1
    return expired


# --- lines ------------------------------------------------------------------------


def _line_create(*, offer: Offer, actor: Actor, data: Mapping[str, Any]) -> OfferLine:
    _check_keys(data, LINE_FIELDS)
    data = dict(data)
    # Where the service happens: as given, else where the proposed vendor works.
    if data.get("timezone"):
        data["timezone"] = check_timezone(data["timezone"])
    else:
        data.pop("timezone", None)
        if data.get("proposed_vendor") is not None:
            data["timezone"] = data["proposed_vendor"].timezone
    check_service_line(data, changed=data.keys(), actor=actor)
    check_line_count(
        OfferLine.objects.filter(offer=offer).count() + 1,
        holder="An offer",
        noun="lines",
        field="lines",
    )
    line = OfferLine(offer=offer, **data)
    line.full_clean(exclude=["offer"])
    line.save()
    audit(offer, "line_added", actor, line=line.pk, description=line.description)
    return line


@transaction.atomic
def offer_line_add(*, offer: Offer, actor: Actor, **fields: Any) -> OfferLine:
    """Add a line to a draft offer."""
    offer = _lock(offer)
    OFFER.check("change", offer, actor)
    return _line_create(offer=offer, actor=actor, data=fields)


@transaction.atomic
def offer_line_update(*, line: OfferLine, actor: Actor, **fields: Any) -> OfferLine:
    """Change a line of a draft offer."""
    _check_keys(fields, LINE_FIELDS)
    if "timezone" in fields and not fields["timezone"]:
        fields.pop("timezone")  # left blank: the zone stays as it is
    offer = _lock(line.offer_id)
    OFFER.check("change", offer, actor)
    line = OfferLine.objects.select_for_update().get(pk=line.pk)
    changed = apply_changes(line, fields)
    if not changed:
        return line
    if "timezone" in changed:
        changed["timezone"] = check_timezone(changed["timezone"])
    values = {name: getattr(line, name) for name in LINE_FIELDS}
    check_service_line(values, changed=changed.keys(), actor=actor)
    save_changes(line, changed, exclude=["offer"])
    audit(offer, "line_updated", actor, line=line.pk, changed=audit_changes(changed))
    return line


@transaction.atomic
def offer_line_remove(*, line: OfferLine, actor: Actor) -> Offer:
    """Remove a line from a draft offer."""
    offer = _lock(line.offer_id)
    OFFER.check("change", offer, actor)
    audit(offer, "line_removed", actor, line=line.pk, description=line.description)
    OfferLine.objects.filter(pk=line.pk).delete()
    return offer

"""The offer, written once as a table (see ``partners.state_machine``).

====== =========== ========= =================================================
verb   from        to        who (staff permission)
====== =========== ========= =================================================
send   draft       sent      staff (change_offer): with lines, still valid, and a
                             broker or a customer's email to send it to
accept sent        accepted  its broker; staff for a customer (change_offer);
                             not once its validity has passed
decline sent       declined  its broker; staff for a customer (change_offer);
                             not once its validity has passed (it expires)
withdraw draft, sent withdrawn staff (change_offer)
expire sent        expired   staff (change_offer), the sweep; once it has lapsed
change draft       (same)    staff (change_offer)
====== =========== ========= =================================================
"""

from __future__ import annotations

from django.utils import timezone

from core.domain import Actor, InvalidTransition, ValidationFailed
from offers.models import Offer
from partners.state_machine import BROKER, STAFF, SYSTEM, Machine, Move

S = Offer.Status


def _describe(offer: Offer, action: str) -> str:
    return f"Cannot {action}: offer {offer.reference} is {offer.get_status_display().lower()}."


def _owns(offer: Offer, actor: Actor) -> bool:
    return actor.broker is not None and offer.broker_id == actor.broker.pk


def _sendable(offer: Offer, action: str) -> str | ValidationFailed | None:
    if not offer.lines.exists():
        return "Add at least one line before sending the offer."
    if offer.valid_until <= timezone.now():
        return "The offer's validity has passed; move 'valid until' forward first."
    if offer.broker_id is None and not offer.customer_email:
        return ValidationFailed(
            "Add the customer's email so the offer can be sent.", field="customer_email"
        )
    return None


def _not_lapsed(offer: Offer, action: str) -> InvalidTransition | None:
    if offer.valid_until <= timezone.now():
        return InvalidTransition(
            f"Offer {offer.reference} expired on {offer.valid_until:%d %b %Y}.",
            code="offer_expired",
        )
    return None


def _lapsed(offer: Offer, action: str) -> str | None:
    if offer.valid_until > timezone.now():
        return f"Offer {offer.reference} is valid until {offer.valid_until:%d %b %Y}."
    return None


STAFF_ONLY = {STAFF: None, SYSTEM: None}
ANSWER = {BROKER: None, STAFF: None, SYSTEM: None}

OFFER = Machine(
    "offer",
    (
        Move(
            "send",
            (S.DRAFT,),
            S.SENT,
            by=STAFF_ONLY,
            perm="offers.change_offer",
            action="send",
            access="send offers",
            conditions=(_sendable,),
        ),
        Move(
            "accept",
            (S.SENT,),
            S.ACCEPTED,
            by=ANSWER,
            perm="offers.change_offer",
            action="accept",
            access="accept this offer",
            conditions=(_not_lapsed,),
        ),
        Move(
            "decline",
            (S.SENT,),
            S.DECLINED,
            by=ANSWER,
            perm="offers.change_offer",
            action="decline",
            access="decline this offer",
            conditions=(_not_lapsed,),
        ),
        Move(
            "withdraw",
            (S.DRAFT, S.SENT),
            S.WITHDRAWN,
            by=STAFF_ONLY,
            perm="offers.change_offer",
            action="withdraw",
            access="withdraw offers",
        ),
        Move(
            "expire",
            (S.SENT,),
            S.EXPIRED,
            by=STAFF_ONLY,
            perm="offers.change_offer",
            action="expire",
            access="expire offers",
            conditions=(_lapsed,),
        ),
        Move(
            "change",
            (S.DRAFT,),
            None,
            by=STAFF_ONLY,
            perm="offers.change_offer",
            action="change the offer",
            access="change offers",
        ),
    ),
    state=lambda offer: offer.status,
    describe=_describe,
    owner=_owns,
    not_yours={BROKER: "this offer is not yours."},
)


def can_accept(offer: Offer, actor: Actor) -> bool:
    return OFFER.can("accept", offer, actor)


def can_decline(offer: Offer, actor: Actor) -> bool:
    return OFFER.can("decline", offer, actor)


def can_send(offer: Offer, actor: Actor) -> bool:
    return OFFER.can("send", offer, actor)


def can_withdraw(offer: Offer, actor: Actor) -> bool:
    return OFFER.can("withdraw", offer, actor)

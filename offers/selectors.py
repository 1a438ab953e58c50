"""Reads of offers, including every read made on a broker's behalf.

Drafts are staff work in progress: a broker sees an offer only once it is sent.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from core.domain import Actor
from offers.models import Offer, OfferLine
from partners.models import Broker


def offers_for_broker(*, broker: Broker) -> QuerySet[Offer]:
    return Offer.objects.filter(broker=broker).exclude(status=Offer.Status.DRAFT)


def offer_get_for_broker(*, broker: Broker, reference: str) -> Offer:
    return get_object_or_404(offers_for_broker(broker=broker), reference=reference)


def offers_visible(*, actor: Actor) -> QuerySet[Offer]:
    """What the API shows ``actor``: staff every offer, a broker its sent ones, a vendor none."""
    if actor.vendor is not None:
        return Offer.objects.none()
    if actor.broker is not None:
        return offers_for_broker(broker=actor.broker)
    return Offer.objects.all()


def offer_get_visible(*, actor: Actor, reference: str) -> Offer:
    """One offer with its lines and the booking it became (no extra query to render)."""
    return get_object_or_404(
        offers_visible(actor=actor)
        .select_related("booking")
        .prefetch_related(Prefetch("lines", queryset=OfferLine.objects.order_by("start", "id"))),
        reference=reference,
    )

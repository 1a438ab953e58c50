"""Reads of offers, including every read made on a broker's behalf.

Drafts are staff work in progress: a broker sees an offer only once it is sent.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from offers.models import Offer
from partners.models import Broker


def offers_for_broker(*, broker: Broker) -> QuerySet[Offer]:
    return Offer.objects.filter(broker=broker).exclude(status=Offer.Status.DRAFT)


def offer_get_for_broker(*, broker: Broker, reference: str) -> Offer:
    return get_object_or_404(offers_for_broker(broker=broker), reference=reference)

"""The events of offers (``events.registry``): staff see the whole offer, its broker
the offer as the API shows it to brokers (no costs, no proposed vendors) once it has
left draft; vendors see no offers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from django.db.models import Prefetch

from bookings.serializers import BROKER, TOTAL_FIELDS
from events import registry
from offers.models import Offer, OfferLine
from offers.serializers import LINE_FIELDS, OFFER_FIELDS, OfferSerializer

OFFER_ACTIONS = {
    "created": "offer.created",
    "updated": "offer.updated",
    "sent": "offer.sent",
    "accepted": "offer.accepted",
    "declined": "offer.declined",
    "withdrawn": "offer.withdrawn",
    "expired": "offer.expired",
    "line_added": "offer.line_added",
    "line_updated": "offer.line_updated",
    "line_removed": "offer.line_removed",
}


def describe_offer(offer: Offer, data: Mapping[str, Any]) -> registry.Described:
    # Re-read with its lines: the instance the service holds may carry a stale prefetch.
    fresh = (
        Offer.objects.select_related("broker", "booking")
        .prefetch_related(Prefetch("lines", queryset=OfferLine.objects.order_by("start", "id")))
        .get(pk=offer.pk)
    )
    payload = orjson.loads(orjson.dumps(OfferSerializer(fresh).data, default=str))
    return registry.Described(
        object={"type": "offer", "id": fresh.reference},
        reference=fresh.reference,
        payload=payload,
        # A broker sees its offers once sent (offers.selectors.offers_for_broker).
        broker_id=fresh.broker_id if fresh.status != Offer.Status.DRAFT else None,
    )


def project_offer(
    payload: Mapping[str, Any], audience: str, party_id: int | None
) -> dict[str, Any] | None:
    if audience != registry.BROKER:
        return None
    out = registry.pick(payload, OFFER_FIELDS)
    out["lines"] = [registry.pick(line, LINE_FIELDS[BROKER]) for line in payload.get("lines", [])]
    out["totals"] = registry.pick(payload.get("totals", {}), TOTAL_FIELDS[BROKER])
    return out


def register() -> None:
    registry.register(
        Offer, name="offer", describe=describe_offer, project=project_offer, actions=OFFER_ACTIONS
    )

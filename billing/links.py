"""Payment links for instalments and the providers' webhooks that settle them."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import Instalment, PaymentLink, ProviderEvent
from billing.providers import LinkRequest, ProviderError, get_provider, provider_names
from core.audit import audit
from core.domain import Actor, DomainError, InvalidTransition, NotPermitted, ValidationFailed

logger = logging.getLogger(__name__)


class LinkFailed(DomainError):
    code = "payment_provider_error"


def _require_link_access(instalment: Instalment, actor: Actor) -> None:
    """Staff, or the broker whose booking it is."""
    if actor.vendor is not None:
        raise NotPermitted("Vendors cannot ask for payment links.")
    if actor.broker is not None:
        if instalment.booking.broker_id != actor.broker.pk:
            raise NotPermitted("This booking is not yours.")
        return
    actor.require_perm("billing.add_paymentlink", "make payment links")


def payment_link_create(*, instalment: Instalment, actor: Actor, provider: str = "") -> PaymentLink:
    """Ask a provider for a page where the customer pays what is left of ``instalment``.

    The provider is called outside any transaction (no row stays locked while it
    answers); the link is saved afterwards.
    """
    provider = provider or settings.BILLING_DEFAULT_PROVIDER
    if provider not in provider_names():
        raise ValidationFailed(f"Unknown payment provider {provider!r}.", field="provider")
    instalment = Instalment.objects.select_related("booking", "booking__broker").get(
        pk=instalment.pk
    )
    _require_link_access(instalment, actor)
    booking = instalment.booking
    row = next(
        (
            r
            for r in services.booking_money(booking=booking).schedule
            if r.instalment.pk == instalment.pk
        ),
        None,
    )
    if row is None or row.outstanding <= 0:
        raise InvalidTransition("This instalment is already paid.")
    page = settings.SITE_URL + reverse("portal:booking-detail", args=[booking.reference])
    _, email = services._recipient(booking)
    try:
        link = get_provider(provider).create_link(
            LinkRequest(
                instalment_id=instalment.pk,
                booking_reference=booking.reference,
                description=f"Booking {booking.reference}: {instalment.get_kind_display()}",
                amount=row.outstanding,
                currency=instalment.currency,
                customer_email=email,
                success_url=page + "?paid=1",
                cancel_url=page,
            )
        )
    except ProviderError as exc:
        raise LinkFailed(str(exc)) from exc
    with transaction.atomic():
        payment_link = PaymentLink.objects.create(
            instalment=instalment,
            booking=booking,
            provider=provider,
            provider_session_id=link.session_id,
            url=link.url,
            instructions=link.instructions,
            amount=row.outstanding,
            currency=instalment.currency,
        )
        audit(
            booking,
            "payment_link_created",
            actor,
            instalment=instalment.pk,
            provider=provider,
            amount=str(row.outstanding),
        )
    return payment_link


def payment_link_open(*, instalment: Instalment, actor: Actor, provider: str = "") -> PaymentLink:
    """The instalment's open link for what is left of it, or a new one (``payment_link_create``).

    Whoever presses "Pay now" twice is sent to the same page, not to a second session
    with the provider; a link for another amount (part was paid since) is not reused.
    """
    provider = provider or settings.BILLING_DEFAULT_PROVIDER
    instalment = Instalment.objects.select_related("booking").get(pk=instalment.pk)
    _require_link_access(instalment, actor)
    row = next(
        (
            r
            for r in services.booking_money(booking=instalment.booking).schedule
            if r.instalment.pk == instalment.pk
        ),
        None,
    )
    if row is not None and row.outstanding > 0:
        existing = PaymentLink.objects.filter(
            instalment=instalment,
            provider=provider,
            status=PaymentLink.Status.OPEN,
            amount=row.outstanding,
        ).first()
        if existing is not None:
            return existing
    return payment_link_create(instalment=instalment, actor=actor, provider=provider)


@transaction.atomic
def payment_link_send(*, payment_link: PaymentLink, actor: Actor) -> int:
    """Email an open link (or a transfer's instructions) to whoever pays the booking: its
    broker, else its lead customer. Staff only; once per link, however often asked."""
    from billing import notify

    actor.require_perm("billing.add_paymentlink", "send payment links")
    payment_link = PaymentLink.objects.select_for_update().get(pk=payment_link.pk)
    if payment_link.status != PaymentLink.Status.OPEN:
        raise InvalidTransition(f"This link is {payment_link.get_status_display().lower()}.")
    sent = notify.payment_link_message(payment_link)
    if not sent:
        raise ValidationFailed(
            "The booking has no e-mail address to send the link to: add the customer's "
            "e-mail, or copy the link and send it yourself."
        )
    audit(
        payment_link.booking,
        "payment_link_sent",
        actor,
        instalment=payment_link.instalment_id,
        provider=payment_link.provider,
        amount=str(payment_link.amount),
    )
    return sent


def webhook_receive(*, provider: str, body: bytes, headers: Mapping[str, str]) -> str:
    """Verify and apply one provider event; returns what became of it.

    Raises ``SignatureError`` for anything not signed by the provider. An event seen
    before is a no-op ("replayed"); a payment is recorded once per provider payment
    id whatever order events arrive in, and an "expired" after the payment changes
    nothing.
    """
    event = get_provider(provider).parse_webhook(body=body, headers=dict(headers))
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = ProviderEvent.objects.create(
                    provider=provider,
                    event_id=event.event_id,
                    event_type=event.event_type,
                    created=event.created,
                )
        except IntegrityError:
            return "replayed"
        outcome = _apply(provider, event)
        record.outcome = outcome[:200]
        record.save(update_fields=["outcome"])
    return outcome


def _apply(provider: str, event: object) -> str:
    kind = getattr(event, "kind", "ignored")
    session_id = getattr(event, "session_id", "")
    links = PaymentLink.objects.filter(provider=provider, provider_session_id=session_id)
    if kind == "expired":
        links.filter(status=PaymentLink.Status.OPEN).update(
            status=PaymentLink.Status.EXPIRED, updated_at=timezone.now()
        )
        return "expired"
    if kind != "paid":
        return "ignored"
    instalment_id = getattr(event, "instalment_id", None)
    if instalment_id is None:
        return "no instalment"
    try:
        payment = services.payment_record_from_provider(
            instalment_id=instalment_id,
            provider=provider,
            provider_payment_id=event.payment_id,  # type: ignore[attr-defined]
            amount=event.amount,  # type: ignore[attr-defined]
            currency=event.currency,  # type: ignore[attr-defined]
            received_at=event.created or timezone.now(),  # type: ignore[attr-defined]
        )
    except ValidationFailed as exc:
        # Retrying cannot help; staff see the outcome on the event and reconcile by hand.
        logger.warning("payment event %s not recorded: %s", event, exc.message)
        return f"refused: {exc.message}"
    links.update(status=PaymentLink.Status.PAID, updated_at=timezone.now())
    return "paid" if payment is not None else "already recorded"

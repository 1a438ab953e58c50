"""Payment terms and the schedule they give: pure functions, no database.

A broker's own terms, or the site's defaults for what a broker leaves empty and for
direct customers. The schedule is a deposit due some days after approval and the
balance due some days before the first service; when the first service is so close
that the balance would fall due no later than the deposit, one instalment of the
whole amount instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from partners.models import Broker

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Terms:
    deposit_percent: Decimal
    deposit_due_days: int
    balance_due_days: int


@dataclass(frozen=True)
class Due:
    kind: str  # deposit, balance, full
    amount: Decimal
    due_date: date


def site_terms() -> Terms:
    return Terms(
        deposit_percent=Decimal(str(settings.BILLING_DEPOSIT_PERCENT)),
        deposit_due_days=int(settings.BILLING_DEPOSIT_DUE_DAYS),
        balance_due_days=int(settings.BILLING_BALANCE_DUE_DAYS),
    )


def terms_for(broker: Broker | None) -> Terms:
    """The broker's terms, each one it leaves empty from the site's defaults."""
    site = site_terms()
    if broker is None:
        return site
    return Terms(
        deposit_percent=(
            broker.deposit_percent if broker.deposit_percent is not None else site.deposit_percent
        ),
        deposit_due_days=(
            broker.deposit_due_days
            if broker.deposit_due_days is not None
            else site.deposit_due_days
        ),
        balance_due_days=(
            broker.balance_due_days
            if broker.balance_due_days is not None
            else site.balance_due_days
        ),
    )


def schedule_for(
    *, total: Decimal, terms: Terms, approved_on: date, first_service: date
) -> list[Due]:
    """The instalments for ``total``: deposit and balance, or one when the service is close.

    Nothing is due on a zero total. No due date falls before the approval.
    """
    if total <= ZERO:
        return []
    deposit_due = approved_on + timedelta(days=terms.deposit_due_days)
    balance_due = max(approved_on, first_service - timedelta(days=terms.balance_due_days))
    deposit = (total * terms.deposit_percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    if balance_due <= deposit_due or deposit <= ZERO or deposit >= total:
        return [Due("full", total, min(deposit_due, balance_due))]
    return [Due("deposit", deposit, deposit_due), Due("balance", total - deposit, balance_due)]


def balance_for(*, remaining: Decimal, terms: Terms, today: date, first_service: date) -> list[Due]:
    """What is left once some instalments are paid: one balance, due as the terms say."""
    if remaining <= ZERO:
        return []
    due = max(today, first_service - timedelta(days=terms.balance_due_days))
    return [Due("balance", remaining, due)]

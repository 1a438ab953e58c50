"""Bank transfer: the "link" is the instructions; staff record the payment when it arrives."""

from __future__ import annotations

from django.conf import settings

from billing.providers.base import BaseProvider, Link, LinkRequest


class BankTransferProvider(BaseProvider):
    def create_link(self, request: LinkRequest) -> Link:
        account = settings.BILLING_BANK_ACCOUNT or "our bank account (see your invoice)"
        return Link(
            instructions=(
                f"Transfer {request.amount} {request.currency} to {account}, "
                f"quoting {request.booking_reference}."
            )
        )

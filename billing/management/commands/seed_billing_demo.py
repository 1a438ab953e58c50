"""``seed_billing_demo``: payments, invoices and a credit note on a few demo bookings.

Run by ``seed_demo`` (by name, so the offers app does not import billing), inside its
transaction; made through the billing services like real work. Idempotent: a booking
that already has an invoice is left alone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from billing import notify, services
from billing.models import Invoice
from bookings import services as booking_services
from bookings.models import Booking
from core.domain import Actor

PAYABLE = ("approved", "confirmed", "completed")
# The demo broker whose portal login seed_demo prints comes first.
FIRST_BROKER = "Nordic Travel AS"


class Command(BaseCommand):
    help = "Invoices, payments and a credit note on a few demo bookings (used by seed_demo)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.system = Actor(via="system", label="demo seed")
        candidates = sorted(
            Booking.objects.filter(reference__startswith="BK-DEM", status__in=PAYABLE)
            .select_related("broker")
            .prefetch_related("items"),
            key=lambda b: (b.broker is None or b.broker.name != FIRST_BROKER, b.reference),
        )
        plans = ["paid", "deposit", "credit"]
        done = 0
        for booking in candidates:
            if not plans:
                break
            items = list(booking.items.all())
            live = [i for i in items if i.is_live]
            plan = plans[0]
            # Chosen by what does not change when the plan runs (a second run picks the
            # same bookings): an open booking of two items or more.
            if plan == "credit" and (booking.status == "completed" or len(items) < 2):
                continue
            plans.pop(0)
            if Invoice.objects.filter(booking=booking).exists():
                continue
            self._money(booking, plan, live)
            done += 1
        self.stdout.write(f"Billing demo: {done} bookings invoiced and paid.")

    def _money(self, booking: Booking, plan: str, live: list[Any]) -> None:
        services.schedule_refresh(booking=booking)
        invoice = services.invoice_issue(booking=booking, actor=self.system)
        # Render and record the email now, inside seed_demo's hold (it is cancelled
        # with the rest of the demo history); the queued send then finds it done.
        notify.invoice_send(invoice_id=invoice.pk)
        money = services.booking_money(booking=booking)
        received = timezone.now() - timedelta(days=3)
        amounts = (
            [row.instalment.amount for row in money.schedule][:1]
            if plan == "deposit"
            else [row.instalment.amount for row in money.schedule]
        )
        for n, amount in enumerate(amounts, start=1):
            services.payment_record(
                booking=booking,
                actor=self.system,
                amount=amount,
                currency=booking.currency,
                method="bank_transfer" if n == 1 else "card",
                reference=f"DEMO-{booking.reference}-{n}",
                received_at=received + timedelta(hours=n),
            )
        if plan == "credit":
            item = live[-1]
            booking_services.item_cancel(
                item=item, actor=self.system, reason="Customer dropped it."
            )
            for note in Invoice.objects.filter(booking=booking, kind="credit_note"):
                notify.invoice_send(invoice_id=note.pk)
            services.payment_record(
                booking=booking,
                actor=self.system,
                amount=-item.total_price,
                currency=booking.currency,
                method="bank_transfer",
                reference=f"DEMO-{booking.reference}-refund",
                reason="The cancelled service, paid back.",
            )

from datetime import timedelta

from django.utils import timezone

from bookings import services as bs
from bookings.models import Booking, BookingItem
from core.domain import Actor
from core.models import AuditEntry
from notifications.models import Notification
from offers import services as os_
from offers.models import Offer


def test_offer_to_confirmed_booking_flow(
    agent_actor,
    approver_actor,
    broker,
    vendor,
    broker_user,
    vendor_user,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        offer = os_.offer_create(
            actor=agent_actor,
            broker=broker,
            valid_until=timezone.now() + timedelta(days=3),
            lines=[
                {
                    "service_type": "transfer",
                    "description": "Airport pickup",
                    "start": timezone.now() + timedelta(days=10),
                    "end": timezone.now() + timedelta(days=10, hours=1),
                    "quantity": 2,
                    "unit_price": 50,
                    "unit_cost": 30,
                    "proposed_vendor": vendor,
                }
            ],
        )
        os_.offer_send(offer=offer, actor=agent_actor)
        offer = os_.offer_accept(
            offer=offer,
            actor=Actor(user=broker_user, broker=broker, via="portal"),
            lead_name="Jon Berg",
            lead_email="jon@example.com",
        )
    booking = offer.booking
    assert offer.status == Offer.Status.ACCEPTED
    assert booking.status == Booking.Status.PENDING_APPROVAL
    item = booking.items.get()
    assert item.vendor == vendor and item.vendor_status == BookingItem.VendorStatus.PENDING
    vendor_actor = Actor(user=vendor_user, vendor=vendor, via="portal")
    with django_capture_on_commit_callbacks(execute=True):
        bs.item_accept(item=item, actor=vendor_actor)
        bs.booking_approve(booking=booking, actor=approver_actor)
        bs.item_confirm(item=item, actor=vendor_actor, vendor_reference="V-123")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    kinds = sorted(Notification.objects.values_list("kind", flat=True))
    assert "item_assigned" in kinds and "booking_confirmed" in kinds, kinds
    assert Notification.objects.filter(status="sent").count() == len(kinds)
    assert AuditEntry.objects.filter(action="confirmed").count() == 2

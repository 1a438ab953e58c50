"""Staff roles as groups, and the permissions each one holds.

The groups are made by a data migration (offers/migrations/0002_staff_groups.py) and
brought back in line after every ``migrate`` or ``flush`` by a post_migrate handler,
so a permission added later reaches the role without a hand edit.
"""

from __future__ import annotations

from typing import Any

AGENTS = "Agents"
APPROVERS = "Approvers"
PARTNER_MANAGERS = "Partner managers"
ACCOUNTS = "Accounts"

_AGENT = [
    "offers.add_offer", "offers.change_offer", "offers.view_offer",
    "offers.add_offerline", "offers.change_offerline", "offers.delete_offerline",
    "offers.view_offerline",
    "bookings.add_booking", "bookings.change_booking", "bookings.view_booking",
    "bookings.add_bookingitem", "bookings.change_bookingitem", "bookings.delete_bookingitem",
    "bookings.view_bookingitem",
    "partners.view_vendor", "partners.view_broker",
    # change: the retry and cancel actions (every field stays read-only).
    "notifications.view_notification", "notifications.change_notification",
    "core.view_auditentry", "notifications.view_deliveryattempt",
    "events.view_event", "events.view_webhookendpoint", "events.view_webhookdelivery",
    "billing.view_payment", "billing.view_invoice", "billing.view_instalment",
    "billing.add_paymentlink", "billing.view_paymentlink",
]  # fmt: skip
ROLE_PERMISSIONS: dict[str, list[str]] = {
    AGENTS: _AGENT,
    APPROVERS: [*_AGENT, "bookings.approve_booking"],
    PARTNER_MANAGERS: [
        "partners.add_vendor", "partners.change_vendor", "partners.view_vendor",
        "partners.add_broker", "partners.change_broker", "partners.view_broker",
        "partners.view_portalaccount", "partners.view_invitation",
        "partners.add_apikey", "partners.change_apikey", "partners.view_apikey",
        "bookings.view_booking", "bookings.view_bookingitem", "offers.view_offer",
        "notifications.view_notification", "core.view_auditentry",
        # Integrators' webhooks: told when one is disabled, they turn it on again.
        "events.view_event", "events.add_webhookendpoint", "events.change_webhookendpoint",
        "events.view_webhookendpoint", "events.change_webhookdelivery",
        "events.view_webhookdelivery",
    ],
    ACCOUNTS: [
        "billing.add_payment", "billing.view_payment", "billing.add_invoice",
        "billing.view_invoice", "billing.view_invoiceline", "billing.view_instalment",
        "billing.add_paymentlink", "billing.view_paymentlink", "billing.view_commissionentry",
        "billing.view_providerevent",
        "bookings.view_booking", "bookings.view_bookingitem", "partners.view_broker",
        "notifications.view_notification", "notifications.view_auditentry",
    ],
}  # fmt: skip


def sync_staff_groups(*, group_model: Any, permission_model: Any) -> None:
    """Create the role groups and set exactly their permissions (idempotent).

    Takes the models as arguments so the data migration can pass historical ones.
    """
    for name, codes in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=name)
        perms = []
        for code in codes:
            app_label, codename = code.split(".")
            perm = permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                perms.append(perm)
        group.permissions.set(perms)

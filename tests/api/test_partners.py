"""``/api/v1/vendors/`` and ``/api/v1/brokers/``: every operation, its errors, isolation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core import mail

from core.domain import SYSTEM
from core.models import AuditEntry
from partners.models import Broker, Invitation, Vendor
from partners.services import partner_deactivate
from tests import factories

pytestmark = pytest.mark.django_db

VENDOR_FIELDS = {
    "id",
    "name",
    "email",
    "phone",
    "is_active",
    "created_at",
    "updated_at",
    "service_types",
    "notify_by",
    "timezone",
    "response_hours",
}
BROKER_FIELDS = VENDOR_FIELDS - {"service_types", "notify_by", "timezone", "response_hours"} | {
    "commission_rate",
    "deposit_percent",
    "deposit_due_days",
    "balance_due_days",
}
MANAGER = [
    "partners.view_vendor",
    "partners.add_vendor",
    "partners.change_vendor",
    "partners.view_broker",
    "partners.add_broker",
    "partners.change_broker",
]


@pytest.fixture
def manager(staff_client: Any) -> Any:
    return staff_client(MANAGER)


# --- vendors ---------------------------------------------------------------------------


def test_list_vendors_paginated_and_ordered(manager: Any) -> None:
    for name in ("Charlie", "alpha", "Bravo"):
        factories.VendorFactory(name=name)
    response = manager.get("/api/v1/vendors/?page_size=2")
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 3
    assert data["next"] is not None and data["previous"] is None
    assert [v["name"] for v in data["results"]] == ["Bravo", "Charlie"]  # name order: case
    assert set(data["results"][0]) == VENDOR_FIELDS
    desc = manager.get("/api/v1/vendors/?ordering=-name").json()["results"]
    assert [v["name"] for v in desc] == ["alpha", "Charlie", "Bravo"]


def test_page_size_past_100_is_400(manager: Any) -> None:
    factories.VendorFactory.create_batch(3)
    assert len(manager.get("/api/v1/vendors/?page_size=100").json()["results"]) == 3
    response = manager.get("/api/v1/vendors/?page_size=1000")
    assert response.status_code == 400
    assert response.json()["fields"] == {"page_size": ["Give a whole number from 1 to 100."]}


def test_list_vendors_filters(manager: Any) -> None:
    active = factories.VendorFactory(name="Open Hotel")
    sleeping = factories.VendorFactory(name="Closed Hotel")
    partner_deactivate(partner=sleeping, actor=SYSTEM)
    ids = [v["id"] for v in manager.get("/api/v1/vendors/?is_active=false").json()["results"]]
    assert ids == [sleeping.pk]
    ids = [v["id"] for v in manager.get("/api/v1/vendors/?name__icontains=open").json()["results"]]
    assert ids == [active.pk]
    sleeping.refresh_from_db()
    since = sleeping.updated_at.isoformat()
    ids = [
        v["id"] for v in manager.get("/api/v1/vendors/", {"updated_since": since}).json()["results"]
    ]
    assert sleeping.pk in ids and active.pk not in ids


def test_list_needs_view_permission(staff_client: Any) -> None:
    assert staff_client([]).get("/api/v1/vendors/").status_code == 403
    assert staff_client(["partners.view_vendor"]).get("/api/v1/vendors/").status_code == 200


def test_vendor_key_lists_only_itself(vendor_client: Any, vendor: Any, other_vendor: Any) -> None:
    data = vendor_client.get("/api/v1/vendors/").json()
    assert [v["id"] for v in data["results"]] == [vendor.pk]


def test_broker_key_sees_no_vendors(broker_client: Any, vendor: Any) -> None:
    assert broker_client.get("/api/v1/vendors/").json()["count"] == 0


def test_create_vendor(manager: Any) -> None:
    body = {
        "name": "Quinta do Lago",
        "email": "res@quinta.example",
        "phone": "+351912345678",
        "service_types": ["accommodation", "venue"],
        "notify_by": ["email", "whatsapp"],
    }
    response = manager.post("/api/v1/vendors/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    vendor = Vendor.objects.get(pk=data["id"])
    assert vendor.service_types == ["accommodation", "venue"]
    assert {k: data[k] for k in body} == body
    assert data["is_active"] is True
    assert data["created_at"].endswith("Z") or "+" in data["created_at"]
    assert AuditEntry.objects.filter(object_id=vendor.pk, action="created").exists()


def test_create_inactive_vendor(manager: Any) -> None:
    body = {"name": "Later", "email": "l@example.com", "is_active": False}
    response = manager.post("/api/v1/vendors/", body, format="json")
    assert response.status_code == 201
    assert response.json()["is_active"] is False
    assert Vendor.objects.get(name="Later").is_active is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "x@example.com"}, "name"),
        ({"name": "N", "email": "not-an-email"}, "email"),
        ({"name": "N", "email": "x@example.com", "phone": "0912"}, "phone"),
        ({"name": "N", "email": "x@example.com", "service_types": ["spa"]}, "service_types"),
        ({"name": "N", "email": "x@example.com", "service_types": "venue"}, "service_types"),
        ({"name": "N", "email": "x@example.com", "notify_by": []}, "notify_by"),
        ({"name": "N", "email": "x@example.com", "notify_by": ["fax"]}, "notify_by"),
        ({"name": "N" * 201, "email": "x@example.com"}, "name"),
    ],
)
def test_create_vendor_bad_input_is_400_per_field(manager: Any, body: Any, field: str) -> None:
    response = manager.post("/api/v1/vendors/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Vendor.objects.exists()


def test_duplicate_name_any_case_is_400(manager: Any) -> None:
    factories.VendorFactory(name="Casa Azul")
    response = manager.post(
        "/api/v1/vendors/", {"name": "CASA AZUL", "email": "c@example.com"}, format="json"
    )
    assert response.status_code == 400
    assert Vendor.objects.count() == 1


def test_create_needs_add_permission(staff_client: Any) -> None:
    client = staff_client(["partners.view_vendor", "partners.change_vendor"])
    response = client.post(
        "/api/v1/vendors/", {"name": "N", "email": "n@example.com"}, format="json"
    )
    assert response.status_code == 403
    assert not Vendor.objects.exists()


@pytest.mark.parametrize("who", ["vendor_client", "broker_client"])
def test_partner_keys_cannot_create(who: str, request: Any) -> None:
    client = request.getfixturevalue(who)
    response = client.post(
        "/api/v1/vendors/", {"name": "N", "email": "n@example.com"}, format="json"
    )
    assert response.status_code == 403
    assert not Vendor.objects.filter(name="N").exists()


def test_retrieve_vendor(manager: Any, vendor: Any) -> None:
    response = manager.get(f"/api/v1/vendors/{vendor.pk}/")
    assert response.status_code == 200
    assert response.json()["name"] == vendor.name


def test_retrieve_missing_is_404(manager: Any) -> None:
    response = manager.get("/api/v1/vendors/999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert manager.get("/api/v1/vendors/abc/").status_code == 404


def test_vendor_key_reads_its_own_record(vendor_client: Any, vendor: Any) -> None:
    assert vendor_client.get(f"/api/v1/vendors/{vendor.pk}/").status_code == 200


def test_partial_update_vendor(manager: Any, vendor: Any) -> None:
    response = manager.patch(
        f"/api/v1/vendors/{vendor.pk}/",
        {"email": "new@example.com", "service_types": ["catering"]},
        format="json",
    )
    assert response.status_code == 200
    vendor.refresh_from_db()
    assert vendor.email == "new@example.com" and vendor.service_types == ["catering"]
    assert response.json()["email"] == "new@example.com"


def test_partial_update_toggles_active(manager: Any, vendor: Any) -> None:
    url = f"/api/v1/vendors/{vendor.pk}/"
    assert manager.patch(url, {"is_active": False}, format="json").json()["is_active"] is False
    vendor.refresh_from_db()
    assert not vendor.is_active and vendor.deactivated_at is not None
    assert manager.patch(url, {"is_active": True}, format="json").json()["is_active"] is True
    # saying what already holds is not an error
    assert manager.patch(url, {"is_active": True}, format="json").status_code == 200


def test_partial_update_bad_input_changes_nothing(manager: Any, vendor: Any) -> None:
    response = manager.patch(
        f"/api/v1/vendors/{vendor.pk}/",
        {"email": "bad", "is_active": False},
        format="json",
    )
    assert response.status_code == 400
    vendor.refresh_from_db()
    assert vendor.is_active and vendor.email != "bad"


def test_put_and_delete_are_not_offered(manager: Any, vendor: Any) -> None:
    url = f"/api/v1/vendors/{vendor.pk}/"
    assert (
        manager.put(url, {"name": "x", "email": "x@example.com"}, format="json").status_code == 405
    )
    assert manager.delete(url).status_code == 405
    assert Vendor.objects.filter(pk=vendor.pk).exists()


def test_partial_update_needs_change_permission(staff_client: Any, vendor: Any) -> None:
    client = staff_client(["partners.view_vendor"])
    response = client.patch(f"/api/v1/vendors/{vendor.pk}/", {"name": "Nope"}, format="json")
    assert response.status_code == 403
    vendor.refresh_from_db()
    assert vendor.name != "Nope"


def test_vendor_key_cannot_change_its_own_record(vendor_client: Any, vendor: Any) -> None:
    response = vendor_client.patch(f"/api/v1/vendors/{vendor.pk}/", {"name": "Mine"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "not_permitted"
    vendor.refresh_from_db()
    assert vendor.name != "Mine"


def test_invite_vendor_contact(
    manager: Any, vendor: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(f"/api/v1/vendors/{vendor.pk}/invite/", {}, format="json")
    assert response.status_code == 201
    data = response.json()
    assert data["email"] == vendor.email and data["state"] == "open"
    assert set(data) == {"id", "email", "created_at", "expires_at", "state"}
    assert Invitation.objects.get(pk=data["id"]).vendor == vendor
    assert len(mail.outbox) == 1 and vendor.email in mail.outbox[0].to[0]


def test_invite_other_email(manager: Any, vendor: Any) -> None:
    response = manager.post(
        f"/api/v1/vendors/{vendor.pk}/invite/", {"email": "desk@example.com"}, format="json"
    )
    assert response.status_code == 201
    assert Invitation.objects.get().email == "desk@example.com"


def test_invite_bad_email_is_400(manager: Any, vendor: Any) -> None:
    response = manager.post(f"/api/v1/vendors/{vendor.pk}/invite/", {"email": "x"}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()["fields"]
    assert not Invitation.objects.exists()


def test_invite_inactive_vendor_is_409(manager: Any, vendor: Any) -> None:
    partner_deactivate(partner=vendor, actor=SYSTEM)
    response = manager.post(f"/api/v1/vendors/{vendor.pk}/invite/", {}, format="json")
    assert response.status_code == 409
    assert not Invitation.objects.exists()


def test_invite_needs_change_permission(staff_client: Any, vendor: Any) -> None:
    client = staff_client(["partners.view_vendor"])
    response = client.post(f"/api/v1/vendors/{vendor.pk}/invite/", {}, format="json")
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_invite_missing_vendor_is_404(manager: Any) -> None:
    assert manager.post("/api/v1/vendors/999999/invite/", {}, format="json").status_code == 404


# --- brokers ---------------------------------------------------------------------------


def test_list_and_retrieve_brokers(manager: Any, broker: Any) -> None:
    data = manager.get("/api/v1/brokers/").json()
    assert [b["id"] for b in data["results"]] == [broker.pk]
    assert set(data["results"][0]) == BROKER_FIELDS
    detail = manager.get(f"/api/v1/brokers/{broker.pk}/").json()
    assert detail["commission_rate"] == "10.00"


def test_create_broker(manager: Any) -> None:
    response = manager.post(
        "/api/v1/brokers/",
        {"name": "Agência Sol", "email": "sol@example.com", "commission_rate": "12.5"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["commission_rate"] == "12.50"
    assert Broker.objects.get(name="Agência Sol").commission_rate == Decimal("12.50")


@pytest.mark.parametrize("rate", ["100.01", "-1", "abc", "1e400", "99999999"])
def test_create_broker_bad_commission_is_400(manager: Any, rate: str) -> None:
    response = manager.post(
        "/api/v1/brokers/",
        {"name": "Bad", "email": "b@example.com", "commission_rate": rate},
        format="json",
    )
    assert response.status_code == 400
    assert "commission_rate" in response.json()["fields"]
    assert not Broker.objects.exists()


def test_partial_update_broker(manager: Any, broker: Any) -> None:
    response = manager.patch(
        f"/api/v1/brokers/{broker.pk}/", {"commission_rate": "7.25"}, format="json"
    )
    assert response.status_code == 200
    broker.refresh_from_db()
    assert broker.commission_rate == Decimal("7.25")


def test_broker_key_reads_only_itself(broker_client: Any, broker: Any, other_broker: Any) -> None:
    data = broker_client.get("/api/v1/brokers/").json()
    assert [b["id"] for b in data["results"]] == [broker.pk]


def test_invite_broker(manager: Any, broker: Any) -> None:
    response = manager.post(f"/api/v1/brokers/{broker.pk}/invite/", {}, format="json")
    assert response.status_code == 201
    assert Invitation.objects.get().broker == broker


def test_vendor_id_is_not_a_broker(manager: Any, vendor: Any) -> None:
    missing = Broker.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    assert manager.get(f"/api/v1/brokers/{missing + 1000}/").status_code == 404


# --- isolation matrix ------------------------------------------------------------------


def _snapshot() -> Any:
    return (
        sorted(Vendor.objects.values_list("id", "name", "email", "is_active", "updated_at")),
        sorted(Broker.objects.values_list("id", "name", "email", "is_active", "updated_at")),
        Invitation.objects.count(),
    )


@pytest.mark.parametrize(
    ("caller", "target"),
    [
        ("vendor_client", "other_vendor"),
        ("vendor_client", "broker"),
        ("broker_client", "other_broker"),
        ("broker_client", "vendor"),
    ],
)
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"name": "Taken over"}),
        ("patch", "", {"is_active": False}),
        ("post", "invite/", {}),
        ("post", "invite/", {"email": "attacker@example.com"}),
    ],
)
def test_another_partners_record_is_404_and_unchanged(
    request: Any, caller: str, target: str, method: str, suffix: str, body: Any
) -> None:
    client = request.getfixturevalue(caller)
    partner = request.getfixturevalue(target)
    kind = "vendors" if isinstance(partner, Vendor) else "brokers"
    before = _snapshot()
    response = getattr(client, method)(f"/api/v1/{kind}/{partner.pk}/{suffix}", body, format="json")
    assert response.status_code == 404
    assert _snapshot() == before


# --- query budget ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["vendors", "brokers"])
def test_list_queries_do_not_grow_with_rows(
    manager: Any, kind: str, django_assert_num_queries: Any
) -> None:
    factory = factories.VendorFactory if kind == "vendors" else factories.BrokerFactory
    factory.create_batch(5)
    url = f"/api/v1/{kind}/?page_size=50"
    manager.get(url)  # warm: the key's last_used_at is written once
    with django_assert_num_queries(5) as small:
        assert len(manager.get(url).json()["results"]) == 5
    factory.create_batch(45)
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(manager.get(url).json()["results"]) == 50


def test_filterset_is_built_only_when_a_filter_is_named(manager: Any, monkeypatch: Any) -> None:
    from partners.api import VendorFilter

    built: list[int] = []
    original = VendorFilter.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(VendorFilter, "__init__", counting)
    factories.VendorFactory(name="Only One")
    assert manager.get("/api/v1/vendors/?page_size=50&ordering=name").json()["count"] == 1
    assert built == []
    response = manager.get("/api/v1/vendors/?name__icontains=nothing")
    assert response.json()["count"] == 0
    assert built == [1]

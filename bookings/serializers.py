"""What the API shows of bookings and items, and what it accepts.

Each caller kind sees its own field set (``BOOKING_FIELDS``, ``ITEM_FIELDS``): vendors
never see sell prices or commission, brokers never see costs or which vendor is asked.
The read serializers below are the definition of that shape (and of the OpenAPI
schema). The list endpoints render the very same shape from plain rows with
``render_booking`` / ``render_item``, without DRF's per-field machinery, because the
bookings list has a throughput goal; tests/api/test_list_fast_path.py holds the two
together object by object, for every caller kind.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models.expressions import RawSQL
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from bookings.models import ZERO, Booking, BookingItem
from bookings.rules import MAX_ITEMS_PER_BOOKING
from bookings.selectors import booking_totals, commission_for
from bookings.services import ITEM_FIELDS as ITEM_EDITABLE_FIELDS
from core.api.fields import PhoneNumbersMixin
from partners.models import Broker, Vendor
from partners.timezones import LocalTimeError, make_aware_local, service_timezone, zone

STAFF, BROKER, VENDOR = "staff", "broker", "vendor"

ITEM_FIELDS: dict[str, tuple[str, ...]] = {
    STAFF: (
        "id",
        "booking",
        "service_type",
        "description",
        "start",
        "end",
        "timezone",
        "quantity",
        "unit_price",
        "unit_cost",
        "vendor",
        "vendor_status",
        "vendor_reference",
        "decline_reason",
        "respond_by",
        "confirm_by",
        "overdue",
        "cancelled_at",
        "updated_at",
    ),
    # Which supplier is asked, what it costs us and why one said no are ours to know.
    BROKER: (
        "id",
        "booking",
        "service_type",
        "description",
        "start",
        "end",
        "timezone",
        "quantity",
        "unit_price",
        "vendor_status",
        "vendor_reference",
        "cancelled_at",
        "updated_at",
    ),
    VENDOR: (
        "id",
        "booking",
        "service_type",
        "description",
        "start",
        "end",
        "timezone",
        "quantity",
        "unit_cost",
        "vendor",
        "vendor_status",
        "vendor_reference",
        "decline_reason",
        "respond_by",
        "confirm_by",
        "overdue",
        "cancelled_at",
        "updated_at",
    ),
}

BOOKING_FIELDS: dict[str, tuple[str, ...]] = {
    STAFF: (
        "reference",
        "status",
        "broker",
        "commission_rate",
        "customer_name",
        "customer_email",
        "customer_phone",
        "currency",
        "notes",
        "cancel_reason",
        "created_at",
        "updated_at",
        "items",
        "totals",
    ),
}
BOOKING_FIELDS[BROKER] = BOOKING_FIELDS[STAFF]

TOTAL_FIELDS: dict[str, tuple[str, ...]] = {
    STAFF: ("sell", "cost", "margin", "commission"),
    BROKER: ("sell", "commission"),
}


# --- formatting shared by both paths -------------------------------------------------


# The times of a service: when it starts and ends, and by when its vendor answers and
# confirms. Each is written in the offset of the item's own ``timezone`` (the API gives
# that field beside them), in every door: the serializers, the list path, PostgreSQL's
# rendered list, the events and webhooks. Every other time (created, updated,
# cancelled: when something was done here) is UTC.
SERVICE_TIMES = ("start", "end", "respond_by", "confirm_by")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with an explicit offset, in UTC: ``2026-05-01T09:30:00.25+00:00``."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    if value.microsecond:
        # Trailing zeros of the fraction dropped, as PostgreSQL writes timestamptz in JSON
        # (the bookings list's database-rendered path): both print the same string.
        text = text[:-6].rstrip("0") + text[-6:]
    return text


def iso_local(value: datetime | None, tz: str) -> str | None:
    """A service's time with the service's own offset: ``2027-05-10T10:00:00+01:00``
    in Lisbon in May (the same instant an integrator sent, in whatever offset)."""
    if value is None:
        return None
    text = value.astimezone(zone(tz)).isoformat()
    if value.microsecond:
        text = text[:-6].rstrip("0") + text[-6:]
    return text


def money(value: Decimal) -> str:
    return f"{value:.2f}"


class IsoDateTimeField(serializers.DateTimeField):
    """DRF's field, rendered by ``iso`` so both paths print the same string."""

    def to_representation(self, value: Any) -> str | None:
        return iso(value) if value else None


class ServiceTimeField(serializers.DateTimeField):
    """One of an item's ``SERVICE_TIMES``, written with the offset of its ``timezone``."""

    def get_attribute(self, instance: Any) -> Any:
        return instance

    def to_representation(self, item: Any) -> str | None:
        return iso_local(getattr(item, self.field_name), item.timezone)


class LocalInputDateTimeField(serializers.DateTimeField):
    """Input: an ISO time with any offset is that instant; one without an offset is a
    wall-clock time where the service happens (made aware by the serializer, in the
    item's zone), never read in the server's zone."""

    def enforce_timezone(self, value: datetime) -> datetime:
        return value


class MoneyField(serializers.DecimalField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(**kwargs)


class ApiModelSerializer(PhoneNumbersMixin, serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: IsoDateTimeField,
    }


# --- read serializers: the shape --------------------------------------------------


class TotalsSerializer(serializers.Serializer):
    sell = MoneyField(help_text="Sum of quantity x unit price of the live items.")
    cost = MoneyField(help_text="Sum of quantity x unit cost of the live items.")
    margin = MoneyField(help_text="sell - cost.")
    commission = MoneyField(help_text="The broker's commission on sell.")


class BrokerTotalsSerializer(serializers.Serializer):
    sell = MoneyField(help_text="Sum of quantity x unit price of the live items.")
    commission = MoneyField(help_text="Your commission on sell.")


def totals_dict(sell: Decimal, cost: Decimal, commission: Decimal, kind: str) -> dict[str, str]:
    values = {"sell": sell, "cost": cost, "margin": sell - cost, "commission": commission}
    return {name: money(values[name]) for name in TOTAL_FIELDS[kind]}


class ItemSerializer(ApiModelSerializer):
    """A booking item as staff see it."""

    booking = serializers.CharField(source="booking.reference", read_only=True)
    vendor = serializers.IntegerField(source="vendor_id", read_only=True, allow_null=True)
    start = ServiceTimeField(read_only=True, help_text="In the service's own offset (timezone).")
    end = ServiceTimeField(read_only=True, help_text="In the service's own offset (timezone).")
    timezone = serializers.CharField(
        read_only=True, help_text="Where the service happens (IANA name, e.g. Europe/Lisbon)."
    )
    respond_by = ServiceTimeField(
        read_only=True,
        allow_null=True,
        help_text="The vendor answers by (pending items), in the service's own offset.",
    )
    confirm_by = ServiceTimeField(
        read_only=True,
        allow_null=True,
        help_text="The vendor confirms by (accepted items), in the service's own offset.",
    )
    overdue = serializers.BooleanField(
        read_only=True, help_text="The vendor let respond_by or confirm_by pass."
    )

    class Meta:
        model = BookingItem
        fields = ITEM_FIELDS[STAFF]
        read_only_fields = fields


class BrokerItemSerializer(ItemSerializer):
    class Meta(ItemSerializer.Meta):
        fields = ITEM_FIELDS[BROKER]
        read_only_fields = fields


class VendorItemSerializer(ItemSerializer):
    class Meta(ItemSerializer.Meta):
        fields = ITEM_FIELDS[VENDOR]
        read_only_fields = fields


ITEM_SERIALIZERS: dict[str, type[ItemSerializer]] = {
    STAFF: ItemSerializer,
    BROKER: BrokerItemSerializer,
    VENDOR: VendorItemSerializer,
}


class BookingSerializer(ApiModelSerializer):
    """A booking as staff see it, with its items (cancelled ones too) and totals."""

    broker = serializers.IntegerField(source="broker_id", read_only=True, allow_null=True)
    customer_email = serializers.CharField(read_only=True)  # may be blank: no email format
    items = ItemSerializer(many=True, read_only=True)
    totals = serializers.SerializerMethodField()
    kind = STAFF

    class Meta:
        model = Booking
        fields = BOOKING_FIELDS[STAFF]
        read_only_fields = fields

    @extend_schema_field(TotalsSerializer)
    def get_totals(self, booking: Booking) -> dict[str, str]:
        totals = booking_totals(booking=booking)
        return totals_dict(totals.sell, totals.cost, totals.commission, self.kind)


class BrokerBookingSerializer(BookingSerializer):
    items = BrokerItemSerializer(many=True, read_only=True)
    kind = BROKER

    class Meta(BookingSerializer.Meta):
        fields = BOOKING_FIELDS[BROKER]
        read_only_fields = fields

    @extend_schema_field(BrokerTotalsSerializer)
    def get_totals(self, booking: Booking) -> dict[str, str]:
        return super().get_totals(booking)


BOOKING_SERIALIZERS: dict[str, type[BookingSerializer]] = {
    STAFF: BookingSerializer,
    BROKER: BrokerBookingSerializer,
}


# --- the OpenAPI schema: one description for every kind of caller ----------------------


def schema_serializer(
    component: str,
    shapes: dict[str, type[serializers.Serializer]],
    nested: dict[str, serializers.Field] | None = None,
    extra: dict[str, serializers.Field] | None = None,
) -> type[serializers.Serializer]:
    """For the OpenAPI schema only, never to render: every field of ``shapes`` (the
    per-caller serializers); a field not every kind of caller gets is optional, so a
    broker's response (no costs) matches the same schema as staff's. ``extra`` are
    fields the views add (``actions``)."""
    nested = nested or {}
    field_sets = {kind: shape().fields for kind, shape in shapes.items()}
    common = set.intersection(*(set(fields) for fields in field_sets.values()))
    attrs: dict[str, Any] = {}
    for fields in field_sets.values():
        for name, field in fields.items():
            if name in attrs:
                continue
            if name in nested:
                attrs[name] = nested[name]
                continue
            # A fresh field from the same arguments (DRF re-creates declared fields from
            # them for every serializer instance, so the change must be in the arguments).
            kwargs = dict(field._kwargs)
            if name not in common:
                seen_by = [kind for kind, fields in field_sets.items() if name in fields]
                note = f"Shown to {' and '.join(seen_by)} callers only."
                help_text = f"{kwargs['help_text']} {note}" if kwargs.get("help_text") else note
                kwargs.update(read_only=False, required=False, help_text=help_text)
            attrs[name] = type(field)(*field._args, **kwargs)
    attrs.update(extra or {})
    schema_class = type(f"{component}Schema", (serializers.Serializer,), attrs)
    return extend_schema_serializer(component_name=component)(schema_class)


TotalsSchema = schema_serializer(
    "Totals", {STAFF: TotalsSerializer, BROKER: BrokerTotalsSerializer}
)


def actions_field(what: str, *, required: bool = True) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(),
        # Read-only fields are required in a response schema; an optional one is not.
        **({"read_only": True} if required else {"required": False}),
        help_text=f"The moves the caller may make on this {what} now (its state and the "
        "caller's role allow them), each the name of its POST action or `change`. A rule "
        "on the contents (an unpriced item, a lapsed validity) may still refuse one, "
        "with a 409 that says why.",
    )


ItemSchema = schema_serializer(
    "BookingItem",
    ITEM_SERIALIZERS,
    extra={
        "actions": actions_field("item (not given for items nested in a booking)", required=False)
    },
)
BookingSchema = schema_serializer(
    "Booking",
    BOOKING_SERIALIZERS,
    nested={
        "items": ItemSchema(many=True, read_only=True),
        "totals": TotalsSchema(read_only=True),
    },
    extra={"actions": actions_field("booking")},
)


# --- the list path: the same shape from plain rows -----------------------------------

# Columns every rendered item needs (totals need price, cost, quantity, cancelled_at).
ITEM_COLUMNS = (
    "id",
    "service_type",
    "description",
    "start",
    "end",
    "timezone",
    "quantity",
    "unit_price",
    "unit_cost",
    "vendor_id",
    "vendor_status",
    "vendor_reference",
    "decline_reason",
    "respond_by",
    "confirm_by",
    "cancelled_at",
    "updated_at",
)
BOOKING_COLUMNS = (
    "id",
    "reference",
    "status",
    "broker_id",
    "commission_rate",
    "customer_name",
    "customer_email",
    "customer_phone",
    "currency",
    "notes",
    "cancel_reason",
    "created_at",
    "updated_at",
)
_SOURCE = {"vendor": "vendor_id", "broker": "broker_id"}
_CONVERT: dict[str, Callable[[Any], Any]] = {
    "cancelled_at": iso,
    "created_at": iso,
    "updated_at": iso,
    "unit_price": money,
    "unit_cost": money,
    "commission_rate": money,
}
Plan = tuple[tuple[str, str, Callable[[Any], Any] | None], ...]


def _row_overdue(row: Mapping[str, Any]) -> bool:
    if row["cancelled_at"] is not None:
        return False
    now = timezone.now()
    status = row["vendor_status"]
    if status == BookingItem.VendorStatus.PENDING:
        return row["respond_by"] is not None and row["respond_by"] < now
    if status == BookingItem.VendorStatus.ACCEPTED:
        return row["confirm_by"] is not None and row["confirm_by"] < now
    return False


def _service_time(name: str) -> Callable[[Mapping[str, Any]], str | None]:
    return lambda row: iso_local(row[name], row["timezone"])


# Fields computed from the whole row (the source ``*``), not from one column.
_FROM_ROW: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    **{name: _service_time(name) for name in SERVICE_TIMES},
    "overdue": _row_overdue,
}


def _plan(fields: tuple[str, ...], skip: tuple[str, ...]) -> Plan:
    return tuple(
        (name, "*", _FROM_ROW[name])
        if name in _FROM_ROW
        else (name, _SOURCE.get(name, name), _CONVERT.get(name))
        for name in fields
        if name not in skip
    )


_ITEM_PLANS = {kind: _plan(fields, ("booking",)) for kind, fields in ITEM_FIELDS.items()}
_BOOKING_PLANS = {
    kind: _plan(fields, ("items", "totals")) for kind, fields in BOOKING_FIELDS.items()
}


def _render(row: Mapping[str, Any], plan: Plan, out: dict[str, Any]) -> dict[str, Any]:
    for name, source, convert in plan:
        if source == "*":
            out[name] = convert(row)  # type: ignore[misc]
            continue
        value = row[source]
        out[name] = convert(value) if convert is not None and value is not None else value
    return out


def render_item(row: Mapping[str, Any], *, booking_reference: str, kind: str) -> dict[str, Any]:
    """``row`` has ``ITEM_COLUMNS``; the result equals ``ITEM_SERIALIZERS[kind]``'s."""
    out = _render(row, _ITEM_PLANS[kind], {})
    # Keep the serializer's key order: id, booking, ...
    return {"id": out.pop("id"), "booking": booking_reference, **out}


def render_booking(
    row: Mapping[str, Any], items: list[Mapping[str, Any]], *, kind: str
) -> dict[str, Any]:
    """``row`` has ``BOOKING_COLUMNS``, ``items`` its item rows in (start, id) order;
    the result equals ``BOOKING_SERIALIZERS[kind]``'s."""
    out = _render(row, _BOOKING_PLANS[kind], {})
    reference = row["reference"]
    sell = cost = ZERO
    for item in items:
        if item["cancelled_at"] is None:
            sell += item["quantity"] * item["unit_price"]
            cost += item["quantity"] * item["unit_cost"]
    out["items"] = [render_item(i, booking_reference=reference, kind=kind) for i in items]
    out["totals"] = totals_dict(sell, cost, commission_for(sell, row["commission_rate"]), kind)
    return out


# --- the list path on PostgreSQL: each booking as JSON text built by the database -----
#
# One correlated subquery per booking renders the whole object (its fields, its items,
# its totals) in the serializer's key order: money as numeric text rounded to cents,
# datetimes as PostgreSQL writes timestamptz in JSON (the session is UTC; ``iso``
# writes the same). Each object is ``row_to_json`` of a subselect whose column aliases
# are the field names: compact JSON, and cheaper for PostgreSQL than
# ``json_build_object`` with its per-argument type dispatch. One scan of the booking's
# items gives both: each item row ``r`` (a LATERAL subselect aliased by field name,
# which the planner flattens into the scan) goes to ``json_agg``, and the totals are
# summed from the same rows' numeric columns. Python passes each text through as an
# orjson.Fragment instead of parsing and re-encoding the item rows.

_OUTER = '"bookings_booking"'
_PG_LIVE = 'FILTER (WHERE i."cancelled_at" IS NULL)'
_PG_SUMS = {
    "sell": f'coalesce(sum(i."quantity" * i."unit_price") {_PG_LIVE}, 0)',
    "cost": f'coalesce(sum(i."quantity" * i."unit_cost") {_PG_LIVE}, 0)',
}
# Each total from the sums of the aggregate ``a`` (and the booking's commission rate).
_PG_TOTALS = {
    "sell": 'round(a."sell", 2)::text',
    "cost": 'round(a."cost", 2)::text',
    "margin": 'round(a."sell" - a."cost", 2)::text',
    "commission": f'round(a."sell" * {_OUTER}."commission_rate" / 100, 2)::text',
}
_PG_MONEY = {"unit_price", "unit_cost", "commission_rate"}


def _pg_local(alias: str, name: str) -> str:
    """A service's time as ``iso_local`` writes it: the wall clock in the item's zone
    (PostgreSQL's JSON text of a timestamp: fraction without trailing zeros), then the
    zone's offset at that instant as +HH:MM."""
    column, zone_name = f'{alias}."{name}"', f'{alias}."timezone"'
    offset = f"(({column} AT TIME ZONE {zone_name}) - ({column} AT TIME ZONE 'UTC'))"
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE"
        f" (to_json({column} AT TIME ZONE {zone_name}) #>> '{{}}')"
        f" || CASE WHEN {offset} < interval '0' THEN '-' ELSE '+' END"
        f" || to_char(CASE WHEN {offset} < interval '0' THEN -{offset} ELSE {offset} END,"
        " 'HH24:MI') END"
    )


def _pg_overdue(alias: str) -> str:
    """``BookingItem.overdue`` (``bookings.models.overdue_q``) at the statement's time."""
    return (
        f"coalesce({alias}.\"cancelled_at\" IS NULL AND ("
        f"({alias}.\"vendor_status\" = 'pending' AND {alias}.\"respond_by\" < now())"
        f" OR ({alias}.\"vendor_status\" = 'accepted' AND {alias}.\"confirm_by\" < now())"
        "), false)"
    )


def _pg_value(alias: str, name: str) -> str:
    if name in SERVICE_TIMES:
        return _pg_local(alias, name)
    if name == "overdue":
        return _pg_overdue(alias)
    column = f'{alias}."{_SOURCE.get(name, name)}"'
    return f"{column}::text" if name in _PG_MONEY else column


def _pg_columns(pairs: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f'{expression} AS "{name}"' for name, expression in pairs)


@functools.cache
def pg_booking_json_sql(kind: str) -> str:
    """A correlated subquery: the booking as ``BOOKING_SERIALIZERS[kind]`` renders it,
    as JSON text. Built from this module's constant names only: no input reaches it."""
    item_columns = _pg_columns(
        (name, f'{_OUTER}."reference"' if name == "booking" else _pg_value("i", name))
        for name in ITEM_FIELDS[kind]
    )
    items = 'coalesce(json_agg(r ORDER BY i."start", i."id"), \'[]\'::json) AS "items"'
    sums = ", ".join(f'{expression} AS "{name}"' for name, expression in _PG_SUMS.items())
    aggregate = (
        f'(SELECT {items}, {sums} FROM "bookings_bookingitem" i,'  # noqa: S608
        f' LATERAL (SELECT {item_columns}) r WHERE i."booking_id" = {_OUTER}."id")'
    )
    totals = ", ".join(f"'{name}', {_PG_TOTALS[name]}" for name in TOTAL_FIELDS[kind])
    own = _pg_columns(
        (name, _pg_value(_OUTER, name))
        for name in BOOKING_FIELDS[kind]
        if name not in ("items", "totals")
    )
    return (
        f'(SELECT row_to_json(d)::text FROM (SELECT {own}, a."items",'  # noqa: S608
        f' json_build_object({totals}) AS "totals" FROM {aggregate} a) d)'
    )


def pg_booking_document(kind: str) -> RawSQL:
    return RawSQL(pg_booking_json_sql(kind), ())  # noqa: S611 - constants only, see above


# --- input -------------------------------------------------------------------------
#
# Input serializers parse types and shapes only; every rule on the values (dates,
# bounds, lengths, who may set prices) is ``bookings.services``' and comes back as a
# 400 with the field it names.

# Model validators would answer before the service, in other words than the portal's
# and the admin's: the service checks these values.
SERVICE_CHECKED = {
    name: {"validators": [], "min_value": None, "max_value": None}
    for name in ("quantity", "unit_price", "unit_cost")
}


class PartnerScopedFields:
    """A broker's input names no partner but itself: another broker's id and any
    vendor's id get the answer a missing id gets, so an id tells nothing of whether
    it exists. The service still enforces both rules; this only keeps the answer the same."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields: dict[str, serializers.Field] = super().get_fields()  # type: ignore[misc]
        actor = self.context.get("actor")  # type: ignore[attr-defined]
        broker = getattr(actor, "broker", None)
        if broker is None:
            return fields
        if "broker" in fields:
            fields["broker"].queryset = Broker.objects.filter(pk=broker.pk)  # type: ignore[attr-defined]
        if "vendor" in fields:
            fields["vendor"].queryset = Vendor.objects.none()  # type: ignore[attr-defined]
        return fields


class LocalTimesInput:
    """``start`` and ``end`` sent without an offset are wall-clock times in the item's
    zone (the ``timezone`` sent, else the item's, else its vendor's, else the site's
    default: ``partners.timezones.service_timezone``). A time the clocks skip or repeat
    there is a 400 naming the field. ``vendor_field`` names the input whose vendor's
    zone applies (an offer line's is ``proposed_vendor``)."""

    vendor_field = "vendor"

    def build_standard_field(self, field_name: str, model_field: Any) -> Any:
        field_class, kwargs = super().build_standard_field(field_name, model_field)  # type: ignore[misc]
        if field_name in ("start", "end"):
            field_class = LocalInputDateTimeField
        return field_class, kwargs

    def localize(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = getattr(self, "instance", None)
        zone_name = service_timezone(
            chosen=attrs.get("timezone") or "",
            current=getattr(instance, "timezone", ""),
            vendor=attrs.get(self.vendor_field),
        )
        errors = {}
        for name in ("start", "end"):
            value = attrs.get(name)
            if isinstance(value, datetime) and value.tzinfo is None:
                try:
                    zone(zone_name)
                except DjangoValidationError:
                    return attrs  # the service refuses the zone, naming its field
                try:
                    attrs[name] = make_aware_local(value, zone_name)
                except LocalTimeError as error:
                    errors[name] = error.messages
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


TIMEZONE_INPUT = {"required": False, "allow_blank": True, "validators": []}


class ItemInputSerializer(LocalTimesInput, PartnerScopedFields, ApiModelSerializer):
    """An item to add. Staff may price it (and assign a ``vendor`` at once); a broker
    requests a service: price, cost and vendor are ours to fill in, and sending them
    is refused."""

    vendor = serializers.PrimaryKeyRelatedField(
        queryset=Vendor.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = BookingItem
        fields = (*ITEM_EDITABLE_FIELDS, "vendor")
        extra_kwargs = {
            **{name: {**kwargs, "required": False} for name, kwargs in SERVICE_CHECKED.items()},
            "timezone": TIMEZONE_INPUT,
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("vendor", "") is None:
            attrs.pop("vendor")
        return self.localize(attrs)


class ItemUpdateSerializer(LocalTimesInput, ApiModelSerializer):
    """Fields of an item that may change before it is confirmed (a PATCH)."""

    class Meta:
        model = BookingItem
        fields = ITEM_EDITABLE_FIELDS
        extra_kwargs = {**SERVICE_CHECKED, "timezone": TIMEZONE_INPUT}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return self.localize(attrs)


class BookingInputSerializer(PartnerScopedFields, ApiModelSerializer):
    """A new booking with its items. A broker's key books for its own broker."""

    broker = serializers.PrimaryKeyRelatedField(
        queryset=Broker.objects.all(), required=False, allow_null=True
    )
    items = ItemInputSerializer(
        many=True,
        required=False,
        max_length=MAX_ITEMS_PER_BOOKING,
        error_messages={
            "max_length": f"A booking holds at most {MAX_ITEMS_PER_BOOKING} items; "
            "send more in separate requests to its items endpoint."
        },
    )

    class Meta:
        model = Booking
        fields = (
            "broker",
            "customer_name",
            "customer_email",
            "customer_phone",
            "currency",
            "notes",
            "items",
        )


class BookingUpdateSerializer(PartnerScopedFields, ApiModelSerializer):
    broker = serializers.PrimaryKeyRelatedField(
        queryset=Broker.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Booking
        fields = (
            "broker",
            "customer_name",
            "customer_email",
            "customer_phone",
            "currency",
            "notes",
        )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, trim_whitespace=True)


class AssignVendorSerializer(serializers.Serializer):
    vendor = serializers.PrimaryKeyRelatedField(queryset=Vendor.objects.all())


class ConfirmSerializer(serializers.Serializer):
    vendor_reference = serializers.CharField(allow_blank=True, trim_whitespace=True)

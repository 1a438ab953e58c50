"""What each business object's events look like, registered by the app that owns it.

``events`` imports no business app. Each app that has events registers its models in
its ``AppConfig.ready()``: how an object is described (its state as staff see it, its
reference, who may see it) and how that state is projected for a broker or a vendor.
``describe(target, audit_data)`` gets the audited object and the audit entry's data.
The event types are the ``actions`` maps: audit action -> event type. Adding a type
is one line there (``"issued": "invoice.issued"``); an audit action not listed makes
no event.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models

STAFF, BROKER, VENDOR = "staff", "broker", "vendor"


@dataclass(frozen=True)
class Described:
    """An object at the moment of a change, as the event stores it."""

    object: dict[str, Any]  # {"type": "booking", "id": ...}: how the API names it
    reference: str
    payload: dict[str, Any]  # the staff view
    broker_id: int | None = None
    vendor_ids: Collection[int] = ()


# project(payload, audience, party_id) -> the audience's view, or None: not theirs.
Projector = Callable[[Mapping[str, Any], str, "int | None"], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Subject:
    name: str
    describe: Callable[[Any, Mapping[str, Any]], Described]
    project: Projector
    actions: Mapping[str, str] = field(default_factory=dict)


# Model label -> the subjects audited on it. A model may carry more than one: billing's
# invoices and payments are audited on their booking, and are subjects of their own.
_SUBJECTS: dict[str, list[Subject]] = {}


def register(
    model: type[models.Model] | str,
    *,
    name: str,
    describe: Callable[[Any, Mapping[str, Any]], Described],
    project: Projector,
    actions: Mapping[str, str],
) -> Subject:
    """Register (or register again, by ``name``) the subject ``name`` audited on ``model``.

    An audit action belongs to one subject of its model: registering one twice is a
    programming error, refused here rather than left to whichever came last.
    """
    label = (model if isinstance(model, str) else model._meta.label_lower).lower()
    subject = Subject(name=name, describe=describe, project=project, actions=dict(actions))
    others = [s for s in _SUBJECTS.get(label, []) if s.name != name]
    for other in others:
        if clash := set(other.actions) & set(subject.actions):
            raise ValueError(f"{label}: actions {sorted(clash)} already belong to {other.name}")
    _SUBJECTS[label] = [*others, subject]
    return subject


def subject_for(target: models.Model, action: str) -> Subject | None:
    """The subject whose event ``action`` on ``target`` makes, if any."""
    for subject in _SUBJECTS.get(target._meta.label_lower, []):
        if action in subject.actions:
            return subject
    return None


def _all() -> list[Subject]:
    return [subject for subjects in _SUBJECTS.values() for subject in subjects]


def subject_named(name: str) -> Subject | None:
    for subject in _all():
        if subject.name == name:
            return subject
    return None


def event_types() -> list[str]:
    """Every event type there is, sorted (the feed's and webhooks' ``types`` choices)."""
    return sorted({t for subject in _all() for t in subject.actions.values()})


def project(
    *, object_type: str, payload: Mapping[str, Any], audience: str, party_id: int | None
) -> dict[str, Any] | None:
    if audience == STAFF:
        return dict(payload)
    subject = subject_named(object_type)
    if subject is None:
        return None
    return subject.project(payload, audience, party_id)


def pick(source: Mapping[str, Any], names: Collection[str]) -> dict[str, Any]:
    """The allowed keys of ``source``, in ``names``' order: a field not listed never leaks."""
    return {name: source[name] for name in names if name in source}

"""State machines written as tables: which move is allowed from which states, by which
kind of actor (staff, broker, vendor, system) and with which staff permission.

Each business app declares its tables in ``<app>/states.py``. The services call
``Machine.check`` as their guard (it raises the domain error saying why not); the
admin, the portal and the API call ``Machine.can`` / ``Machine.allowed`` to show only
the moves that can succeed for this object and this caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.domain import Actor, DomainError, InvalidTransition, NotPermitted

STAFF, BROKER, VENDOR, SYSTEM = "staff", "broker", "vendor", "system"
KINDS = (STAFF, BROKER, VENDOR, SYSTEM)

# A refusal (None, a message, or the domain error itself when it carries its own code)
# computed from the object; ``action`` is the move's words.
Guard = Callable[[Any, str], "str | DomainError | None"]


def actor_kind(actor: Actor) -> str:
    if actor.vendor is not None:
        return VENDOR
    if actor.broker is not None:
        return BROKER
    if actor.is_system:
        return SYSTEM
    return STAFF


@dataclass(frozen=True)
class Move:
    """One row of a table.

    ``by`` maps each kind of actor allowed to make the move to the states it may make
    it from (``None``: every state in ``sources``). ``perm`` is the staff permission
    it needs. ``guards`` run before the state check and read only the object's own
    fields (the item is cancelled, its booking is approved...); ``conditions`` run
    after it and may read its contents (the booking has unpriced items...), which
    ``allowed(..., contents=False)`` skips for the API's ``actions``.
    """

    verb: str
    sources: tuple[str, ...]
    target: str | None
    by: Mapping[str, tuple[str, ...] | None]
    perm: str = ""
    action: str = ""
    access: str = ""
    refuse: Mapping[str, str] = field(default_factory=dict)
    narrower: Mapping[str, str] = field(default_factory=dict)
    wrong_state: str = ""
    guards: tuple[Guard, ...] = ()
    conditions: tuple[Guard, ...] = ()

    def sources_for(self, kind: str) -> tuple[str, ...]:
        allowed = self.by.get(kind, ())
        return self.sources if allowed is None else allowed


class Machine:
    """A table of moves for one entity, and the checks read from it."""

    def __init__(
        self,
        name: str,
        moves: Iterable[Move],
        *,
        state: Callable[[Any], str],
        describe: Callable[[Any, str], str],
        owner: Callable[[Any, Actor], bool],
        not_yours: Mapping[str, str],
    ) -> None:
        self.name = name
        self.moves = {move.verb: move for move in moves}
        self.state = state
        self.describe = describe
        self.owner = owner
        self.not_yours = not_yours

    def __getitem__(self, verb: str) -> Move:
        return self.moves[verb]

    def refusal(
        self, verb: str, obj: Any, actor: Actor, *, contents: bool = True
    ) -> DomainErrorArgs | None:
        """Why ``actor`` may not make ``verb`` on ``obj`` now, or None if it may."""
        move = self.moves[verb]
        kind = actor_kind(actor)
        access = move.access or move.action
        if kind not in move.by:
            partners_allowed = set(move.by) - {STAFF, SYSTEM}
            default = (
                f"{kind.capitalize()}s cannot {access}."
                if partners_allowed or STAFF not in move.by
                else f"Only staff can {access}."
            )
            return DomainErrorArgs(NotPermitted, move.refuse.get(kind, default))
        if kind in (BROKER, VENDOR) and not self.owner(obj, actor):
            return DomainErrorArgs(NotPermitted, f"You cannot {access}: {self.not_yours[kind]}")
        if kind == STAFF and move.perm and not actor.has_perm(move.perm):
            return DomainErrorArgs(NotPermitted, f"You do not have permission to {access}.")
        for guard in move.guards:
            refused = _refused(guard(obj, move.action))
            if refused is not None:
                return refused
        state = self.state(obj)
        if state not in move.sources_for(kind):
            if state in move.sources and kind in move.narrower:
                return DomainErrorArgs(NotPermitted, move.narrower[kind])
            message = move.wrong_state or self.describe(obj, move.action)
            return DomainErrorArgs(InvalidTransition, message)
        if contents:
            for condition in move.conditions:
                refused = _refused(condition(obj, move.action))
                if refused is not None:
                    return refused
        return None

    def check(self, verb: str, obj: Any, actor: Actor) -> None:
        """The services' guard: raise the domain error if the move is not allowed."""
        refusal = self.refusal(verb, obj, actor)
        if refusal is not None:
            raise refusal.error(self.moves[verb])

    def can(self, verb: str, obj: Any, actor: Actor, *, contents: bool = True) -> bool:
        return self.refusal(verb, obj, actor, contents=contents) is None

    def allowed(self, obj: Any, actor: Actor, *, contents: bool = True) -> list[str]:
        """The moves ``actor`` may make on ``obj`` now, in the table's order."""
        return [verb for verb in self.moves if self.can(verb, obj, actor, contents=contents)]


@dataclass(frozen=True)
class DomainErrorArgs:
    kind: type[DomainError]
    message: str
    code: str = ""

    def error(self, move: Move) -> DomainError:
        return self.kind(self.message, code=self.code or None)


def _refused(answer: str | DomainError | None) -> DomainErrorArgs | None:
    if not answer:
        return None
    if isinstance(answer, DomainError):
        return DomainErrorArgs(type(answer), answer.message, answer.code)
    return DomainErrorArgs(InvalidTransition, answer)

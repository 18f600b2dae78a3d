"""The kinds of eligibility change, as plain data, and their JSON payloads.

A payload never holds an SSN: the schema edge replaces it by its keyed hash and last 4
(``api.services.ssn``) before a change reaches a service, so what is stored in
``change_items.payload`` (and replayed on a rep's approval) is already safe.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
from typing import Any, Union

import orjson

from api.services.rules import Problem
from api.services.ssn import InvalidSSNError, ssn_hash, ssn_last4
from db.models import ChangeKind, Relationship, Sex


class ChangeReason(enum.StrEnum):
    """Why a change is made; the qualifying life events (QLEs) need an event date."""

    NEW_HIRE = "NEW_HIRE"
    OPEN_ENROLLMENT = "OPEN_ENROLLMENT"
    MARRIAGE = "MARRIAGE"
    BIRTH = "BIRTH"
    ADOPTION = "ADOPTION"
    LOSS_OF_OTHER_COVERAGE = "LOSS_OF_OTHER_COVERAGE"
    DIVORCE = "DIVORCE"
    DEATH = "DEATH"
    END_OF_EMPLOYMENT = "END_OF_EMPLOYMENT"
    CORRECTION = "CORRECTION"
    OTHER = "OTHER"


QUALIFYING_EVENTS = frozenset(
    {
        ChangeReason.MARRIAGE,
        ChangeReason.BIRTH,
        ChangeReason.ADOPTION,
        ChangeReason.LOSS_OF_OTHER_COVERAGE,
        ChangeReason.DIVORCE,
    }
)
EVENT_DATED = frozenset({ChangeReason.BIRTH, ChangeReason.ADOPTION})
"""Coverage starts on the event date itself, not on a 1st (SPEC §2)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Person:
    """Demographics of a new member; ``ssn_error`` says why a given SSN was refused."""

    first_name: str
    last_name: str
    date_of_birth: dt.date
    sex: Sex
    ssn_hash: str | None = None
    ssn_last4: str | None = None
    ssn_error: str | None = None


def person_with_ssn(
    first_name: str, last_name: str, born: dt.date, sex: Sex, ssn: str | None, *, key: str
) -> Person:
    """A new member's demographics with the SSN replaced by its keyed hash and last 4, or
    with why the SSN was refused (the change is then rejected with that message)."""
    if not ssn:
        return Person(first_name, last_name, born, sex)
    try:
        hashed, last4 = ssn_hash(key=key, ssn=ssn), ssn_last4(ssn)
    except InvalidSSNError as exc:
        return Person(first_name, last_name, born, sex, ssn_error=str(exc))
    return Person(first_name, last_name, born, sex, ssn_hash=hashed, ssn_last4=last4)


@dataclasses.dataclass(frozen=True, slots=True)
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    line2: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class AddSubscriber:
    effective_date: dt.date
    reason: ChangeReason
    person: Person
    plan_code: str
    address: Address | None = None
    event_date: dt.date | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class AddDependent:
    """``subscriber_member_id`` is resolved from ``subscriber_position`` (an addSubscriber
    item of the same batch) before the change is processed or stored."""

    effective_date: dt.date
    reason: ChangeReason
    person: Person
    relationship: Relationship
    subscriber_member_id: str | None = None
    subscriber_position: int | None = None
    event_date: dt.date | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Terminate:
    """``effective_date`` is the last covered day."""

    effective_date: dt.date
    reason: ChangeReason
    member_id: str
    event_date: dt.date | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ChangePlan:
    effective_date: dt.date
    reason: ChangeReason
    member_id: str
    plan_code: str
    event_date: dt.date | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class UpdateMember:
    """Demographics only; a field left ``None`` is kept."""

    effective_date: dt.date
    reason: ChangeReason
    member_id: str
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: dt.date | None = None
    sex: Sex | None = None
    address: Address | None = None
    event_date: dt.date | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Reinstate:
    effective_date: dt.date
    reason: ChangeReason
    member_id: str
    event_date: dt.date | None = None


Change = AddSubscriber | AddDependent | Terminate | ChangePlan | UpdateMember | Reinstate

KIND_OF: dict[type[Any], ChangeKind] = {
    AddSubscriber: ChangeKind.ADD_SUBSCRIBER,
    AddDependent: ChangeKind.ADD_DEPENDENT,
    Terminate: ChangeKind.TERMINATE_COVERAGE,
    ChangePlan: ChangeKind.CHANGE_PLAN,
    UpdateMember: ChangeKind.UPDATE_MEMBER,
    Reinstate: ChangeKind.REINSTATE_MEMBER,
}
TYPE_OF = {kind: cls for cls, kind in KIND_OF.items()}


def kind_of(change: Change) -> ChangeKind:
    return KIND_OF[type(change)]


def to_payload(change: Change) -> str:
    """The change as JSON (dates ISO, enums by value); it holds no SSN by construction."""
    return orjson.dumps(dataclasses.asdict(change), option=orjson.OPT_SORT_KEYS).decode()


def from_payload(kind: ChangeKind, payload: str) -> Change:
    """The change stored by ``to_payload``."""
    change: Change = _decode(TYPE_OF[kind], orjson.loads(payload))
    return change


def _decode(cls: type[Any], data: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    return cls(**{name: _value(hints[name], value) for name, value in data.items()})


def _value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if typing.get_origin(hint) in (Union, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if hint is dt.date:
        return dt.date.fromisoformat(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _decode(hint, value)
    return value


def problems_to_json(problems: list[Problem]) -> str:
    return orjson.dumps(
        [{"code": p.code, "message": p.message, "field": p.field} for p in problems]
    ).decode()


def problems_from_json(text: str) -> list[Problem]:
    return [
        Problem(p["code"], p["message"], tuple(p["field"]) if p["field"] else None)
        for p in orjson.loads(text)
    ]

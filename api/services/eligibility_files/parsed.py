"""What a file parser hands to the job: families of changes, and the problems found on the
way, each with where it is in the file and whom it is about."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from api.services.eligibility import changes as c
from api.services.eligibility.changes import Change
from api.services.eligibility.engine import MAX_CHANGES


@dataclass(frozen=True, slots=True)
class FileProblem:
    """``position``: the line (CSV) or segment (X12) number, counted from 1; 0 for the file."""

    position: int
    member: str | None
    code: str
    message: str


@dataclass(slots=True)
class FamilyUnit:
    """Changes applied together in one transaction: a subscriber and the dependents that
    follow it, or a single change. ``positions[i]`` is where ``changes[i]`` is in the file."""

    label: str
    changes: list[Change] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """A member as a full file lists them: how to recognise them on the roster, and the
    add that enrols them when the roster does not have them. ``family_ref`` is the REF*0F
    their subscriber's loop shares; ``member_id`` the carrier ID (NM108 ZZ), if given."""

    position: int
    who: str
    add: c.AddSubscriber | c.AddDependent
    family_ref: str | None
    member_id: str | None

    @property
    def is_subscriber(self) -> bool:
        return isinstance(self.add, c.AddSubscriber)


@dataclass(slots=True)
class FullFile:
    """A full-file 834's members, as of ``effective_date`` (the header's DTP*007, or the
    1st of the month after the file's date): whoever is covered then and not listed is
    missing from it."""

    effective_date: dt.date
    entries: list[RosterEntry] = field(default_factory=list)


@dataclass(slots=True)
class ParsedFile:
    """``rejected``: why the whole file cannot be read (then ``units`` is empty).
    ``full``: a full file's roster, to compare with the group's before there are units;
    ``differences``: what that comparison reports (not errors: nothing was refused)."""

    units: list[FamilyUnit] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    rejected: FileProblem | None = None
    full: FullFile | None = None
    differences: list[FileProblem] = field(default_factory=list)


def rejected_file(code: str, message: str) -> ParsedFile:
    return ParsedFile(rejected=FileProblem(0, None, code, message))


@dataclass(slots=True)
class FamilyGrouping:
    """Builds the units of a file read in order: a new subscriber opens a family, and the
    dependents right after it join it; a dependent names its enrolled subscriber otherwise.

    ``family_key`` is how a file says which subscriber a dependent belongs to (the X12
    REF*0F); a CSV dependent with no subscriber member ID simply joins the open family.
    When a subscriber's own line cannot be read, its dependents are reported, not applied.
    A family never holds more changes than one submission takes (``MAX_CHANGES``).
    """

    parsed: ParsedFile = field(default_factory=ParsedFile)
    family: FamilyUnit | None = None
    family_key: str | None = None
    bad_subscriber_at: int | None = None

    def refuse(self, problem: FileProblem, *, was_subscriber: bool) -> None:
        self.parsed.problems.append(problem)
        if was_subscriber:
            self.family, self.family_key, self.bad_subscriber_at = None, None, problem.position

    def close(self) -> None:
        """No open family: what follows is not a dependent of the last new subscriber."""
        self.family, self.family_key, self.bad_subscriber_at = None, None, None

    def place(self, position: int, who: str, change: Change, family_key: str | None = None) -> None:
        if isinstance(change, c.AddDependent) and self._joins_family(change):
            self._attach(position, who, change)
            return
        unit = FamilyUnit(label=who, changes=[change], positions=[position])
        self.parsed.units.append(unit)
        opens = isinstance(change, c.AddSubscriber)
        self.family, self.family_key = (unit, family_key) if opens else (None, None)
        self.bad_subscriber_at = None

    def _joins_family(self, change: c.AddDependent) -> bool:
        named = change.subscriber_member_id
        return named is None or (self.family is not None and named == self.family_key)

    def _attach(self, position: int, who: str, change: c.AddDependent) -> None:
        if self.family is not None and len(self.family.changes) >= MAX_CHANGES:
            message = (
                f"A family in a file has at most {MAX_CHANGES - 1} dependents after its "
                "subscriber; split it, naming the subscriber's member ID for the rest."
            )
            self.parsed.problems.append(FileProblem(position, who, "FAMILY_TOO_LARGE", message))
            return
        if self.family is not None:
            joined = dataclasses.replace(change, subscriber_member_id=None, subscriber_position=0)
            self.family.changes.append(joined)
            self.family.positions.append(position)
            return
        if self.bad_subscriber_at is not None:
            code, message = (
                "SUBSCRIBER_LINE_INVALID",
                (
                    f"This dependent belongs to the subscriber at {self.bad_subscriber_at}, which "
                    "has a problem; fix the subscriber and send both again."
                ),
            )
        else:
            code, message = (
                "DEPENDENT_WITHOUT_SUBSCRIBER",
                (
                    "A dependent must follow its new subscriber, or name an enrolled subscriber's "
                    "member ID; move it after its subscriber, or give that member ID."
                ),
            )
        self.parsed.problems.append(FileProblem(position, who, code, message))

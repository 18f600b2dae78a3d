"""A full-file 834 compared with the group's roster (issue: eligibility files).

A full file lists everyone the employer covers as of its effective date (the header's
DTP*007, or the 1st of the month after the file's date). Compared with the members
covered on that date or later:

- a listed member the roster lacks is added, through the same add as a change file;
- a listed subscriber on another plan is reported (``PLAN_DIFFERS``), not changed: a full
  file carries no date for a change of plan, so the employer sends a 001 change for it;
- an enrolled member the file leaves out is reported (``MISSING_FROM_FILE``) and is
  terminated on the last day of the month before the effective date (unless their coverage
  starts later: then it is only reported) only when the group
  is set up for it (``full_file_terminates_missing``, off by default), every loop of the
  file could be read, and the terminations stay within the safety share of the roster
  (10 % by default). Beyond it the whole file waits for a rep (``held``).

Members are recognised by carrier member ID (NM108 ZZ), SSN, or name and date of birth.
The decided changes are stored with the file (``to_plan``) so a resumed job applies the
same families under the same idempotency keys.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import orjson
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.eligibility import changes as c
from api.services.eligibility_files.parsed import (
    FamilyGrouping,
    FamilyUnit,
    FileProblem,
    FullFile,
    ParsedFile,
    RosterEntry,
)
from db.models import ChangeKind, Coverage, GroupPlan, Member, MemberStatus, Plan


@dataclass(frozen=True, slots=True)
class Enrolled:
    """A member covered on or after the file's effective date, as the comparison needs
    them: ``starts`` is when that coverage begins, ``plan_code`` its plan."""

    pk: int
    member_id: str
    subscriber_pk: int | None
    identity: tuple[str, str, dt.date]
    ssn_hash: str | None
    plan_code: str
    starts: dt.date


@dataclass(frozen=True, slots=True)
class Policy:
    """The group's choice, and whether a rep approved a file held for its size."""

    terminates_missing: bool
    safety_percent: int
    approved: bool = False


@dataclass(slots=True)
class Roster:
    """The enrolled members, found by member ID, SSN, or name and date of birth."""

    members: list[Enrolled]
    by_member_id: dict[str, Enrolled] = field(default_factory=dict)
    by_ssn: dict[str, Enrolled] = field(default_factory=dict)
    by_identity: dict[tuple[str, str, dt.date], Enrolled] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for member in self.members:
            self.by_member_id[member.member_id] = member
            self.by_identity[member.identity] = member
            if member.ssn_hash:
                self.by_ssn[member.ssn_hash] = member

    def find(self, entry: RosterEntry) -> Enrolled | None:
        person = entry.add.person
        if entry.member_id:
            return self.by_member_id.get(entry.member_id)
        if person.ssn_hash and person.ssn_hash in self.by_ssn:
            return self.by_ssn[person.ssn_hash]
        return self.by_identity.get(_identity(person))


def _identity(person: c.Person) -> tuple[str, str, dt.date]:
    return person.last_name.lower(), person.first_name.lower(), person.date_of_birth


async def enrolled_on(session: AsyncSession, group_id: int, day: dt.date) -> Roster:
    """The group's members covered on ``day`` or later (a file must not add again someone
    whose coverage starts after its date), in one statement whatever the group's size."""
    stmt = (
        select(
            Member.id, Member.member_id, Member.subscriber_id, func.lower(Member.last_name),
            func.lower(Member.first_name), Member.date_of_birth, Member.ssn_hash, Plan.code,
            Coverage.effective_date,
        )
        .join(Coverage, Coverage.member_id == Member.id)
        .join(GroupPlan, GroupPlan.id == Coverage.group_plan_id)
        .join(Plan, Plan.id == GroupPlan.plan_id)
        .where(Member.group_id == group_id, Member.status != MemberStatus.MERGED)
        .where(or_(Coverage.termination_date.is_(None), Coverage.termination_date >= day))
        .order_by(Member.member_id, Coverage.effective_date)
    )  # fmt: skip
    first_spans: dict[int, Enrolled] = {}
    for r in (await session.execute(stmt)).all():
        enrolled = Enrolled(r[0], r[1], r[2], (r[3], r[4], r[5]), r[6], r[7], r[8])
        if r[0] not in first_spans or r[8] <= day:  # the span covering ``day`` wins
            first_spans[r[0]] = enrolled
    return Roster(list(first_spans.values()))


@dataclass(slots=True)
class Comparison:
    """What the file means for the roster; ``held``: why it waits for a rep."""

    parsed: ParsedFile
    missing: int = 0
    held: FileProblem | None = None


def compare(parsed: ParsedFile, roster: Roster, policy: Policy) -> Comparison:
    """The families to apply and the differences to report (pure: the roster is loaded)."""
    assert parsed.full is not None
    full = parsed.full
    grouping = FamilyGrouping(parsed=ParsedFile(problems=list(parsed.problems)))
    listed = _place_entries(full, roster, grouping)
    gone = [m for m in roster.members if m.pk not in listed]
    result = Comparison(grouping.parsed, len(gone))
    result.parsed.differences += _plan_differences(full, roster)
    last_day = full.effective_date.replace(day=1) - dt.timedelta(days=1)
    outcome = _decide(policy, gone, roster, fully_read=not parsed.problems)
    if outcome.held:
        result.held = FileProblem(0, None, "SAFETY_SHARE_EXCEEDED", outcome.reason)
        result.parsed.units = []
    elif outcome.terminate:
        ending = [m for m in _to_terminate(gone) if m.starts <= last_day]
        result.parsed.units += [_termination(m, last_day) for m in ending]
    result.parsed.differences += [_missing_problem(m, outcome, last_day) for m in gone]
    return result


def _place_entries(full: FullFile, roster: Roster, grouping: FamilyGrouping) -> set[int]:
    """Adds for the members the roster lacks; the pks of the listed members it has. A new
    dependent of an enrolled subscriber names that subscriber's member ID."""
    listed: set[int] = set()
    enrolled_subscriber: dict[str | None, str] = {}
    for entry in full.entries:
        found = roster.find(entry)
        if found is not None:
            listed.add(found.pk)
            if entry.is_subscriber:
                enrolled_subscriber[entry.family_ref] = found.member_id
                grouping.close()
            continue
        if entry.member_id:  # a carrier ID names an enrolled member: never add them again
            grouping.refuse(_not_on_roster(entry, full), was_subscriber=entry.is_subscriber)
            continue
        add = entry.add
        if isinstance(add, c.AddDependent) and entry.family_ref in enrolled_subscriber:
            named = enrolled_subscriber[entry.family_ref]
            add = dataclasses.replace(add, subscriber_member_id=named)
        grouping.place(entry.position, entry.who, add, entry.family_ref)
    return listed


def _not_on_roster(entry: RosterEntry, full: FullFile) -> FileProblem:
    message = (
        f"The file lists member ID {entry.member_id}, which is not covered on "
        f"{full.effective_date.isoformat()}: send a 025 reinstatement for them, or list "
        "them without the member ID (NM108 34 with the SSN) if they are new."
    )
    return FileProblem(entry.position, entry.who, "MEMBER_NOT_ON_ROSTER", message)


def _plan_differences(full: FullFile, roster: Roster) -> list[FileProblem]:
    differences = []
    for entry in full.entries:
        found = roster.find(entry)
        if found is None or not isinstance(entry.add, c.AddSubscriber):
            continue
        if entry.add.plan_code != found.plan_code:
            message = (
                f"The file lists plan {entry.add.plan_code}; {found.member_id} is covered "
                f"under {found.plan_code}. Nothing was changed: send a 001 change with its date."
            )
            differences.append(FileProblem(entry.position, entry.who, "PLAN_DIFFERS", message))
    return differences


@dataclass(frozen=True, slots=True)
class Decision:
    terminate: bool
    held: bool
    reason: str


def _decide(policy: Policy, gone: list[Enrolled], roster: Roster, *, fully_read: bool) -> Decision:
    """Whether the members left out are terminated, kept, or the file waits for a rep."""
    if not gone:
        return Decision(False, False, "")
    if not policy.terminates_missing:
        return Decision(False, False, NOT_SET_UP)
    if not fully_read:
        return Decision(False, False, NOT_FULLY_READ)
    share = 100 * len(gone) / len(roster.members)
    if share > policy.safety_percent and not policy.approved:
        reason = (
            f"{len(gone)} of {len(roster.members)} covered members ({share:.1f} %) are not in "
            f"this full file, more than the group's safety share of {policy.safety_percent} %. "
            "Nothing was applied: a rep must approve the file (or reject it)."
        )
        return Decision(False, True, reason)
    return Decision(True, False, "")


NOT_SET_UP = (
    "not terminated: the group is not set up to terminate members a full file leaves out "
    "(a rep can turn that on); send a 024 termination for them if they left"
)
NOT_FULLY_READ = (
    "not terminated: some member loops of the file could not be read (see the other "
    "problems), so who is missing is uncertain; correct the file and send it again"
)


def _to_terminate(gone: list[Enrolled]) -> list[Enrolled]:
    """A left-out subscriber's termination ends their dependents' coverage with it."""
    gone_pks = {m.pk for m in gone}
    return [m for m in gone if m.subscriber_pk not in gone_pks]


def _termination(member: Enrolled, last_day: dt.date) -> FamilyUnit:
    change = c.Terminate(last_day, c.ChangeReason.OTHER, member.member_id)
    return FamilyUnit(label=member.member_id, changes=[change], positions=[0])


def _missing_problem(member: Enrolled, outcome: Decision, last_day: dt.date) -> FileProblem:
    if outcome.held:
        done = "to be terminated if a rep approves the file (see the report's first line)"
    elif not outcome.terminate:
        done = outcome.reason
    elif member.starts > last_day:
        done = (
            f"not terminated: their coverage starts on {member.starts.isoformat()}, after "
            "the file's date; send a 024 termination if it should not start"
        )
    else:
        done = f"terminated on {last_day.isoformat()}, the last day before the file's month"
    message = f"Covered on the roster but not in this full file: {done}."
    return FileProblem(0, member.member_id, "MISSING_FROM_FILE", message)


def to_plan(comparison: Comparison) -> str:
    """The decided families, differences and counts as JSON, stored with the file."""
    units = [
        {
            "label": unit.label,
            "positions": unit.positions,
            "changes": [[c.kind_of(ch).value, c.to_payload(ch)] for ch in unit.changes],
        }
        for unit in comparison.parsed.units
    ]
    return orjson.dumps(
        {
            "units": units,
            "problems": [dataclasses.asdict(p) for p in comparison.parsed.problems],
            "differences": [dataclasses.asdict(p) for p in comparison.parsed.differences],
            "missing": comparison.missing,
        }
    ).decode()


def from_plan(text: str) -> Comparison:
    data = orjson.loads(text)
    units = [
        FamilyUnit(
            u["label"],
            [c.from_payload(ChangeKind(kind), payload) for kind, payload in u["changes"]],
            u["positions"],
        )
        for u in data["units"]
    ]
    problems = [FileProblem(**p) for p in data["problems"]]
    differences = [FileProblem(**p) for p in data["differences"]]
    return Comparison(ParsedFile(units, problems, differences=differences), data["missing"])

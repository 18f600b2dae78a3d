"""What a file parser hands to the job: families of changes, and the problems found on the
way, each with where it is in the file and whom it is about."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.services.eligibility.changes import Change


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


@dataclass(slots=True)
class ParsedFile:
    """``rejected``: why the whole file cannot be read (then ``units`` is empty)."""

    units: list[FamilyUnit] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    rejected: FileProblem | None = None


def rejected_file(code: str, message: str) -> ParsedFile:
    return ParsedFile(rejected=FileProblem(0, None, code, message))

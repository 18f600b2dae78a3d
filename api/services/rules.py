"""Business-rule failures, as services report them (GraphQL turns them into userErrors).

A service checks everything it can, collects every ``Problem`` and raises one
``RuleViolation`` before it writes anything, so a refused request changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """``code``: a member of the mutation's error-code enum; ``field``: path into the input;
    ``message``: plain English that says what to do."""

    code: str
    message: str
    field: tuple[str, ...] | None = None


class RuleViolation(Exception):
    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(problem.message for problem in self.problems))


def refuse_if(problems: list[Problem]) -> None:
    if problems:
        raise RuleViolation(problems)

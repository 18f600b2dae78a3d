"""The shared ``UserError`` interface (CONVENTIONS §2.7) and how a mutation's payload is
built from a service's ``RuleViolation``."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TypeVar

import strawberry

from api.services.rules import Problem


@strawberry.interface(description="A business-rule failure the caller can fix.")
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path to the input field at fault, when one is."
    )
    message: str = strawberry.field(description="What went wrong and what to do, in plain words.")


E = TypeVar("E")


def user_errors(
    error_type: type[E], codes: type[enum.Enum], problems: Sequence[Problem]
) -> list[E]:
    """One ``error_type`` per problem, its code looked up in the mutation's code enum."""
    return [
        error_type(  # type: ignore[call-arg]
            field=list(problem.field) if problem.field else None,
            message=problem.message,
            code=codes[problem.code],
        )
        for problem in problems
    ]

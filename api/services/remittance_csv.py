"""A remittance roster written as CSV (issue 7: "also accepted as CSV").

The documented format, UTF-8, comma-separated, a header line required:

    member_id,plan_code,tier,amount
    90000000000,DPPO-BASIC,EMPLOYEE,40.00

- ``member_id``: the subscriber's carrier member ID; one line per subscriber;
- ``plan_code``: the plan the group remits for (case does not matter);
- ``tier``: EMPLOYEE, EMPLOYEE_SPOUSE, EMPLOYEE_CHILDREN or FAMILY;
- ``amount``: dollars and cents, 0 or more, without a currency sign (``40``, ``40.00``).

The columns may come in any order; unknown or missing columns are refused so a typo is
not silently ignored; blank lines are skipped. A CSV with any error is refused whole:
every problem names its line number (the header is line 1) and what to fix.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

from api.services.remittance_rules import MAX_LINES, RosterLine, roster_problems
from api.services.rules import Problem, RuleViolation, refuse_if
from db.models import CoverageTier

COLUMNS = ("member_id", "plan_code", "tier", "amount")
MAX_PROBLEMS = 100
_AMOUNT = re.compile(r"\d{1,8}(\.\d{1,2})?")


def template() -> str:
    """The header and an example line, for benefit leaders to fill in."""
    return "member_id,plan_code,tier,amount\r\n90000000000,DPPO-BASIC,EMPLOYEE,40.00\r\n"


def parse(text: str) -> list[RosterLine]:
    """The roster lines of ``text``; ``RuleViolation`` with every problem otherwise."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise RuleViolation([_whole("The CSV is empty; send the header line and one line "
                                    "per subscriber.")])  # fmt: skip
    reader = csv.reader(io.StringIO(text, newline=""))
    order = _columns(next(reader, []))
    lines: list[RosterLine] = []
    problems: list[Problem] = []
    for row in reader:
        if not any(value.strip() for value in row):
            continue
        line, faults = _line(reader.line_num, order, row)
        problems += faults
        if line is not None:
            lines.append(line)
        if len(lines) > MAX_LINES:
            break
    problems += roster_problems(lines, csv=True) if lines or not problems else []
    refuse_if(_capped(problems))
    return lines


def _columns(header: list[str]) -> list[str]:
    names = [name.strip().lower() for name in header]
    unknown = sorted(set(names) - set(COLUMNS))
    missing = [name for name in COLUMNS if name not in names]
    if unknown or missing or len(names) != len(set(names)):
        said = [f"unknown columns: {', '.join(unknown)}"] if unknown else []
        said += [f"missing columns: {', '.join(missing)}"] if missing else []
        said += ["a column is named twice"] if len(names) != len(set(names)) else []
        raise RuleViolation([_whole(
            f"Line 1 must be the header {','.join(COLUMNS)} ({'; '.join(said)}); add or "
            "correct the header and send the CSV again."
        )])  # fmt: skip
    return names


def _line(number: int, order: list[str], row: list[str]) -> tuple[RosterLine | None, list[Problem]]:
    if len(row) != len(order):
        message = f"it has {len(row)} values; write {len(order)}, one per header column."
        return None, [_at(number, message)]
    values = {name: value.strip() for name, value in zip(order, row, strict=True)}
    tier = CoverageTier.__members__.get(values["tier"].upper())
    amount = values["amount"]
    faults = []
    if tier is None:
        allowed = ", ".join(CoverageTier.__members__)
        faults.append(_at(number, f"tier must be one of {allowed}; got {values['tier']!r}."))
    if not _AMOUNT.fullmatch(amount):
        faults.append(_at(number, f"amount must be dollars and cents such as 40.00, without a "
                                  f"currency sign; got {amount!r}."))  # fmt: skip
    if faults or tier is None:
        return None, faults
    line = RosterLine(number, values["member_id"], values["plan_code"].upper(), tier,
                      int(Decimal(amount) * 100))  # fmt: skip
    return line, []


def _capped(problems: list[Problem]) -> list[Problem]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS], _whole(f"... and {more} more problems; fix the lines "
                                             "above and send the CSV again.")]  # fmt: skip


def _at(number: int, message: str) -> Problem:
    return Problem("CSV_LINE_INVALID", f"Line {number}: {message}", ("csv",))


def _whole(message: str) -> Problem:
    return Problem("CSV_INVALID", message, ("csv",))

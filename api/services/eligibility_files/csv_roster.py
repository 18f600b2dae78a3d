"""The CSV roster format for small groups: one change per line, a header naming the
columns (any order; unknown columns are refused so a typo is not silently ignored).

- action (all lines): ADD, TERMINATE, CHANGE_PLAN, UPDATE or REINSTATE;
- effective_date (all): YYYY-MM-DD, a termination's last covered day;
- reason (all): NEW_HIRE, OPEN_ENROLLMENT, MARRIAGE, BIRTH, ADOPTION, ...; event_date
  (YYYY-MM-DD) for a qualifying life event;
- relationship (ADD): SUBSCRIBER, SPOUSE, DOMESTIC_PARTNER or CHILD;
- member_id (all but ADD): the carrier member ID;
- subscriber_member_id (ADD of a dependent): an enrolled subscriber's member ID; blank
  means the subscriber added on the lines just above;
- first_name, last_name, date_of_birth, sex (ADD; UPDATE: what changes): sex is FEMALE,
  MALE or UNKNOWN; ssn (ADD, optional): 9 digits, stored only as a keyed hash and last 4;
- plan_code (ADD of a subscriber, CHANGE_PLAN): one of the group's plan codes;
- address_line1, address_line2, city, state, postal_code (ADD of a subscriber, UPDATE):
  all of line1, city, state and postal_code, or none.

Parsing checks the format only; the carrier's rules are checked when the changes are
applied, exactly as for the portal form.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from api.services.eligibility import changes as c
from api.services.eligibility_files.parsed import (
    FamilyGrouping,
    FileProblem,
    ParsedFile,
    rejected_file,
)
from db.models import Relationship, Sex

COLUMNS = (
    "action", "effective_date", "reason", "event_date", "relationship", "member_id",
    "subscriber_member_id", "first_name", "last_name", "date_of_birth", "sex", "ssn",
    "plan_code", "address_line1", "address_line2", "city", "state", "postal_code",
)  # fmt: skip
REQUIRED = ("action", "effective_date", "reason")
E = TypeVar("E", bound=enum.Enum)


class RowError(ValueError):
    """A line that cannot become a change; the message says what to fix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def template() -> str:
    """The header line and one example family, for benefit leaders to fill in."""
    rows = [
        COLUMNS,
        ("ADD", "2027-01-01", "NEW_HIRE", "", "SUBSCRIBER", "", "", "Maria", "Lopez",
         "1988-04-12", "FEMALE", "123456789", "DPPO-PLUS", "12 Elm St", "", "Dayton", "OH",
         "45402"),
        ("ADD", "2027-01-01", "NEW_HIRE", "", "CHILD", "", "", "Leo", "Lopez", "2016-09-30",
         "MALE", "", "", "", "", "", "", ""),
    ]  # fmt: skip
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def parse(content: bytes, *, ssn_key: str) -> ParsedFile:
    """Families of changes from a CSV roster, with a problem for each line that is not one."""
    text = _decode(content)
    if isinstance(text, ParsedFile):
        return text
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="__extra__")
    if header_problem := _header_problem(reader.fieldnames):
        return header_problem
    return _families(_lines(reader), ssn_key)


def _decode(content: bytes) -> str | ParsedFile:
    if not content.strip():
        return rejected_file(
            "EMPTY_FILE", "The file is empty; send the header and one line per change."
        )
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return rejected_file(
            "NOT_UTF8",
            f"The file is not UTF-8 text (byte {exc.start + 1}); save it as CSV UTF-8 and "
            "send it again.",
        )


def _header_problem(fields: Sequence[str] | None) -> ParsedFile | None:
    names = [name.strip().lower() for name in fields or []]
    unknown = sorted(set(names) - set(COLUMNS))
    missing = [name for name in REQUIRED if name not in names]
    if unknown or missing:
        said = [f"unknown columns: {', '.join(unknown)}"] if unknown else []
        said += [f"missing columns: {', '.join(missing)}"] if missing else []
        return rejected_file(
            "BAD_HEADER",
            f"The first line must name the columns ({'; '.join(said)}); download the template "
            "for the exact names.",
        )
    return None


def _lines(reader: csv.DictReader[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, cleaned values) for every non-blank line after the header."""
    for row in reader:
        values = {
            (key or "").strip().lower(): (value or "").strip()
            for key, value in row.items()
            if key != "__extra__"
        }
        if "__extra__" in row:
            values["__extra__"] = "yes"
        if any(values.values()):
            yield reader.line_num, values


def _families(lines: Iterator[tuple[int, dict[str, str]]], ssn_key: str) -> ParsedFile:
    grouping = FamilyGrouping()
    for line, row in lines:
        who = _who(row) or f"line {line}"
        try:
            grouping.place(line, who, _change(row, ssn_key))
        except RowError as error:
            problem = FileProblem(line, _who(row), error.code, str(error))
            grouping.refuse(problem, was_subscriber=_is_new_subscriber(row))
    return grouping.parsed


def _is_new_subscriber(row: dict[str, str]) -> bool:
    return row.get("action", "").upper() == "ADD" and row.get("relationship", "").upper() in (
        "SUBSCRIBER",
        "",
    )


def _who(row: dict[str, str]) -> str | None:
    name = " ".join(part for part in (row.get("first_name"), row.get("last_name")) if part)
    return row.get("member_id") or name or None


def _change(row: dict[str, str], ssn_key: str) -> c.Change:
    if "__extra__" in row:
        raise RowError("TOO_MANY_VALUES", "The line has more values than the header has columns.")
    action = row.get("action", "").upper()
    build = _BUILDERS.get(action)
    if build is None:
        raise RowError(
            "UNKNOWN_ACTION",
            f"action must be one of {', '.join(_BUILDERS)}; got {row.get('action')!r}.",
        )
    return build(row, ssn_key)


def _add(row: dict[str, str], ssn_key: str) -> c.Change:
    relationship = _enum(row, "relationship", Relationship)
    person = _person(row, ssn_key)
    effective, reason, event = _when(row)
    if relationship is Relationship.SUBSCRIBER:
        plan = _required(row, "plan_code").upper()
        return c.AddSubscriber(effective, reason, person, plan, _address(row), event)
    subscriber = row.get("subscriber_member_id") or None
    return c.AddDependent(effective, reason, person, relationship, subscriber, None, event)


def _terminate(row: dict[str, str], _key: str) -> c.Change:
    effective, reason, event = _when(row)
    return c.Terminate(effective, reason, _required(row, "member_id"), event)


def _change_plan(row: dict[str, str], _key: str) -> c.Change:
    effective, reason, event = _when(row)
    plan = _required(row, "plan_code").upper()
    return c.ChangePlan(effective, reason, _required(row, "member_id"), plan, event)


def _reinstate(row: dict[str, str], _key: str) -> c.Change:
    effective, reason, event = _when(row)
    return c.Reinstate(effective, reason, _required(row, "member_id"), event)


def _update(row: dict[str, str], _key: str) -> c.Change:
    effective, reason, event = _when(row)
    born = _date(row, "date_of_birth") if row.get("date_of_birth") else None
    sex = _enum(row, "sex", Sex) if row.get("sex") else None
    return c.UpdateMember(
        effective, reason, _required(row, "member_id"), row.get("first_name") or None,
        row.get("last_name") or None, born, sex, _address(row), event,
    )  # fmt: skip


_BUILDERS: dict[str, Callable[[dict[str, str], str], c.Change]] = {
    "ADD": _add,
    "TERMINATE": _terminate,
    "CHANGE_PLAN": _change_plan,
    "UPDATE": _update,
    "REINSTATE": _reinstate,
}


def _when(row: dict[str, str]) -> tuple[dt.date, c.ChangeReason, dt.date | None]:
    event = _date(row, "event_date") if row.get("event_date") else None
    return _date(row, "effective_date"), _enum(row, "reason", c.ChangeReason), event


def _person(row: dict[str, str], ssn_key: str) -> c.Person:
    first, last = _required(row, "first_name"), _required(row, "last_name")
    born, sex = _date(row, "date_of_birth"), _enum(row, "sex", Sex)
    return c.person_with_ssn(first, last, born, sex, row.get("ssn"), key=ssn_key)


def _address(row: dict[str, str]) -> c.Address | None:
    parts = {name: row.get(name, "") for name in ("address_line1", "city", "state", "postal_code")}
    if not any(parts.values()) and not row.get("address_line2"):
        return None
    missing = [name for name, value in parts.items() if not value]
    if missing:
        raise RowError(
            "INCOMPLETE_ADDRESS",
            f"An address needs address_line1, city, state and postal_code; {', '.join(missing)} "
            "is empty.",
        )
    return c.Address(
        parts["address_line1"], parts["city"], parts["state"].upper(), parts["postal_code"],
        row.get("address_line2") or None,
    )  # fmt: skip


def _required(row: dict[str, str], column: str) -> str:
    value = row.get(column, "")
    if not value:
        raise RowError("MISSING_VALUE", f"{column} is empty; this action needs it.")
    return value


def _date(row: dict[str, str], column: str) -> dt.date:
    value = _required(row, column)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RowError(
            "INVALID_DATE", f"{column} must be a date written YYYY-MM-DD; got {value!r}."
        ) from None


def _enum(row: dict[str, str], column: str, kind: type[E]) -> E:
    value = _required(row, column).upper()
    by_name = kind.__members__.get(value)  # FEMALE as well as F
    if by_name is not None:
        return by_name
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(kind.__members__)
        raise RowError(
            "INVALID_VALUE", f"{column} must be one of {allowed}; got {row[column]!r}."
        ) from None

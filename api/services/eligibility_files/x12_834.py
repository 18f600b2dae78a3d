"""X12 834 (005010X220A1) benefit enrollment files, validated and read with pyx12.

pyx12 checks the envelope and the transaction set against its 834 map and writes the 999
acknowledgment (accepted, accepted with errors, rejected). A rejected interchange changes
nothing; otherwise each member loop (2000) becomes one change, read loop-aware:

- INS01 Y/N subscriber or dependent; INS02 relationship: 18 self, 01 spouse, 53 domestic
  partner, 19 child and the other child codes (05, 09, 10, 15, 17, 23, 24, 38);
- INS03 maintenance type: 021 add, 024 termination, 001 change (a new plan in HD04),
  025 reinstatement; a full file (BGN08 RX or 4, or every loop 030 audit) lists the whole
  roster instead, and ``full_file`` compares it with the group's;
- INS04 maintenance reason, mapped to the portal's reasons (28 initial enrolment is a new
  hire, 32 marriage, 02 birth, 05 adoption, 01 divorce, 03 death, 08 end of employment);
- NM1*IL: names; NM108 34 with the SSN for a new member, ZZ with the carrier member ID
  for a change to an enrolled one; DMG: date of birth and sex; N3/N4: the address;
- REF*0F: the subscriber; a dependent's 021 after its subscriber's 021 with the same
  REF*0F joins that family, otherwise REF*0F is the enrolled subscriber's member ID;
- HD04: the plan code; HD05: the coverage level (EMP, ESP, ECH, FAM, ...), checked but
  not trusted: the tier is derived from the covered dependents (SPEC §2);
- dates: DTP 348/356 coverage and eligibility begin, 349/357 end (D8, CCYYMMDD).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyx12.error_handler
import pyx12.errors
import pyx12.params
import pyx12.x12context
import pyx12.x12n_document

from api.services.eligibility import changes as c
from api.services.eligibility_files.csv_roster import RowError
from api.services.eligibility_files.parsed import (
    FamilyGrouping,
    FileProblem,
    FullFile,
    ParsedFile,
    RosterEntry,
    rejected_file,
)
from db.models import Relationship, Sex

logging.getLogger("pyx12").setLevel(logging.CRITICAL)  # its findings come back in the 999

CHILD_CODES = ("05", "09", "10", "15", "17", "19", "23", "24", "38")
RELATIONSHIPS = {
    "18": Relationship.SUBSCRIBER,
    "01": Relationship.SPOUSE,
    "53": Relationship.DOMESTIC_PARTNER,
    **dict.fromkeys(CHILD_CODES, Relationship.CHILD),
}
REASONS = {"28": c.ChangeReason.NEW_HIRE, "32": c.ChangeReason.MARRIAGE,
           "02": c.ChangeReason.BIRTH, "05": c.ChangeReason.ADOPTION,
           "01": c.ChangeReason.DIVORCE, "03": c.ChangeReason.DEATH,
           "08": c.ChangeReason.END_OF_EMPLOYMENT, "07": c.ChangeReason.END_OF_EMPLOYMENT,
           "25": c.ChangeReason.CORRECTION, "41": c.ChangeReason.OPEN_ENROLLMENT}  # fmt: skip
COVERAGE_LEVELS = frozenset(
    {"CHD", "DEP", "E1D", "E2D", "E3D", "E5D", "E6D", "E7D", "E8D", "E9D", "ECH", "EMP",
     "ESP", "FAM", "IND", "SPC", "SPO", "TWO"}
)  # fmt: skip
SEXES = {"F": Sex.FEMALE, "M": Sex.MALE, "U": Sex.UNKNOWN}


@dataclass(frozen=True, slots=True)
class Envelope:
    """ISA06 sender and ISA13 control number: an interchange sent twice is the same file."""

    sender: str
    control: str


def envelope_of(content: bytes) -> Envelope | None:
    """The ISA's sender and control number, read by position (the ISA is fixed length)."""
    head = content.lstrip()[:106].decode("ascii", errors="replace")
    if not head.startswith("ISA") or len(head) < 106:
        return None
    fields = head.split(head[3])
    return None if len(fields) < 14 else Envelope(fields[6].strip(), fields[13].strip())


@dataclass(slots=True)
class X12Result:
    parsed: ParsedFile
    acknowledgment: str | None


def parse(content: bytes, *, ssn_key: str) -> X12Result:
    """Validate (with its 999), then read the member loops into families of changes."""
    text = _text(content)
    if isinstance(text, ParsedFile):
        return X12Result(text, None)
    if refused := _envelope_refusal(text):
        return X12Result(refused, None)
    acknowledgment, problems = _validate(text)
    if acknowledgment is None:
        return X12Result(_unreadable(), None)
    if _rejected(acknowledgment):
        parsed = rejected_file("INTERCHANGE_REJECTED", _rejection_message(problems))
        parsed.problems = problems
        return X12Result(parsed, acknowledgment)
    return X12Result(_read(text, problems, ssn_key), acknowledgment)


def _text(content: bytes) -> str | ParsedFile:
    if not content.strip():
        return rejected_file("EMPTY_FILE", "The file is empty.")
    try:
        return content.decode("ascii")
    except UnicodeDecodeError as exc:
        return rejected_file(
            "NOT_X12_TEXT",
            f"Byte {exc.start + 1} is not X12 text (the basic character set); the file may "
            "be damaged or in another format. Export it again as an X12 834.",
        )


VERSION = "005010X220A1"


def _envelope_refusal(text: str) -> ParsedFile | None:
    """What pyx12's 999 does not cover: the implementation guide, and control numbers
    that must match between each header and its trailer (ISA13/IEA02, GS06/GE02, ST02/SE02)."""
    segments = {fields[0]: fields for fields in _segments(text)}
    if "GS" in segments and segments["GS"][-1] != VERSION:
        return rejected_file(
            "WRONG_VERSION",
            f"GS08 is {segments['GS'][-1]!r}; this carrier reads the 834 of {VERSION} only.",
        )
    pairs = (("ISA", 13, "IEA", 2), ("GS", 6, "GE", 2), ("ST", 2, "SE", 2))
    for head, at, tail, at_tail in pairs:
        a, b = segments.get(head, []), segments.get(tail, [])
        if len(a) > at and len(b) > at_tail and a[at].strip() != b[at_tail].strip():
            return rejected_file(
                "CONTROL_NUMBER_MISMATCH",
                f"{head}{at:02d} is {a[at].strip()!r} but {tail}{at_tail:02d} is "
                f"{b[at_tail].strip()!r}; they must be equal. The file may be two files "
                "joined or cut short: export it again.",
            )
    return None


def _segments(text: str) -> Iterator[list[str]]:
    if len(text) < 106 or not text.startswith("ISA"):
        return
    element, terminator = text[3], text[105]
    for segment in text.split(terminator):
        if segment.strip():
            yield segment.strip().split(element)


def _unreadable() -> ParsedFile:
    return rejected_file(
        "NOT_AN_INTERCHANGE",
        "The file does not start with a readable ISA envelope (106 characters, then GS, ST "
        "834 ... SE, GE, IEA); it may be truncated. Send the complete 834 again.",
    )


def _validate(text: str) -> tuple[str | None, list[FileProblem]]:
    """pyx12's 999 for the file, and its findings in plain English; no 999 when the
    envelope itself cannot be read."""
    out = io.StringIO()
    try:
        pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(text), out, None)
    except (pyx12.errors.X12Error, pyx12.errors.EngineError, ValueError, IndexError, KeyError):
        return None, []
    acknowledgment = out.getvalue()
    if "ST*999" not in acknowledgment:
        return None, []
    return acknowledgment, _syntax_problems(acknowledgment)


def _rejected(acknowledgment: str) -> bool:
    """AK9*R (or IK5*R for every set): the interchange is refused; A, E and P go on."""
    found = re.search(r"AK9\*(\w)", acknowledgment)
    return found is None or found.group(1) == "R"


SEGMENT_ERRORS = {
    "1": "is not a segment of an 834", "2": "is not expected here",
    "3": "is required but missing", "4": "repeats more loops than allowed",
    "5": "repeats more often than allowed", "6": "is not in this transaction set",
    "7": "is out of order", "8": "has element errors",
}  # fmt: skip
ELEMENT_ERRORS = {
    "1": "is required but empty", "2": "is required by another element but empty",
    "3": "has too many repetitions", "4": "is too short", "5": "is too long",
    "6": "has invalid characters", "7": "has a value the 834 does not allow",
    "8": "is not a valid date", "9": "is not a valid time",
    "10": "must be empty when another element is present",
}  # fmt: skip


def _syntax_problems(acknowledgment: str) -> list[FileProblem]:
    """One problem per IK3 (segment) of the 999, with its IK4 (element) details."""
    problems: list[FileProblem] = []
    for segment in acknowledgment.replace("\n", "").split("~"):
        fields = segment.split("*")
        if fields[0] == "IK3" and len(fields) > 4:
            what = SEGMENT_ERRORS.get(fields[4], f"has error {fields[4]}")
            loop = f" (loop {fields[3]})" if fields[3] else ""
            message = f"Segment {fields[1]}{loop} {what}."
            problems.append(FileProblem(int(fields[2] or 0), None, "X12_SEGMENT", message))
        elif fields[0] == "IK4" and len(fields) > 3 and problems:
            what = ELEMENT_ERRORS.get(fields[3], f"has error {fields[3]}")
            bad = f" (found {fields[4]!r})" if len(fields) > 4 and fields[4] else ""
            last = problems[-1]
            element = fields[1].split(":")[0]
            message = f"{last.message[:-1]}: element {element} {what}{bad}."
            problems[-1] = FileProblem(last.position, None, "X12_ELEMENT", message)
    return problems


def _rejection_message(problems: list[FileProblem]) -> str:
    first = f" First: {problems[0].message}" if problems else ""
    return (
        "The 834 breaks the X12 rules, so nothing in it was applied; the 999 lists every "
        f"finding.{first} Correct the file and send it again."
    )


def _read(text: str, problems: list[FileProblem], ssn_key: str) -> ParsedFile:
    parsed = ParsedFile(problems=list(problems))
    if not _is_full_file(text):
        return _families(text, parsed, ssn_key)
    effective = _effective_date(text)
    if effective is None:
        return rejected_file(
            "EFFECTIVE_DATE_MISSING",
            "A full file needs its date (BGN03) or effective date (DTP*007) as CCYYMMDD.",
        )
    parsed.full = FullFile(effective)
    return _roster(text, parsed, ssn_key)


FULL_FILE_CODES = ("RX", "4")
"""BGN08: RX replace, 4 verify. Both list the whole roster; 2 (change) lists changes."""


def _is_full_file(text: str) -> bool:
    """BGN08 says so, or every member loop is an audit (030) of its member."""
    if _bgn(text, 8) in FULL_FILE_CODES:
        return True
    maintenance = re.findall(r"~\s*INS\*[YN]\*\w*\*(\w*)", text)
    return bool(maintenance) and set(maintenance) == {"030"}


def _bgn(text: str, element: int) -> str | None:
    found = re.search(r"BGN\*[^~]*", text)
    fields = found.group(0).split("*") if found else []
    return fields[element] if len(fields) > element else None


def _effective_date(text: str) -> dt.date | None:
    """The header's DTP*007; else the 1st of the month after BGN03 (the file's date): a
    member the file leaves out is covered to the end of the month it was sent."""
    header = text.split("INS*", 1)[0]
    found = re.search(r"DTP\*007\*D8\*(\d{8})", header)
    try:
        if found:
            return _d8(found.group(1), "DTP*007")
        sent = _d8(_bgn(text, 3), "BGN03")
    except RowError:
        return None
    return (sent.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _roster(text: str, parsed: ParsedFile, ssn_key: str) -> ParsedFile:
    """A full file's members, each with the add that would enrol it; a loop that cannot
    be read is a problem (and makes the file unfit to terminate anyone: see full_file)."""
    assert parsed.full is not None
    for node in _member_loops(text):
        position = int(node.seg_count or 0)
        who = _who(node) or f"segment {position}"
        try:
            parsed.full.entries.append(_roster_entry(node, position, who, ssn_key))
        except RowError as error:
            parsed.problems.append(FileProblem(position, who, error.code, str(error)))
    return parsed


def _roster_entry(node: Any, position: int, who: str, ssn_key: str) -> RosterEntry:
    relationship = _relationship(node.get_value("INS02"))
    _check_coverage_level(node.get_value("2300/HD05"))
    ref = _ref(node, "0F")
    reason = REASONS.get(node.get_value("INS04") or "", c.ChangeReason.OTHER)
    add = _add(node, relationship, reason, ref, ssn_key)
    assert isinstance(add, (c.AddSubscriber, c.AddDependent))
    zz = node.get_value("2100A/NM108") == "ZZ"
    return RosterEntry(position, who, add, ref, node.get_value("2100A/NM109") if zz else None)


def _member_loops(text: str) -> Iterator[Any]:
    """The 2000 loops in file order (pyx12's loop-aware reader)."""
    reader = pyx12.x12context.X12ContextReader(
        pyx12.params.params(), pyx12.error_handler.errh_null(), io.StringIO(text)
    )
    for node in reader.iter_segments("2000"):
        if node.id == "2000":
            yield node


def _families(text: str, parsed: ParsedFile, ssn_key: str) -> ParsedFile:
    grouping = FamilyGrouping(parsed=parsed)
    for node in _member_loops(text):
        position, who = int(node.seg_count or 0), _who(node)
        try:
            change, subscriber_ref = _change(node, ssn_key)
        except RowError as error:
            problem = FileProblem(position, who, error.code, str(error))
            grouping.refuse(problem, was_subscriber=node.get_value("INS01") == "Y")
            continue
        grouping.place(position, who or f"segment {position}", change, subscriber_ref)
    return grouping.parsed


def _who(node: Any) -> str | None:
    if node.get_value("2100A/NM108") == "ZZ" and node.get_value("2100A/NM109"):
        member_id: str = node.get_value("2100A/NM109")
        return member_id
    names = (node.get_value("2100A/NM104"), node.get_value("2100A/NM103"))
    return " ".join(name.title() for name in names if name) or None


def _change(node: Any, ssn_key: str) -> tuple[c.Change, str | None]:
    """The loop's change and its REF*0F (which subscriber it belongs to)."""
    relationship = _relationship(node.get_value("INS02"))
    subscriber_ref = _ref(node, "0F")
    maintenance = node.get_value("INS03")
    reason = REASONS.get(node.get_value("INS04") or "", c.ChangeReason.OTHER)
    _check_coverage_level(node.get_value("2300/HD05"))
    if maintenance == "021":
        change = _add(node, relationship, reason, subscriber_ref, ssn_key)
    else:
        change = _maintain(node, maintenance, reason)
    return change, subscriber_ref


def _add(
    node: Any, relationship: Relationship, reason: c.ChangeReason, ref: str | None, key: str
) -> c.Change:
    start = _date(node, ("2300/DTP", "348"), ("DTP", "356"))
    event = start if reason in c.QUALIFYING_EVENTS or reason in c.EVENT_DATED else None
    person = _person(node, key)
    if relationship is Relationship.SUBSCRIBER:
        plan = _required(node.get_value("2300/HD04"), "HD04 (the plan code)")
        return c.AddSubscriber(start, reason, person, plan.upper(), _address(node), event)
    return c.AddDependent(start, reason, person, relationship, ref, None, event)


def _maintain(node: Any, maintenance: str | None, reason: c.ChangeReason) -> c.Change:
    member_id = _member_id(node)
    if maintenance == "024":
        end = _date(node, ("2300/DTP", "349"), ("DTP", "357"))
        return c.Terminate(end, reason, member_id)
    if maintenance == "001":
        plan = _required(node.get_value("2300/HD04"), "HD04 (the new plan code)")
        return c.ChangePlan(_date(node, ("2300/DTP", "348")), reason, member_id, plan.upper())
    if maintenance == "025":
        return c.Reinstate(_date(node, ("2300/DTP", "348"), ("DTP", "356")), reason, member_id)
    raise RowError(
        "MAINTENANCE_TYPE_NOT_SUPPORTED",
        f"INS03 {maintenance!r} is not processed in a change file: send 021 (add), 024 "
        "(terminate), 001 (change of plan) or 025 (reinstate); 030 (audit) belongs in a "
        "full file (BGN08 RX or 4).",
    )


def _relationship(code: str | None) -> Relationship:
    found = RELATIONSHIPS.get(code or "")
    if found is None:
        raise RowError(
            "UNKNOWN_RELATIONSHIP",
            f"INS02 {code!r} is not a relationship this plan covers: use 18 (self), 01 "
            "(spouse), 53 (domestic partner) or a child code (19, 05, 09, 10, 15, 17, ...).",
        )
    return found


def _check_coverage_level(code: str | None) -> None:
    if code and code not in COVERAGE_LEVELS:
        raise RowError(
            "UNKNOWN_COVERAGE_LEVEL",
            f"HD05 {code!r} is not a coverage level code (EMP, ESP, ECH, FAM, ...).",
        )


def _ref(node: Any, qualifier: str) -> str | None:
    for ref in node.select("REF"):
        if ref.get_value("REF01") == qualifier:
            value: str | None = ref.get_value("REF02")
            return value
    return None


def _member_id(node: Any) -> str:
    if node.get_value("2100A/NM108") != "ZZ" or not node.get_value("2100A/NM109"):
        raise RowError(
            "MEMBER_ID_MISSING",
            "A change to an enrolled member needs the carrier member ID in NM108 ZZ / NM109.",
        )
    value: str = node.get_value("2100A/NM109")
    return value


def _person(node: Any, key: str) -> c.Person:
    last = _required(node.get_value("2100A/NM103"), "NM103 (last name)")
    first = _required(node.get_value("2100A/NM104"), "NM104 (first name)")
    born = _d8(_required(node.get_value("2100A/DMG02"), "DMG02 (date of birth)"), "DMG02")
    sex = SEXES.get(node.get_value("2100A/DMG03") or "", Sex.UNKNOWN)
    ssn = node.get_value("2100A/NM109") if node.get_value("2100A/NM108") == "34" else None
    return c.person_with_ssn(first.title(), last.title(), born, sex, ssn, key=key)


def _address(node: Any) -> c.Address | None:
    line1, city = node.get_value("2100A/N301"), node.get_value("2100A/N401")
    state, postal = node.get_value("2100A/N402"), node.get_value("2100A/N403")
    if not (line1 and city and state and postal):
        return None
    return c.Address(line1, city, state, postal[:5], node.get_value("2100A/N302"))


def _date(node: Any, *places: tuple[str, str]) -> dt.date:
    for path, qualifier in places:
        for dtp in node.select(path):
            if dtp.get_value("DTP01") == qualifier:
                return _d8(dtp.get_value("DTP03"), f"DTP {qualifier}")
    wanted = " or ".join(qualifier for _, qualifier in places)
    raise RowError("DATE_MISSING", f"The member loop needs a DTP {wanted} date.")


def _d8(value: str | None, what: str) -> dt.date:
    try:
        return dt.datetime.strptime(value or "", "%Y%m%d").date()  # noqa: DTZ007 (a date)
    except ValueError:
        raise RowError(
            "INVALID_DATE", f"{what} must be a date as CCYYMMDD; got {value!r}."
        ) from None


def _required(value: str | None, what: str) -> str:
    if not value:
        raise RowError("MISSING_VALUE", f"{what} is empty.")
    return value

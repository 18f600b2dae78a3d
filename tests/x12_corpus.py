"""A generator of X12 834 (005010X220A1) files for the tests and the benchmark: valid
interchanges of any size and family mix, which the broken-file tests then damage."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

_SSNS = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Person834:
    first: str
    last: str
    born: dt.date
    sex: str = "F"
    relationship: str = "18"  # INS02
    ssn: str | None = None
    member_id: str | None = None  # NM108 ZZ: a change to an enrolled member


@dataclass(slots=True)
class Family834:
    subscriber: Person834
    dependents: list[Person834] = field(default_factory=list)
    plan: str = "DPPO-PLUS"
    start: dt.date = dt.date(2027, 1, 1)
    maintenance: str = "021"
    reason: str = "28"
    subscriber_ref: str = ""
    end: dt.date | None = None


def family(
    n: int, *, plan: str, start: dt.date, spouse: bool = True, children: int = 1
) -> Family834:
    """The ``n``-th generated family: a subscriber, maybe a spouse, and children."""
    last = f"Xfam{n}"
    subscriber = Person834("Pat", last, dt.date(1980, 1 + n % 12, 1 + n % 28), "F", "18", _ssn())
    dependents = [Person834("Sam", last, dt.date(1982, 3, 3), "M", "01", _ssn())] if spouse else []
    dependents += [
        Person834(f"Kid{i}", last, dt.date(2012 + i, 5, 5), "M", "19") for i in range(children)
    ]
    return Family834(subscriber, dependents, plan, start, subscriber_ref=f"E{n:08d}")


def _ssn() -> str:
    """A distinct SSN of a valid form (area 200-599, group and serial never 0)."""
    i = next(_SSNS)
    serial, group, area = 1 + i % 9_999, 1 + (i // 9_999) % 99, 200 + i // (9_999 * 99)
    return f"{area:03d}{group:02d}{serial:04d}"


def interchange(
    families: list[Family834],
    *,
    group_number: str,
    control: int = 1,
    sender: str = "BENEFITSCO",
    action: str = "2",
    effective: dt.date | None = None,
) -> bytes:
    """One ISA/GS/ST 834 with a member loop per person, counts and controls consistent.
    ``action`` is BGN08 (2 changes; RX or 4 a full file); ``effective`` the DTP*007."""
    body = [f"BGN*00*REF{control}*20261201*1200****{action}", f"REF*38*{group_number}"]
    if effective is not None:
        body.append(f"DTP*007*D8*{effective:%Y%m%d}")
    body += ["N1*P5*EMPLOYER*FI*123456789", "N1*IN*CARRIER HEALTH*FI*987654321"]
    for fam in families:
        body += _member(fam.subscriber, fam, subscriber=True)
        for dependent in fam.dependents:
            body += _member(dependent, fam, subscriber=False)
    return _envelope(body, control=control, sender=sender)


def _member(person: Person834, fam: Family834, *, subscriber: bool) -> list[str]:
    ins = f"INS*{'Y' if subscriber else 'N'}*{person.relationship}*{fam.maintenance}*{fam.reason}*A"
    segments = [ins + ("***FT" if subscriber else ""), f"REF*0F*{fam.subscriber_ref}"]
    begin = fam.start.strftime("%Y%m%d")
    segments.append(f"DTP*356*D8*{begin}")
    ident = (
        f"****ZZ*{person.member_id}"
        if person.member_id
        else (f"****34*{person.ssn}" if person.ssn else "")
    )
    segments.append(f"NM1*IL*1*{person.last.upper()}*{person.first.upper()}{ident}")
    if subscriber:
        segments += ["N3*12 ELM ST", "N4*DAYTON*OH*45402"]
    segments.append(f"DMG*D8*{person.born:%Y%m%d}*{person.sex}")
    segments.append(f"HD*{fam.maintenance}**DEN*{fam.plan}*{'FAM' if fam.dependents else 'EMP'}")
    segments.append(f"DTP*348*D8*{begin}")
    if fam.end is not None:
        segments.append(f"DTP*349*D8*{fam.end:%Y%m%d}")
    return segments


def _envelope(body: list[str], *, control: int, sender: str) -> bytes:
    isa = (
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{sender:<15}*ZZ*{'CARRIER':<15}*261201*1200*^*00501*"
        f"{control:09d}*0*T*:"
    )
    transaction = ["ST*834*0001*005010X220A1", *body]
    transaction.append(f"SE*{len(transaction) + 1}*0001")
    segments = [isa, f"GS*BE*{sender}*CARRIER*20261201*1200*{control}*X*005010X220A1",
                *transaction, f"GE*1*{control}", f"IEA*1*{control:09d}"]  # fmt: skip
    return ("~\n".join(segments) + "~\n").encode()

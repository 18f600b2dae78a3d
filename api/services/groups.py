"""Setting up employer groups (SPEC §2 Groups): the rep's side."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.dates import is_first_of_month
from api.services.rules import Problem, refuse_if
from db.models import BillingMode, Group, GroupStatus

GROUP_NUMBER = re.compile(r"^G\d{6}$")
POSTAL_CODE = re.compile(r"^\d{5}(-\d{4})?$")
STATE = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True, slots=True)
class AddressInput:
    line1: str
    line2: str | None
    city: str
    state: str
    postal_code: str


@dataclass(frozen=True, slots=True)
class NewGroup:
    group_number: str
    name: str
    address: AddressInput
    billing_mode: BillingMode
    effective_date: dt.date


def address_problems(address: AddressInput, path: tuple[str, ...]) -> list[Problem]:
    problems = []
    if not address.line1.strip() or not address.city.strip():
        problems.append(Problem("INVALID_ADDRESS", "Give the street and city.", (*path, "line1")))
    if not STATE.match(address.state):
        problems.append(
            Problem(
                "INVALID_ADDRESS", "Use the two-letter state code, e.g. `TX`.", (*path, "state")
            )
        )
    if not POSTAL_CODE.match(address.postal_code):
        problems.append(
            Problem(
                "INVALID_ADDRESS",
                "Use a 5-digit ZIP or ZIP+4, e.g. `78701`.",
                (*path, "postalCode"),
            )
        )
    return problems


async def create_group(session: AsyncSession, new: NewGroup) -> Group:
    """A group in PENDING_SETUP; refuses bad numbers, duplicates, names, addresses and an
    effective date that is not the 1st of a month."""
    number = new.group_number.strip().upper()
    problems = []
    if not GROUP_NUMBER.match(number):
        problems.append(
            Problem(
                "INVALID_GROUP_NUMBER",
                "A group number is G and six digits, e.g. `G100234`.",
                ("groupNumber",),
            )
        )
    elif await session.scalar(select(Group.id).where(Group.group_number == number)):
        problems.append(
            Problem(
                "GROUP_NUMBER_TAKEN",
                f"{number} is already in use; choose another number.",
                ("groupNumber",),
            )
        )
    if not new.name.strip():
        problems.append(Problem("INVALID_NAME", "Give the employer's legal name.", ("name",)))
    if not is_first_of_month(new.effective_date):
        problems.append(
            Problem(
                "EFFECTIVE_DATE_NOT_FIRST_OF_MONTH",
                "Coverage starts on the 1st of a month; pick the 1st.",
                ("effectiveDate",),
            )
        )
    problems += address_problems(new.address, ("address",))
    refuse_if(problems)
    group = Group(
        group_number=number,
        name=new.name.strip(),
        address_line1=new.address.line1.strip(),
        address_line2=(new.address.line2 or "").strip() or None,
        city=new.address.city.strip(),
        state=new.address.state,
        postal_code=new.address.postal_code,
        status=GroupStatus.PENDING_SETUP,
        billing_mode=new.billing_mode,
        effective_date=new.effective_date,
    )
    session.add(group)
    await session.flush()
    return group

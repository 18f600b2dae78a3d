"""Setting up employer groups (SPEC §2 Groups): the rep's side."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.dates import is_first_of_month
from api.services.rules import Problem, RuleViolation, refuse_if
from db.models import BillingMode, Coverage, Group, GroupPlan, GroupStatus, Plan

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


@dataclass(frozen=True, slots=True)
class GroupChanges:
    """What groupUpdate changes; ``None`` leaves a field as it is."""

    name: str | None = None
    address: AddressInput | None = None
    billing_mode: BillingMode | None = None
    effective_date: dt.date | None = None
    full_file_terminates_missing: bool | None = None
    full_file_safety: SafetyShare | None = None


@dataclass(frozen=True, slots=True)
class SafetyShare:
    """The share of its roster above which a full file's terminations wait for a rep:
    ``percent`` from 1 to 100, or None for the configured default."""

    percent: int | None


def _not_terminated(group: Group) -> list[Problem]:
    if group.status is not GroupStatus.TERMINATED:
        return []
    return [Problem("GROUP_TERMINATED", f"{group.group_number} is terminated; reinstate it first.")]


async def update_group(
    session: AsyncSession, group: Group, changes: GroupChanges
) -> dict[str, Any]:
    """Apply ``changes``; returns what changed (API field names) for the audit log. Refuses
    a terminated group, a blank name, a bad address, and an effective date that is not a
    1st, once the group is past PENDING_SETUP, or after coverage already begins."""
    problems = _not_terminated(group)
    if not problems:
        problems = await _update_problems(session, group, changes)
    refuse_if(problems)
    return _apply(group, changes)


async def _update_problems(
    session: AsyncSession, group: Group, changes: GroupChanges
) -> list[Problem]:
    problems = []
    if changes.name is not None and not changes.name.strip():
        problems.append(Problem("INVALID_NAME", "Give the employer's legal name.", ("name",)))
    if changes.address is not None:
        problems += address_problems(changes.address, ("address",))
    if changes.effective_date is not None:
        problems += await _effective_date_problems(session, group, changes.effective_date)
    percent = changes.full_file_safety.percent if changes.full_file_safety else None
    if percent is not None and not 1 <= percent <= 100:
        message = "The safety share is a percentage from 1 to 100 (or null for the default)."
        problems.append(Problem("INVALID_SAFETY_PERCENT", message, ("fullFileSafetyPercent",)))
    return problems


async def _effective_date_problems(
    session: AsyncSession, group: Group, day: dt.date
) -> list[Problem]:
    field = ("effectiveDate",)
    if group.status is not GroupStatus.PENDING_SETUP and day != group.effective_date:
        message = "The effective date changes only while the group is in PENDING_SETUP."
        return [Problem("EFFECTIVE_DATE_LOCKED", message, field)]
    if not is_first_of_month(day):
        message = "Coverage starts on the 1st of a month; pick the 1st."
        return [Problem("EFFECTIVE_DATE_NOT_FIRST_OF_MONTH", message, field)]
    earliest = await session.scalar(
        select(func.min(Coverage.effective_date))
        .join(GroupPlan, GroupPlan.id == Coverage.group_plan_id)
        .where(GroupPlan.group_id == group.id)
    )
    if earliest is not None and earliest < day:
        message = f"Coverage already starts on {earliest.isoformat()}; pick that date or earlier."
        return [Problem("COVERAGE_BEFORE_EFFECTIVE_DATE", message, field)]
    return []


def _apply(group: Group, changes: GroupChanges) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    if changes.name is not None:
        group.name = changed["name"] = changes.name.strip()
    if changes.address is not None:
        _set_address(group, changes.address)
        changed["address"] = {"city": group.city, "state": group.state}
    if changes.billing_mode is not None:
        group.billing_mode = changes.billing_mode
        changed["billingMode"] = changes.billing_mode.value
    if changes.effective_date is not None:
        group.effective_date = changes.effective_date
        changed["effectiveDate"] = changes.effective_date.isoformat()
    return changed | _apply_full_file_settings(group, changes)


def _apply_full_file_settings(group: Group, changes: GroupChanges) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    if changes.full_file_terminates_missing is not None:
        group.full_file_terminates_missing = changes.full_file_terminates_missing
        changed["fullFileTerminatesMissing"] = changes.full_file_terminates_missing
    if changes.full_file_safety is not None:
        group.full_file_safety_percent = changes.full_file_safety.percent
        changed["fullFileSafetyPercent"] = changes.full_file_safety.percent
    return changed


def _set_address(group: Group, address: AddressInput) -> None:
    group.address_line1 = address.line1.strip()
    group.address_line2 = (address.line2 or "").strip() or None
    group.city = address.city.strip()
    group.state = address.state
    group.postal_code = address.postal_code


async def add_plan(session: AsyncSession, group: Group, plan_code: str) -> Plan:
    """Offer the catalogue plan ``plan_code``; refuses unknown and already offered plans."""
    refuse_if(_not_terminated(group))
    code = plan_code.strip().upper()
    plan = await session.scalar(select(Plan).where(Plan.code == code))
    field = ("planCode",)
    if plan is None:
        message = f"There is no plan {plan_code!r} in the catalogue; see `plans`."
        raise RuleViolation([Problem("UNKNOWN_PLAN", message, field)])
    offered = select(GroupPlan.id).where(
        GroupPlan.group_id == group.id, GroupPlan.plan_id == plan.id
    )
    if await session.scalar(offered) is not None:
        message = f"{group.group_number} already offers {code}."
        raise RuleViolation([Problem("PLAN_ALREADY_OFFERED", message, field)])
    session.add(GroupPlan(group_id=group.id, plan_id=plan.id))
    await session.flush()
    return plan

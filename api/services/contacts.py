"""A group's contacts: its benefit leader, billing contact and the carrier's sales
representative, each reachable by email (bill-ready and other notices go to them)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.rules import Problem, refuse_if
from api.services.users import email_key
from db.models import ContactKind, Group, GroupContact

EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
PHONE_PUNCTUATION = re.compile(r"[\s().+-]")
MAX_NAME = 200
MAX_EMAIL = 320


@dataclass(frozen=True, slots=True)
class NewContact:
    kind: ContactKind
    name: str
    email: str
    phone: str | None = None


def phone_digits(phone: str) -> str | None:
    """A US phone number as 10 digits (a leading country code 1 is dropped); ``None``
    when it is not one."""
    digits = PHONE_PUNCTUATION.sub("", phone)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) == 10 and digits.isdigit() else None


def contact_problems(new: NewContact) -> list[Problem]:
    problems = []
    if not new.name.strip() or len(new.name.strip()) > MAX_NAME:
        problems.append(
            Problem("INVALID_NAME", f"Give the contact's name (up to {MAX_NAME}).", ("name",))
        )
    email = new.email.strip()
    if len(email) > MAX_EMAIL or not EMAIL.match(email):
        problems.append(
            Problem("INVALID_EMAIL", "Give one email address, e.g. `pat@example.com`.", ("email",))
        )
    if new.phone and new.phone.strip() and phone_digits(new.phone) is None:
        problems.append(
            Problem("INVALID_PHONE", "Give a 10-digit US phone number or leave it out.", ("phone",))
        )
    return problems


async def add_contact(session: AsyncSession, group: Group, new: NewContact) -> GroupContact:
    """A contact of ``kind``; refuses a blank name, a bad email or phone, and the same email
    twice for one kind of contact of the group."""
    problems = contact_problems(new)
    key = email_key(new.email)
    if not problems and await _exists(session, group, new.kind, key):
        problems.append(
            Problem(
                "CONTACT_EXISTS",
                f"{new.email.strip()} is already this group's {new.kind} contact.",
                ("email",),
            )
        )
    refuse_if(problems)
    phone = phone_digits(new.phone) if new.phone and new.phone.strip() else None
    contact = GroupContact(
        group_id=group.id,
        kind=new.kind,
        name=new.name.strip(),
        email=new.email.strip(),
        email_key=key,
        phone=phone,
    )
    session.add(contact)
    await session.flush()
    return contact


async def _exists(session: AsyncSession, group: Group, kind: ContactKind, key: str) -> bool:
    stmt = select(GroupContact.id).where(
        GroupContact.group_id == group.id,
        GroupContact.kind == kind,
        GroupContact.email_key == key,
    )
    return await session.scalar(stmt) is not None


async def remove_contact(session: AsyncSession, contact: GroupContact) -> None:
    await session.delete(contact)
    await session.flush()

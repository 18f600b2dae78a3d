"""Who may manage which group's portal users, and how much access they may hand out
(SPEC §2 Web access: the delegated-administration pattern carrier portals use).

- A representative (``rep:groups``, internal) manages every group and may grant any level,
  including the group-admin flag.
- A group admin (``users:manage`` and ``group_admin`` on *that* group) manages only that
  group, and never grants a level above their own grant for that area. Admins may make
  other users admins of the same group: they are admins themselves, and the ceiling keeps
  a new admin's levels within their own, so delegation never widens access.
- A group admin does not touch a grant that already exceeds their own (neither lowers nor
  removes it): a lesser admin cannot strip a more powerful one.
- Nobody changes or removes their own grant here, and internal users (with roles) are
  never managed through web access at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from api.auth.policy import REP_GROUPS, USERS_MANAGE
from api.auth.principal import Principal
from api.services.rules import Problem
from db.models import AccessLevel, GroupGrant

EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
MAX_EMAIL_LENGTH = 320
MAX_NAME_LENGTH = 200


class AccessDeniedError(Exception):
    """The caller sees the group but may not manage its users (``FORBIDDEN``)."""


@dataclass(frozen=True, slots=True)
class Access:
    """A benefit leader's access to one group."""

    billing: AccessLevel = AccessLevel.NONE
    eligibility: AccessLevel = AccessLevel.NONE
    group_admin: bool = False

    @classmethod
    def of(cls, grant: GroupGrant) -> Access:
        return cls(grant.billing_access, grant.eligibility_access, grant.group_admin)

    def within(self, ceiling: Access) -> bool:
        """Every part of this access is at or below ``ceiling``."""
        return (
            ceiling.billing.allows(self.billing)
            and ceiling.eligibility.allows(self.eligibility)
            and (ceiling.group_admin or not self.group_admin)
        )

    def as_changes(self) -> dict[str, str | bool]:
        """For the audit log."""
        return {
            "billing": self.billing.value,
            "eligibility": self.eligibility.value,
            "groupAdmin": self.group_admin,
        }


@dataclass(frozen=True, slots=True)
class Authority:
    """The caller's power over one group's users: ``ceiling`` ``None`` means unlimited."""

    group_id: int
    user_id: int | None
    ceiling: Access | None

    def covers(self, access: Access) -> bool:
        return self.ceiling is None or access.within(self.ceiling)


def is_representative(principal: Principal) -> bool:
    return principal.internal and principal.has_scope(REP_GROUPS)


def authority_over(principal: Principal, group_id: int) -> Authority | None:
    """What the caller may do with ``group_id``'s users; ``None`` when they may not."""
    if is_representative(principal):
        return Authority(group_id, principal.user_id, None)
    grant = principal.grants.get(group_id)
    if grant is None or not grant.group_admin or not principal.has_scope(USERS_MANAGE):
        return None
    ceiling = Access(grant.billing, grant.eligibility, grant.group_admin)
    return Authority(group_id, principal.user_id, ceiling)


def managed_group_ids(principal: Principal) -> frozenset[int] | None:
    """``None`` for every group (representatives); otherwise the groups whose users the
    caller manages (possibly none). Row scoping of ``db.queries.portal_users`` reads it."""
    if is_representative(principal):
        return None
    if not principal.has_scope(USERS_MANAGE):
        return frozenset()
    return frozenset(gid for gid, grant in principal.grants.items() if grant.group_admin)


def invitee_problems(email: str, name: str) -> list[Problem]:
    """An email address one can send to (one mailbox, no header tricks) and a name."""
    problems = []
    address = email.strip()
    if len(address) > MAX_EMAIL_LENGTH or not address.isprintable() or not EMAIL.match(address):
        problems.append(
            Problem("INVALID_EMAIL", "Give one email address, e.g. `pat@example.com`.", ("email",))
        )
    if not name.strip() or len(name.strip()) > MAX_NAME_LENGTH or not name.isprintable():
        problems.append(
            Problem(
                "INVALID_NAME",
                f"Give the person's name, at most {MAX_NAME_LENGTH} characters.",
                ("name",),
            )
        )
    return problems


def access_problems(authority: Authority, access: Access) -> list[Problem]:
    """Access that grants something, and no more than the caller holds."""
    if access == Access():
        return [
            Problem(
                "NO_ACCESS_GIVEN",
                "Give view or manage access to billing or eligibility, or make the person a "
                "group admin.",
                ("access",),
            )
        ]
    if not authority.covers(access):
        return [above_your_access(("access",))]
    return []


def above_your_access(field: tuple[str, ...] | None) -> Problem:
    return Problem(
        "ABOVE_YOUR_ACCESS",
        "You can only give or change access up to your own level in this group; ask the "
        "carrier's group-accounts representative for more.",
        field,
    )


def target_problems(authority: Authority, user_id: int, current: Access) -> list[Problem]:
    """Changing or removing ``user_id``'s grant: not your own, not one above your own."""
    if user_id == authority.user_id:
        return [
            Problem(
                "CANNOT_CHANGE_YOURSELF",
                "You cannot change or remove your own access; ask another admin of the group.",
                ("userId",),
            )
        ]
    if not authority.covers(current):
        return [above_your_access(("userId",))]
    return []

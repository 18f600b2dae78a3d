"""What each scope grants and which scopes each kind of user may exercise (SPEC §3).

A request may do what both its token's scopes and its user's roles allow: the effective
scopes are the intersection of the two, computed here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable

from db.models import AccessLevel, Role

GROUP_READ = "group:read"
BILLING_READ = "billing:read"
BILLING_WRITE = "billing:write"
ELIGIBILITY_READ = "eligibility:read"
ELIGIBILITY_WRITE = "eligibility:write"
USERS_MANAGE = "users:manage"
ACCESS_REPORT = "access:report"
REP_GROUPS = "rep:groups"
REP_ELIGIBILITY = "rep:eligibility"
REP_BILLING = "rep:billing"
SUPPORT_ACCESS = "support:access"
AUDIT_READ = "audit:read"

SCOPE_DESCRIPTIONS = {
    GROUP_READ: "See your groups, their plans, rates and contacts",
    BILLING_READ: "See invoices, payments, balances and letters",
    BILLING_WRITE: "Pay and remit premium",
    ELIGIBILITY_READ: "See the roster and members' personal information",
    ELIGIBILITY_WRITE: "Change eligibility, upload files and request ID cards",
    USERS_MANAGE: "Manage your group's portal users",
    ACCESS_REPORT: "Report an access problem",
    REP_GROUPS: "Set up groups, plans, rates and web access (representatives)",
    REP_ELIGIBILITY: "Review and correct eligibility (representatives)",
    REP_BILLING: "Run billing and record payments (representatives)",
    SUPPORT_ACCESS: "Work the access-issue queue and reset logins (support)",
    AUDIT_READ: "Read the audit log",
}
ALL_SCOPES = frozenset(SCOPE_DESCRIPTIONS)

_STAFF_COMMON = {GROUP_READ, ACCESS_REPORT}
ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.ADMIN: ALL_SCOPES,
    Role.REP: frozenset(
        _STAFF_COMMON
        | {BILLING_READ, BILLING_WRITE, ELIGIBILITY_READ, ELIGIBILITY_WRITE}
        | {REP_GROUPS, REP_ELIGIBILITY, REP_BILLING}
        # SPEC §2 Audit: reps and admins can search the audit log.
        | {AUDIT_READ}
    ),
    Role.SUPPORT: frozenset(_STAFF_COMMON | {SUPPORT_ACCESS}),
}


def leader_scopes(
    *, billing: Iterable[AccessLevel], eligibility: Iterable[AccessLevel], group_admin: bool
) -> frozenset[str]:
    """Scopes a benefit leader's grants (across their groups) can use at all."""
    billing, eligibility = list(billing), list(eligibility)
    scopes = {GROUP_READ, ACCESS_REPORT}
    scopes |= _area_scopes(billing, BILLING_READ, BILLING_WRITE)
    scopes |= _area_scopes(eligibility, ELIGIBILITY_READ, ELIGIBILITY_WRITE)
    if group_admin:
        scopes.add(USERS_MANAGE)
    return frozenset(scopes)


def _area_scopes(levels: list[AccessLevel], read: str, write: str) -> set[str]:
    scopes = set()
    if any(level.allows(AccessLevel.VIEW) for level in levels):
        scopes.add(read)
    if any(level.allows(AccessLevel.MANAGE) for level in levels):
        scopes.add(write)
    return scopes


def effective_scopes(token_scopes: Iterable[str], allowed: Iterable[str]) -> frozenset[str]:
    return frozenset(token_scopes) & frozenset(allowed)

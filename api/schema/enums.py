"""GraphQL enums over the domain's closed sets (db.models.enums)."""

from __future__ import annotations

import strawberry

from db.models import enums

GroupStatus = strawberry.enum(
    enums.GroupStatus,
    description="Lifecycle of a group: PENDING_SETUP → ACTIVE → DELINQUENT → SUSPENDED → "
    "TERMINATED; DELINQUENT and SUSPENDED return to ACTIVE when brought current.",
)
BillingMode = strawberry.enum(
    enums.BillingMode,
    description="LIST_BILL: the carrier bills from eligibility. SELF_BILL: the group computes "
    "and remits premium, and the carrier reconciles.",
)
CoverageTier = strawberry.enum(
    enums.CoverageTier,
    description="Coverage tier, derived from the covered dependents: none → EMPLOYEE, "
    "spouse/partner → EMPLOYEE_SPOUSE, children → EMPLOYEE_CHILDREN, both → FAMILY.",
)
Relationship = strawberry.enum(
    enums.Relationship, description="A member's relationship to the subscriber."
)
MemberStatus = strawberry.enum(
    enums.MemberStatus,
    description="ACTIVE: has current or future coverage. TERMINATED: all coverage has ended. "
    "MERGED: a duplicate record merged into another member.",
)
Sex = strawberry.enum(enums.Sex, description="Sex as recorded for eligibility.")
PlanType = strawberry.enum(
    enums.PlanType,
    description="Kind of dental product: DPPO (preferred provider), DHMO (managed care), "
    "INDEMNITY.",
)

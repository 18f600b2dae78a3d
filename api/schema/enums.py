"""GraphQL enums over the domain's closed sets (db.models.enums).

``strawberry.enum`` registers each domain enum as a GraphQL enum in place, so types can be
annotated with the domain classes themselves.
"""

from __future__ import annotations

import strawberry

from db.models import enums

GroupStatus = enums.GroupStatus
strawberry.enum(
    GroupStatus,
    description="Lifecycle of a group: PENDING_SETUP → ACTIVE → DELINQUENT → SUSPENDED → "
    "TERMINATED; DELINQUENT and SUSPENDED return to ACTIVE when brought current.",
)
BillingMode = enums.BillingMode
strawberry.enum(
    BillingMode,
    description="LIST_BILL: the carrier bills from eligibility. SELF_BILL: the group computes "
    "and remits premium, and the carrier reconciles.",
)
CoverageTier = enums.CoverageTier
strawberry.enum(
    CoverageTier,
    description="Coverage tier, derived from the covered dependents: none → EMPLOYEE, "
    "spouse/partner → EMPLOYEE_SPOUSE, children → EMPLOYEE_CHILDREN, both → FAMILY.",
)
Relationship = enums.Relationship
strawberry.enum(Relationship, description="A member's relationship to the subscriber.")
MemberStatus = enums.MemberStatus
strawberry.enum(
    MemberStatus,
    description="ACTIVE: has current or future coverage. TERMINATED: all coverage has ended. "
    "MERGED: a duplicate record merged into another member.",
)
Sex = enums.Sex
strawberry.enum(Sex, description="Sex as recorded for eligibility.")
PlanType = enums.PlanType
strawberry.enum(
    PlanType,
    description="Kind of dental product: DPPO (preferred provider), DHMO (managed care), "
    "INDEMNITY.",
)
DelinquencyStage = enums.DelinquencyStage
strawberry.enum(
    DelinquencyStage,
    description="How far a delinquency has gone, in order (SPEC §2 Delinquency): "
    "DELINQUENT (first notice), SECOND_NOTICE, SUSPENDED (claims pend), TERMINATED (for "
    "non-payment).",
)

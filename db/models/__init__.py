"""All models, imported here so that ``Base.metadata`` knows every table."""

from db.models.enums import (
    BillingMode,
    CoverageTier,
    GroupStatus,
    MemberStatus,
    PlanType,
    Relationship,
    Sex,
)
from db.models.groups import Group
from db.models.members import Coverage, Member
from db.models.plans import GroupPlan, Plan, RateSchedule, TierRate

__all__ = [
    "BillingMode",
    "Coverage",
    "CoverageTier",
    "Group",
    "GroupPlan",
    "GroupStatus",
    "Member",
    "MemberStatus",
    "Plan",
    "PlanType",
    "RateSchedule",
    "Relationship",
    "Sex",
    "TierRate",
]

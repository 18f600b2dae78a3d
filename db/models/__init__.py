"""All models, imported here so that ``Base.metadata`` knows every table."""

from db.models.audit import AuditEvent
from db.models.enums import (
    AccessLevel,
    AuditOutcome,
    BillingMode,
    CoverageTier,
    GroupStatus,
    LoginFailureReason,
    LoginOutcome,
    MemberStatus,
    PlanType,
    Relationship,
    Role,
    Sex,
    UserStatus,
)
from db.models.groups import Group
from db.models.identity import GroupGrant, LoginAttempt, RecoveryCode, SignInSession, User, UserRole
from db.models.members import Coverage, Member
from db.models.oauth import (
    AuthorizationCode,
    OAuthClient,
    RefreshToken,
    RevokedAccessToken,
    TokenFamily,
)
from db.models.plans import GroupPlan, Plan, RateSchedule, TierRate

__all__ = [
    "AccessLevel",
    "AuditEvent",
    "AuditOutcome",
    "AuthorizationCode",
    "BillingMode",
    "Coverage",
    "CoverageTier",
    "Group",
    "GroupGrant",
    "GroupPlan",
    "GroupStatus",
    "LoginAttempt",
    "LoginFailureReason",
    "LoginOutcome",
    "Member",
    "MemberStatus",
    "OAuthClient",
    "Plan",
    "PlanType",
    "RateSchedule",
    "RecoveryCode",
    "RefreshToken",
    "Relationship",
    "RevokedAccessToken",
    "Role",
    "Sex",
    "SignInSession",
    "TierRate",
    "TokenFamily",
    "User",
    "UserRole",
    "UserStatus",
]

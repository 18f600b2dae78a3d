"""All models, imported here so that ``Base.metadata`` knows every table."""

from db.models.audit import AuditEvent
from db.models.contacts import GroupContact
from db.models.eligibility import (
    ChangeBatch,
    ChangeItem,
    DualCoverageLink,
    IdCardRequest,
    OtherCoverage,
)
from db.models.eligibility_files import (
    EligibilityFile,
    EligibilityFileContent,
    EligibilityFileProblem,
)
from db.models.enums import (
    AccessLevel,
    AuditOutcome,
    BillingMode,
    ChangeKind,
    ChangeStatus,
    ContactKind,
    CoverageTier,
    EmailStatus,
    FileFormat,
    FileStatus,
    GroupStatus,
    IdCardReason,
    IdCardStatus,
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
from db.models.invitations import Invitation
from db.models.mail import OutboundEmail
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
    "ChangeBatch",
    "ChangeItem",
    "ChangeKind",
    "ChangeStatus",
    "ContactKind",
    "Coverage",
    "CoverageTier",
    "DualCoverageLink",
    "EligibilityFile",
    "EligibilityFileContent",
    "EligibilityFileProblem",
    "EmailStatus",
    "FileFormat",
    "FileStatus",
    "Group",
    "GroupContact",
    "GroupGrant",
    "GroupPlan",
    "GroupStatus",
    "IdCardReason",
    "IdCardRequest",
    "IdCardStatus",
    "Invitation",
    "LoginAttempt",
    "LoginFailureReason",
    "LoginOutcome",
    "Member",
    "MemberStatus",
    "OAuthClient",
    "OtherCoverage",
    "OutboundEmail",
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

"""Closed sets of the domain (SPEC §2), stored as checked strings."""

from __future__ import annotations

import enum


class GroupStatus(enum.StrEnum):
    PENDING_SETUP = "PENDING_SETUP"
    ACTIVE = "ACTIVE"
    DELINQUENT = "DELINQUENT"
    SUSPENDED = "SUSPENDED"
    TERMINATED = "TERMINATED"


class BillingMode(enum.StrEnum):
    LIST_BILL = "LIST_BILL"
    SELF_BILL = "SELF_BILL"


class CoverageTier(enum.StrEnum):
    EMPLOYEE = "EMPLOYEE"
    EMPLOYEE_SPOUSE = "EMPLOYEE_SPOUSE"
    EMPLOYEE_CHILDREN = "EMPLOYEE_CHILDREN"
    FAMILY = "FAMILY"


class Relationship(enum.StrEnum):
    SUBSCRIBER = "SUBSCRIBER"
    SPOUSE = "SPOUSE"
    DOMESTIC_PARTNER = "DOMESTIC_PARTNER"
    CHILD = "CHILD"


class MemberStatus(enum.StrEnum):
    """ACTIVE: has or will have coverage; TERMINATED: all coverage ended; MERGED: a duplicate."""

    ACTIVE = "ACTIVE"
    TERMINATED = "TERMINATED"
    MERGED = "MERGED"


class Sex(enum.StrEnum):
    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class PlanType(enum.StrEnum):
    DPPO = "DPPO"
    DHMO = "DHMO"
    INDEMNITY = "INDEMNITY"


class UserStatus(enum.StrEnum):
    INVITED = "INVITED"
    ACTIVE = "ACTIVE"
    LOCKED = "LOCKED"
    DISABLED = "DISABLED"


class Role(enum.StrEnum):
    """Internal roles. Benefit leaders are not a role here but per-group grants."""

    REP = "REP"
    SUPPORT = "SUPPORT"
    ADMIN = "ADMIN"


class AccessLevel(enum.StrEnum):
    """A benefit leader's access to one area of one group; ordered NONE < VIEW < MANAGE."""

    NONE = "NONE"
    VIEW = "VIEW"
    MANAGE = "MANAGE"

    @property
    def rank(self) -> int:
        return _ACCESS_RANK[self]

    def allows(self, needed: AccessLevel) -> bool:
        return self.rank >= needed.rank


_ACCESS_RANK = {AccessLevel.NONE: 0, AccessLevel.VIEW: 1, AccessLevel.MANAGE: 2}


class LoginOutcome(enum.StrEnum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


class LoginFailureReason(enum.StrEnum):
    WRONG_PASSWORD = "WRONG_PASSWORD"
    UNKNOWN_EMAIL = "UNKNOWN_EMAIL"
    LOCKED = "LOCKED"
    DISABLED = "DISABLED"
    NOT_ACTIVATED = "NOT_ACTIVATED"
    MFA_FAILED = "MFA_FAILED"
    UNKNOWN_CLIENT = "UNKNOWN_CLIENT"


class AuditOutcome(enum.StrEnum):
    ALLOWED = "ALLOWED"
    DENIED = "DENIED"


class ContactKind(enum.StrEnum):
    BENEFIT_LEADER = "BENEFIT_LEADER"
    BILLING = "BILLING"
    SALES_REPRESENTATIVE = "SALES_REPRESENTATIVE"


class EmailStatus(enum.StrEnum):
    """PENDING until delivered (SENT); FAILED after the last retry."""

    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class ChangeKind(enum.StrEnum):
    ADD_SUBSCRIBER = "ADD_SUBSCRIBER"
    ADD_DEPENDENT = "ADD_DEPENDENT"
    TERMINATE_COVERAGE = "TERMINATE_COVERAGE"
    CHANGE_PLAN = "CHANGE_PLAN"
    UPDATE_MEMBER = "UPDATE_MEMBER"
    REINSTATE_MEMBER = "REINSTATE_MEMBER"


class ChangeStatus(enum.StrEnum):
    """Each change item ends APPLIED or REJECTED, possibly after PENDING_REVIEW by a rep."""

    APPLIED = "APPLIED"
    PENDING_REVIEW = "PENDING_REVIEW"
    REJECTED = "REJECTED"


class IdCardStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    PRINTED = "PRINTED"
    MAILED = "MAILED"


class IdCardReason(enum.StrEnum):
    NEW_ENROLLMENT = "NEW_ENROLLMENT"
    LOST = "LOST"
    DAMAGED = "DAMAGED"
    INFORMATION_CHANGED = "INFORMATION_CHANGED"
    OTHER = "OTHER"


class FileFormat(enum.StrEnum):
    """How an eligibility file is written: the documented CSV roster, or X12 834."""

    CSV = "CSV"
    X12_834 = "X12_834"


class FileStatus(enum.StrEnum):
    """An eligibility file's processing job (issue: eligibility files). AWAITING_APPROVAL: a
    full file that would terminate more than the group's safety share of its roster waits,
    whole, for a rep."""

    RECEIVED = "RECEIVED"
    VALIDATING = "VALIDATING"
    APPLYING = "APPLYING"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    REJECTED = "REJECTED"


class InvoiceStatus(enum.StrEnum):
    """SPEC §2 Billing: DRAFT → ISSUED → PARTIALLY_PAID → PAID, or VOID (a rep, with a
    reason). Past DRAFT the status follows the invoice's allocations (api.services.ledger)."""

    DRAFT = "DRAFT"
    ISSUED = "ISSUED"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    VOID = "VOID"


class InvoiceLineKind(enum.StrEnum):
    """PREMIUM: the month billed; RETRO: what an earlier month should have cost under today's
    eligibility minus what was billed for it."""

    PREMIUM = "PREMIUM"
    RETRO = "RETRO"


class PaymentMethod(enum.StrEnum):
    ACH = "ACH"
    CHECK = "CHECK"
    WIRE = "WIRE"
    CARD = "CARD"


class PaymentStatus(enum.StrEnum):
    """RETURNED: reversed (e.g. NSF); what it paid is open again."""

    APPLIED = "APPLIED"
    RETURNED = "RETURNED"


class LedgerEntryKind(enum.StrEnum):
    """The kinds of receivables-ledger entries (SPEC §2 Billing: account ledger)."""

    INVOICE = "INVOICE"
    PAYMENT = "PAYMENT"
    PAYMENT_REVERSAL = "PAYMENT_REVERSAL"
    ADJUSTMENT = "ADJUSTMENT"
    REFUND = "REFUND"
    WRITE_OFF = "WRITE_OFF"


class LedgerReason(enum.StrEnum):
    """Why a rep posted an adjustment or a write-off (shown on the ledger and audited)."""

    BILLING_ERROR = "BILLING_ERROR"
    GOODWILL = "GOODWILL"
    LATE_FEE = "LATE_FEE"
    SELF_BILL_TRUE_UP = "SELF_BILL_TRUE_UP"
    SMALL_BALANCE = "SMALL_BALANCE"
    UNCOLLECTIBLE = "UNCOLLECTIBLE"
    OTHER = "OTHER"


class BillingRunStatus(enum.StrEnum):
    """A billing run's job: QUEUED (waiting for a worker), RUNNING, COMPLETED, or FAILED
    (stopped too often: the invoices built so far stand, and a new run completes them)."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class BankAccountType(enum.StrEnum):
    """The kind of a stored bank account (an ACH debit says which)."""

    CHECKING = "CHECKING"
    SAVINGS = "SAVINGS"


class BankAccountStatus(enum.StrEnum):
    """ACTIVE: can be debited; REMOVED: kept only for the payments it made."""

    ACTIVE = "ACTIVE"
    REMOVED = "REMOVED"


class RemittanceStatus(enum.StrEnum):
    """A self-billed group's remittance for a month (SPEC §2 Billing: self-billed groups):
    ACCEPTED (posted to the ledger), EXCEPTION (the variance is beyond the threshold: a rep
    decides), REJECTED (a rep refused it; the group may submit again) or SUPERSEDED (an
    exception the group replaced with a new submission for the month)."""

    ACCEPTED = "ACCEPTED"
    EXCEPTION = "EXCEPTION"
    REJECTED = "REJECTED"
    SUPERSEDED = "SUPERSEDED"


class RemittanceDecision(enum.StrEnum):
    """A rep's decision on a remittance exception."""

    ACCEPT = "ACCEPT"
    REJECT = "REJECT"


class RemittanceSource(enum.StrEnum):
    """How the roster arrived: as GraphQL input lines, or as CSV text."""

    LINES = "LINES"
    CSV = "CSV"


class RemittanceDifferenceKind(enum.StrEnum):
    """How a remittance's roster differs from eligibility, member by member."""

    REMITTED_NOT_ENROLLED = "REMITTED_NOT_ENROLLED"
    ENROLLED_NOT_REMITTED = "ENROLLED_NOT_REMITTED"
    PLAN_MISMATCH = "PLAN_MISMATCH"
    TIER_MISMATCH = "TIER_MISMATCH"
    RATE_MISMATCH = "RATE_MISMATCH"


class RefundStatus(enum.StrEnum):
    """A premium refund of a terminated group's credit: PENDING until a rep issues it."""

    PENDING = "PENDING"
    ISSUED = "ISSUED"


class DelinquencyStage(enum.StrEnum):
    """How far a delinquency episode has gone (SPEC §2 Delinquency), in order: each stage
    is reached once per episode and an episode never goes back a stage."""

    DELINQUENT = "DELINQUENT"
    SECOND_NOTICE = "SECOND_NOTICE"
    SUSPENDED = "SUSPENDED"
    TERMINATED = "TERMINATED"


class EpisodeStatus(enum.StrEnum):
    """OPEN while the group has money past due; CURED when it was cleared (an NSF return
    of the curing payment re-opens it); TERMINATED for non-payment; REINSTATED by a rep."""

    OPEN = "OPEN"
    CURED = "CURED"
    TERMINATED = "TERMINATED"
    REINSTATED = "REINSTATED"


class DelinquencyEvent(enum.StrEnum):
    """What a delinquency transition recorded: a stage reached, or the episode cured,
    re-opened (the curing payment came back) or reinstated after termination."""

    DELINQUENT = "DELINQUENT"
    SECOND_NOTICE = "SECOND_NOTICE"
    SUSPENDED = "SUSPENDED"
    TERMINATED = "TERMINATED"
    CURED = "CURED"
    REOPENED = "REOPENED"
    REINSTATED = "REINSTATED"


class LetterKind(enum.StrEnum):
    FIRST_NOTICE = "FIRST_NOTICE"
    SECOND_NOTICE = "SECOND_NOTICE"
    SUSPENSION = "SUSPENSION"
    TERMINATION = "TERMINATION"
    REINSTATEMENT = "REINSTATEMENT"


class LetterStatus(enum.StrEnum):
    """DRAFT until a rep sends it; a SENT letter never changes."""

    DRAFT = "DRAFT"
    SENT = "SENT"


class DelinquencyRunStatus(enum.StrEnum):
    """A delinquency run's job, as a billing run's (``BillingRunStatus``)."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class AccessIssueCategory(enum.StrEnum):
    """What an access issue is about (SPEC §2 Web access)."""

    CANT_LOG_IN = "CANT_LOG_IN"
    LOCKED_OUT = "LOCKED_OUT"
    LOST_MFA = "LOST_MFA"
    MISSING_PERMISSION = "MISSING_PERMISSION"
    OTHER = "OTHER"


class AccessIssueStatus(enum.StrEnum):
    """OPEN → IN_PROGRESS → WAITING_ON_CLIENT → RESOLVED; a resolved issue may re-open."""

    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    WAITING_ON_CLIENT = "WAITING_ON_CLIENT"
    RESOLVED = "RESOLVED"


class AccessIssueEntryKind(enum.StrEnum):
    """NOTE: internal, staff only; REPLY: emailed to the reporter; STATUS: a status change;
    RESET: a login reset done under the issue."""

    NOTE = "NOTE"
    REPLY = "REPLY"
    STATUS = "STATUS"
    RESET = "RESET"

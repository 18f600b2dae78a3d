"""Inputs of eligibility change requests: one ``@oneOf`` input per change (SPEC §2).

The SSN is hashed here, at the edge, so no service, payload or log ever holds it."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry

from api.schema.enums import Sex
from api.services.eligibility import changes as svc
from db.models import Relationship, enums

ChangeKind = enums.ChangeKind
strawberry.enum(
    ChangeKind,
    description="The kind of an eligibility change: add a subscriber or dependent, terminate "
    "coverage, change the plan, update demographics, reinstate.",
)
ChangeStatus = enums.ChangeStatus
strawberry.enum(
    ChangeStatus,
    description="APPLIED: in effect. PENDING_REVIEW: waiting for a representative. "
    "REJECTED: not applied (see its problems or the reviewer's note).",
)

ChangeReason = svc.ChangeReason
strawberry.enum(
    ChangeReason,
    description="Why a change is made. MARRIAGE, BIRTH, ADOPTION, LOSS_OF_OTHER_COVERAGE "
    "and DIVORCE are qualifying life events and need `eventDate`.",
)

_EFFECTIVE = "The change's date: a 1st for adds and changes (a birth or adoption: the event "
_EFFECTIVE += "date); the last covered day, a month's last, for terminations (a death: its date)."
_EVENT = "When the qualifying life event happened (required for one)."


@strawberry.input(description="Someone to cover.")
class PersonInput:
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    date_of_birth: dt.date = strawberry.field(description="Date of birth.")
    sex: Sex = strawberry.field(description="Sex as recorded for eligibility.")
    ssn: str | None = strawberry.field(
        default=None, description="SSN, 123-45-6789 or 9 digits; write-only, stored hashed."
    )

    def to_service(self, key: str) -> svc.Person:
        return svc.person_with_ssn(
            self.first_name, self.last_name, self.date_of_birth, self.sex, self.ssn, key=key
        )


@strawberry.input(description="A US postal address.")
class MemberAddressInput:
    line1: str = strawberry.field(description="Street address.")
    line2: str | None = strawberry.field(default=None, description="Suite or unit.")
    city: str = strawberry.field(description="City.")
    state: str = strawberry.field(description="Two-letter state code.")
    postal_code: str = strawberry.field(description="5-digit ZIP or ZIP+4.")

    def to_service(self) -> svc.Address:
        state = self.state.strip().upper()
        return svc.Address(self.line1, self.city, state, self.postal_code.strip(), self.line2)


@strawberry.input(description="Enroll an employee with one of the group's plans.")
class AddSubscriberInput:
    effective_date: dt.date = strawberry.field(description=_EFFECTIVE)
    reason: ChangeReason = strawberry.field(description="Usually NEW_HIRE or OPEN_ENROLLMENT.")
    event_date: dt.date | None = strawberry.field(default=None, description=_EVENT)
    person: PersonInput = strawberry.field(description="The employee.")
    address: MemberAddressInput | None = strawberry.field(default=None, description="Home address.")
    plan_code: str = strawberry.field(description="A plan the group offers.")

    def to_service(self, key: str) -> svc.AddSubscriber:
        address = self.address.to_service() if self.address else None
        return svc.AddSubscriber(
            self.effective_date,
            svc.ChangeReason(self.reason),
            self.person.to_service(key),
            self.plan_code,
            address,
            self.event_date,
        )


@strawberry.enum(description="A dependent's relationship to the subscriber.")
class DependentRelationship(enum.Enum):
    SPOUSE = strawberry.enum_value("SPOUSE", description="A husband or wife.")
    DOMESTIC_PARTNER = strawberry.enum_value(
        "DOMESTIC_PARTNER", description="A domestic partner (counts as a spouse for tiers)."
    )
    CHILD = strawberry.enum_value(
        "CHILD", description="A child; eligible until the end of the month they turn 26."
    )


@strawberry.input(
    description="Cover a spouse, partner or child of a subscriber: at enrollment, at open "
    "enrollment or within 30 days of a qualifying life event. Name the subscriber by "
    "`subscriberMemberId`, or by `subscriberPosition` for one added in the same submission."
)
class AddDependentInput:
    effective_date: dt.date = strawberry.field(description=_EFFECTIVE)
    reason: ChangeReason = strawberry.field(
        description="NEW_HIRE (with the subscriber's enrollment), OPEN_ENROLLMENT or a "
        "qualifying life event."
    )
    event_date: dt.date | None = strawberry.field(default=None, description=_EVENT)
    person: PersonInput = strawberry.field(description="The dependent.")
    relationship: DependentRelationship = strawberry.field(description="To the subscriber.")
    subscriber_member_id: str | None = strawberry.field(
        default=None, description="The subscriber's member ID (ending in 00)."
    )
    subscriber_position: int | None = strawberry.field(
        default=None,
        description="Position (0-based) of an earlier addSubscriber change of this submission.",
    )

    def to_service(self, key: str) -> svc.AddDependent:
        return svc.AddDependent(
            self.effective_date,
            svc.ChangeReason(self.reason),
            self.person.to_service(key),
            Relationship(self.relationship.name),
            self.subscriber_member_id,
            self.subscriber_position,
            self.event_date,
        )


@strawberry.input(description="End a member's coverage; a subscriber's ends their dependents' too.")
class TerminateCoverageInput:
    effective_date: dt.date = strawberry.field(description=_EFFECTIVE)
    reason: ChangeReason = strawberry.field(description="E.g. END_OF_EMPLOYMENT, DEATH.")
    event_date: dt.date | None = strawberry.field(default=None, description=_EVENT)
    member_id: str = strawberry.field(description="The member's member ID.")

    def to_service(self, key: str) -> svc.Terminate:
        return svc.Terminate(
            self.effective_date, svc.ChangeReason(self.reason), self.member_id, self.event_date
        )


@strawberry.input(description="Move a subscriber's family to another of the group's plans.")
class ChangePlanInput:
    effective_date: dt.date = strawberry.field(description=_EFFECTIVE)
    reason: ChangeReason = strawberry.field(description="Usually OPEN_ENROLLMENT.")
    event_date: dt.date | None = strawberry.field(default=None, description=_EVENT)
    member_id: str = strawberry.field(description="The subscriber's member ID.")
    plan_code: str = strawberry.field(description="A plan the group offers.")

    def to_service(self, key: str) -> svc.ChangePlan:
        return svc.ChangePlan(
            self.effective_date,
            svc.ChangeReason(self.reason),
            self.member_id,
            self.plan_code,
            self.event_date,
        )


@strawberry.input(description="Correct a member's demographics; leave out what stays.")
class UpdateMemberInput:
    effective_date: dt.date = strawberry.field(description="When the correction applies.")
    reason: ChangeReason = strawberry.field(description="Usually CORRECTION.")
    event_date: dt.date | None = strawberry.field(default=None, description=_EVENT)
    member_id: str = strawberry.field(description="The member's member ID.")
    first_name: str | None = strawberry.field(default=None, description="Given name.")
    last_name: str | None = strawberry.field(default=None, description="Family name.")
    date_of_birth: dt.date | None = strawberry.field(default=None, description="Date of birth.")
    sex: Sex | None = strawberry.field(default=None, description="Sex.")
    address: MemberAddressInput | None = strawberry.field(
        default=None, description="Home address (all of it)."
    )

    def to_service(self, key: str) -> svc.UpdateMember:
        address = self.address.to_service() if self.address else None
        return svc.UpdateMember(
            self.effective_date,
            svc.ChangeReason(self.reason),
            self.member_id,
            self.first_name,
            self.last_name,
            self.date_of_birth,
            self.sex,
            address,
            self.event_date,
        )


@strawberry.input(description="Cover a terminated member again from a 1st.")
class ReinstateMemberInput:
    effective_date: dt.date = strawberry.field(description=_EFFECTIVE)
    reason: ChangeReason = strawberry.field(description="E.g. CORRECTION or NEW_HIRE (rehire).")
    event_date: dt.date | None = strawberry.field(default=None, description=_EVENT)
    member_id: str = strawberry.field(description="The member's member ID.")

    def to_service(self, key: str) -> svc.Reinstate:
        return svc.Reinstate(
            self.effective_date, svc.ChangeReason(self.reason), self.member_id, self.event_date
        )


@strawberry.input(one_of=True, description="One eligibility change: give exactly one field.")
class EligibilityChangeInput:
    add_subscriber: AddSubscriberInput | None = strawberry.field(
        default=strawberry.UNSET, description="Enroll an employee."
    )
    add_dependent: AddDependentInput | None = strawberry.field(
        default=strawberry.UNSET, description="Cover a dependent."
    )
    terminate_coverage: TerminateCoverageInput | None = strawberry.field(
        default=strawberry.UNSET, description="End coverage."
    )
    change_plan: ChangePlanInput | None = strawberry.field(
        default=strawberry.UNSET, description="Change the family's plan."
    )
    update_member: UpdateMemberInput | None = strawberry.field(
        default=strawberry.UNSET, description="Correct demographics."
    )
    reinstate_member: ReinstateMemberInput | None = strawberry.field(
        default=strawberry.UNSET, description="Cover a terminated member again."
    )

    def to_service(self, key: str) -> svc.Change:
        """The one change given (GraphQL's @oneOf guarantees exactly one)."""
        for given in (
            self.add_subscriber,
            self.add_dependent,
            self.terminate_coverage,
            self.change_plan,
            self.update_member,
            self.reinstate_member,
        ):
            if given:
                return given.to_service(key)
        raise ValueError("a oneOf input without a value")


@strawberry.input(description="A submission of eligibility changes (1 to 100).")
class EligibilityChangesInput:
    group_id: strawberry.relay.GlobalID = strawberry.field(description="The group's `id`.")
    idempotency_key: str = strawberry.field(
        description="Your unique key for this submission (up to 100 characters): retrying "
        "with it returns the first result and changes nothing again."
    )
    changes: list[EligibilityChangeInput] = strawberry.field(
        description="The changes, each validated and applied on its own; at most 100."
    )

"""eligibilityChangesPreview: what a submission would do to coverage and premium, with
nothing saved (SPEC §2 Eligibility changes, Billing)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Self

import strawberry

from api.auth.permissions import requires
from api.auth.policy import ELIGIBILITY_WRITE
from api.resolvers.mutations import commit, discard
from api.schema.eligibility_changes import EligibilityChangeProblem, ensure_manages, item_context
from api.schema.eligibility_inputs import ChangeKind, ChangeStatus, EligibilityChangeInput
from api.schema.enums import CoverageTier, Relationship
from api.schema.lookups import visible_group
from api.schema.money import Money
from api.schema.user_errors import UserError, user_errors
from api.services.eligibility.changes import kind_of
from api.services.eligibility.premium_effect import PremiumLine, total_cents
from api.services.eligibility.preview import Preview, PreviewItem, SpanView, preview
from api.services.rules import RuleViolation


@strawberry.input(description="Changes to preview: the submission's input without its key.")
class EligibilityChangesPreviewInput:
    group_id: strawberry.relay.GlobalID = strawberry.field(description="The group's `id`.")
    changes: list[EligibilityChangeInput] = strawberry.field(
        description="The changes, as for eligibilityChangesSubmit; 1 to 100."
    )


@strawberry.type(description="A coverage row as it would be after the changes.")
class CoverageSpanPreview:
    member_id: str = strawberry.field(
        description="The member's member ID (for a member the preview adds: the ID it would get)."
    )
    relationship: Relationship = strawberry.field(description="To the subscriber.")
    plan_code: str = strawberry.field(description="The plan's code.")
    tier: CoverageTier = strawberry.field(description="The family's tier over the span.")
    start: dt.date = strawberry.field(description="First covered day.")
    end: dt.date | None = strawberry.field(description="Last covered day; null: open-ended.")

    @classmethod
    def of(cls, span: SpanView) -> Self:
        return cls(
            member_id=span.member_id,
            relationship=span.relationship,
            plan_code=span.plan_code,
            tier=span.tier,
            start=span.start,
            end=span.end,
        )


@strawberry.type(
    description="One subscriber's monthly premium for one month, before and after the "
    "changes (the tier and rate in force on the month's 1st)."
)
class PremiumEffectLine:
    month: dt.date = strawberry.field(description="The month, as its 1st.")
    subscriber_member_id: str = strawberry.field(description="The subscriber's member ID.")
    tier_before: CoverageTier | None = strawberry.field(
        description="The tier billed before; null: not covered on the 1st."
    )
    tier_after: CoverageTier | None = strawberry.field(
        description="The tier billed after; null: not covered on the 1st."
    )
    before: Money | None = strawberry.field(
        description="The premium before; null: not billed (not covered, or no rate in force)."
    )
    after: Money | None = strawberry.field(
        description="The premium after; null: not billed (not covered, or no rate in force)."
    )
    difference: Money = strawberry.field(description="After minus before (null counts as 0).")

    @classmethod
    def of(cls, line: PremiumLine, member_ids: dict[int, str]) -> Self:
        return cls(
            month=line.month,
            subscriber_member_id=member_ids[line.subscriber_pk],
            tier_before=line.before.tier if line.before else None,
            tier_after=line.after.tier if line.after else None,
            before=_money(line.before_cents),
            after=_money(line.after_cents),
            difference=Money.from_cents(line.difference_cents),
        )


def _money(cents: int | None) -> Money | None:
    return None if cents is None else Money.from_cents(cents)


@strawberry.type(
    description="What the changes do to premium: the next invoice month (the invoice due on "
    "the next 1st) and every earlier month they reach retroactively, whose differences the "
    "next invoice would carry as retro adjustments."
)
class PremiumEffect:
    next_invoice_month: dt.date = strawberry.field(
        description="The month of the next invoice to fall due, as its 1st."
    )
    lines: list[PremiumEffectLine] = strawberry.field(
        description="Per subscriber and month: always the next invoice month, and each "
        "earlier month whose premium changes. By subscriber, then month."
    )
    total: Money = strawberry.field(description="The sum of the lines' differences.")

    @classmethod
    def of(cls, result: Preview, lines: list[PremiumLine]) -> Self:
        return cls(
            next_invoice_month=result.next_invoice_month,
            lines=[PremiumEffectLine.of(line, result.subscriber_ids) for line in lines],
            total=Money.from_cents(total_cents(lines)),
        )


@strawberry.type(description="What would become of one change; nothing is saved.")
class EligibilityChangePreview:
    position: int = strawberry.field(description="0-based position in the input.")
    kind: ChangeKind = strawberry.field(description="What the change does.")
    status: ChangeStatus = strawberry.field(description="The status a submission would give.")
    problems: list[EligibilityChangeProblem] = strawberry.field(
        description="Why it would be rejected or need review; empty when it would apply."
    )
    member_id: str | None = strawberry.field(
        description="The member it would create or change (a new member: the would-be ID)."
    )
    coverage: list[CoverageSpanPreview] = strawberry.field(
        description="The family's coverage rows after all the previewed changes; empty "
        "unless this change would apply."
    )
    premium_effect: PremiumEffect | None = strawberry.field(
        description="The premium effect on this change's family of all the previewed "
        "changes; null unless this change would apply."
    )

    @classmethod
    def of(cls, item: PreviewItem, result: Preview) -> Self:
        applies = item.subscriber_pk is not None
        return cls(
            position=item.position,
            kind=kind_of(item.change),
            status=item.status,
            problems=[
                EligibilityChangeProblem(
                    code=p.code, field=list(p.field) if p.field else None, message=p.message
                )
                for p in item.problems
            ],
            member_id=item.member_id,
            coverage=[CoverageSpanPreview.of(span) for span in item.spans],
            premium_effect=PremiumEffect.of(result, result.lines_of(item.subscriber_pk))
            if applies
            else None,
        )


@strawberry.enum(description="Why eligibilityChangesPreview refused the whole input.")
class EligibilityChangesPreviewErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    TOO_MANY_CHANGES = strawberry.enum_value(
        "TOO_MANY_CHANGES", description="Fewer than 1 or more than 100 changes."
    )


@strawberry.type(description="An eligibilityChangesPreview failure.")
class EligibilityChangesPreviewUserError(UserError):
    code: EligibilityChangesPreviewErrorCode = strawberry.field(description="Machine reason.")


@strawberry.type(description="What the changes would do, or why the preview was refused.")
class EligibilityChangesPreviewPayload:
    changes: list[EligibilityChangePreview] = strawberry.field(
        description="One per change, in input order (empty when refused)."
    )
    premium_effect: PremiumEffect | None = strawberry.field(
        description="The premium effect of all the changes that would apply (null when refused)."
    )
    user_errors: list[EligibilityChangesPreviewUserError] = strawberry.field(
        description="Empty unless the whole preview was refused."
    )

    @classmethod
    def of(cls, result: Preview) -> Self:
        return cls(
            changes=[EligibilityChangePreview.of(item, result) for item in result.items],
            premium_effect=PremiumEffect.of(result, result.lines),
            user_errors=[],
        )


def _refused(violation: RuleViolation) -> EligibilityChangesPreviewPayload:
    errors = user_errors(
        EligibilityChangesPreviewUserError, EligibilityChangesPreviewErrorCode, violation.problems
    )
    return EligibilityChangesPreviewPayload(changes=[], premium_effect=None, user_errors=errors)


@strawberry.type
class EligibilityPreviewMutations:
    @strawberry.mutation(
        description="What eligibilityChangesSubmit would do with these changes now: each "
        "change's status, the families' coverage and the premium effect. Applied to a copy "
        "in a rolled-back transaction: nothing is saved (only the preview is audited). Same "
        "permissions as eligibilityChangesSubmit.",
        extensions=requires(ELIGIBILITY_WRITE),
    )
    async def eligibility_changes_preview(
        self,
        info: strawberry.Info,
        input: Annotated[
            EligibilityChangesPreviewInput, strawberry.argument(description="The changes.")
        ],
    ) -> EligibilityChangesPreviewPayload:
        try:
            group = await visible_group(info, input.group_id, field=("groupId",))
            ensure_manages(info, group)
            key = info.context.settings.ssn_hash_key.get_secret_value()
            changes = [change.to_service(key) for change in input.changes]
            result = await preview(item_context(info, group), changes)
        except RuleViolation as refused:
            await discard(info)
            return _refused(refused)
        counts = {s.value: sum(i.status is s for i in result.items) for s in ChangeStatus}
        await commit(
            info,
            "eligibility.preview",
            target_type="Group",
            target_id=group.group_number,
            changes={"count": len(result.items), **counts},
        )
        return EligibilityChangesPreviewPayload.of(result)

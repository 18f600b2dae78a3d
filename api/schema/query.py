"""The root query type."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated

import strawberry
from strawberry import relay

from api.auth.permissions import requires, signed_in
from api.auth.policy import (
    AUDIT_READ,
    ELIGIBILITY_READ,
    GROUP_READ,
    REP_BILLING,
    REP_ELIGIBILITY,
    SUPPORT_ACCESS,
)
from api.resolvers import audit as audit_resolvers
from api.resolvers import groups as group_resolvers
from api.schema import coverage_on as coverage
from api.schema import rates
from api.schema.access_issues import (
    AccessIssueConnection,
    AccessIssueFilter,
    AccessIssueOrder,
    resolve_access_issues,
)
from api.schema.audit import AuditEventConnection, AuditEventFilter
from api.schema.billing_runs import BillingRunConnection, resolve_billing_runs
from api.schema.connections import AfterCursor, PageSize
from api.schema.delinquency_runs import DelinquencyRunConnection, resolve_delinquency_runs
from api.schema.delinquency_settings import GraceExtensionConnection, resolve_grace_extensions
from api.schema.delinquency_worklist import (
    DelinquencyWorklistConnection,
    DelinquencyWorklistFilter,
    DelinquencyWorklistOrder,
    resolve_worklist,
)
from api.schema.dual_coverage import DualCoverageCandidate
from api.schema.dual_coverage import candidates as dual_candidates
from api.schema.eligibility_file_review import resolve_awaiting_approval
from api.schema.eligibility_files import EligibilityFileConnection
from api.schema.eligibility_review import EligibilityChangeConnection, resolve_review_queue
from api.schema.enums import CoverageTier
from api.schema.groups import Group, GroupConnection, GroupFilter
from api.schema.id_cards import IdCardRequestConnection, request_queue
from api.schema.login_support import resolve_user_troubleshooting
from api.schema.login_support_types import UserTroubleshooting
from api.schema.money import Money
from api.schema.plans import Plan
from api.schema.remittances import RemittanceConnection, resolve_remittance_exceptions
from api.schema.viewer import Viewer, resolve_viewer
from db.queries.paging import MAX_PAGE_SIZE, PageRequestError


@strawberry.type(description="Read the portal's data.")
class Query:
    @strawberry.field(
        description="Any object by its global ID; null when it does not exist or is not "
        "visible to the caller.",
        extensions=requires(GROUP_READ),
    )
    async def node(
        self,
        info: strawberry.Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="The object's `id`.")],
    ) -> relay.Node | None:
        # Written out rather than `relay.node()`, whose extension can be applied to only one
        # schema per process (tests and `portal schema` build several).
        node: relay.Node | None = await id.resolve_node(info)
        return node

    @strawberry.field(
        description="Objects by global ID, in the order asked; null for each that does not "
        "exist or is not visible. At most 100 IDs.",
        extensions=requires(GROUP_READ),
    )
    async def nodes(
        self,
        info: strawberry.Info,
        ids: Annotated[list[relay.GlobalID], strawberry.argument(description="Up to 100 IDs.")],
    ) -> list[relay.Node | None]:
        if len(ids) > MAX_PAGE_SIZE:
            raise PageRequestError(f"Ask for at most {MAX_PAGE_SIZE} IDs at a time.")
        # Resolved concurrently so that the loaders batch them: one statement per type.
        return list(await asyncio.gather(*(gid.resolve_node(info) for gid in ids)))

    @strawberry.field(
        description="Groups visible to the caller, by group number.",
        extensions=requires(GROUP_READ),
    )
    async def groups(
        self,
        info: strawberry.Info,
        first: PageSize = 20,
        after: AfterCursor = None,
        filter: Annotated[
            GroupFilter | None, strawberry.argument(description="Narrow the list.")
        ] = None,
    ) -> GroupConnection:
        return await group_resolvers.groups(info, first=first, after=after, flt=filter)

    @strawberry.field(
        description="A group by its group number; null when not found or not visible.",
        extensions=requires(GROUP_READ),
    )
    async def group(
        self,
        info: strawberry.Info,
        group_number: Annotated[str, strawberry.argument(description="E.g. `G100234`.")],
    ) -> Group | None:
        return await group_resolvers.group_by_number(info, group_number)

    @strawberry.field(
        description="The carrier's plan catalogue, by plan code.", extensions=requires(GROUP_READ)
    )
    async def plans(self, info: strawberry.Info) -> list[Plan]:
        return await rates.plan_catalogue(info)

    @strawberry.field(
        description="The monthly premium a group pays for a plan at a tier in a month: the "
        "rate in force on the 1st of that month. Null when the group is not visible, does "
        "not offer the plan, or no rate schedule covers that day.",
        extensions=requires(GROUP_READ),
    )
    async def rate_for(
        self,
        info: strawberry.Info,
        group_number: Annotated[str, strawberry.argument(description="E.g. `G100234`.")],
        plan_code: Annotated[str, strawberry.argument(description="The plan's code.")],
        tier: Annotated[CoverageTier, strawberry.argument(description="The coverage tier.")],
        month: Annotated[
            dt.date, strawberry.argument(description="Any day of the month; its 1st is used.")
        ],
    ) -> Money | None:
        return await rates.rate_for(
            info, group_number=group_number, plan_code=plan_code, tier=tier, month=month
        )

    @strawberry.field(
        description="Who is calling, with roles, grants and effective scopes.",
        extensions=signed_in(),
    )
    async def viewer(self, info: strawberry.Info) -> Viewer:
        return await resolve_viewer(info)

    @strawberry.field(
        description="The audit log, newest first; needs `audit:read`. At most 100 per page.",
        extensions=requires(AUDIT_READ),
    )
    async def audit_events(
        self,
        info: strawberry.Info,
        first: PageSize = 20,
        after: AfterCursor = None,
        filter: Annotated[
            AuditEventFilter | None, strawberry.argument(description="Narrow the log.")
        ] = None,
    ) -> AuditEventConnection:
        return await audit_resolvers.audit_events(info, first=first, after=after, flt=filter)

    @strawberry.field(
        description="ID-card requests, oldest first (rep:eligibility); `breachedOnly` keeps "
        "those not mailed and past their due date. At most 100 per page.",
        extensions=requires(REP_ELIGIBILITY),
    )
    async def id_card_requests(
        self,
        info: strawberry.Info,
        first: PageSize = 20,
        after: AfterCursor = None,
        breached_only: Annotated[
            bool, strawberry.argument(description="Only unmailed requests past their due date.")
        ] = False,
        group_number: Annotated[
            str | None, strawberry.argument(description="Only this group's, e.g. `G100234`.")
        ] = None,
    ) -> IdCardRequestConnection:
        return await request_queue(
            info, first=first, after=after, breached_only=breached_only, group_number=group_number
        )

    @strawberry.field(
        description="Whether a member is covered on a day, under which plan and tier, and "
        "whether claims pend (the group is suspended). For the claims system and staff; "
        "needs `eligibility:read`. Null when the member is not found or not visible.",
        extensions=requires(ELIGIBILITY_READ),
    )
    async def coverage_on(
        self,
        info: strawberry.Info,
        member_id: Annotated[str, strawberry.argument(description="Carrier member ID.")],
        date: Annotated[dt.date, strawberry.argument(description="The day of service.")],
    ) -> coverage.CoverageOnDate | None:
        return await coverage.coverage_on(info, member_id, date)

    @strawberry.field(
        description="A group's status and whether its members' claims pend; null when the "
        "group is not found or not visible.",
        extensions=requires(GROUP_READ),
    )
    async def group_claims_status(
        self,
        info: strawberry.Info,
        group_number: Annotated[str, strawberry.argument(description="E.g. `G100234`.")],
    ) -> coverage.GroupClaimsStatus | None:
        return await coverage.group_claims_status(info, group_number)

    @strawberry.field(
        description="Members of a group who match a member of another group here by SSN or "
        "by name and date of birth (rep:eligibility); at most 500. Confirm with "
        "`dualCoverageConfirm`.",
        extensions=requires(REP_ELIGIBILITY),
    )
    async def dual_coverage_candidates(
        self,
        info: strawberry.Info,
        group_number: Annotated[str, strawberry.argument(description="E.g. `G100234`.")],
    ) -> list[DualCoverageCandidate]:
        return await dual_candidates(info, group_number)

    @strawberry.field(
        description="Eligibility changes waiting for a representative (rep:eligibility), "
        "oldest first, each with the problems that sent it to review. At most 100 per page.",
        extensions=requires(REP_ELIGIBILITY),
    )
    async def eligibility_review_queue(
        self,
        info: strawberry.Info,
        first: PageSize = 20,
        after: AfterCursor = None,
        group_number: Annotated[
            str | None, strawberry.argument(description="Only this group's changes.")
        ] = None,
    ) -> EligibilityChangeConnection:
        return await resolve_review_queue(info, first, after, group_number)

    @strawberry.field(
        description="Billing runs, newest first (rep:billing), with their progress and "
        "counts; start one with `billingRunStart`. At most 100 per page.",
        extensions=requires(REP_BILLING),
    )
    async def billing_runs(
        self, info: strawberry.Info, first: PageSize = 20, after: AfterCursor = None
    ) -> BillingRunConnection:
        return await resolve_billing_runs(info, first, after)

    @strawberry.field(
        description="Delinquency runs, newest first (rep:billing), with their progress and "
        "counts; start one with `delinquencyRunStart`. At most 100 per page.",
        extensions=requires(REP_BILLING),
    )
    async def delinquency_runs(
        self, info: strawberry.Info, first: PageSize = 20, after: AfterCursor = None
    ) -> DelinquencyRunConnection:
        return await resolve_delinquency_runs(info, first, after)

    @strawberry.field(
        description="Full eligibility files waiting for a representative because they would "
        "terminate more than the group's safety share of its roster (rep:eligibility), "
        "newest first; decide with `eligibilityFileApprove` or `eligibilityFileReject`.",
        extensions=requires(REP_ELIGIBILITY),
    )
    async def eligibility_files_awaiting_approval(
        self, info: strawberry.Info, first: PageSize = 20, after: AfterCursor = None
    ) -> EligibilityFileConnection:
        return await resolve_awaiting_approval(info, first, after)

    @strawberry.field(
        description="Self-billed remittances waiting for a representative (rep:billing) "
        "because their variance is beyond the exception threshold, oldest first, each with "
        "its per-member differences; decide with `remittanceResolve`. At most 100 per page.",
        extensions=requires(REP_BILLING),
    )
    async def remittance_exceptions(
        self, info: strawberry.Info, first: PageSize = 20, after: AfterCursor = None
    ) -> RemittanceConnection:
        return await resolve_remittance_exceptions(info, first, after)

    @strawberry.field(
        description="Groups with premium past due (OPEN delinquency episodes) for "
        "representatives (rep:billing): stage, money, latest letter and the next action "
        "with its date; most days past due first unless `orderBy` says otherwise. At most "
        "100 per page; `totals` sum each stage over the whole filtered list.",
        extensions=requires(REP_BILLING),
    )
    async def delinquency_worklist(
        self,
        info: strawberry.Info,
        first: PageSize = 20,
        after: AfterCursor = None,
        filter: Annotated[
            DelinquencyWorklistFilter | None, strawberry.argument(description="Narrow it.")
        ] = None,
        order_by: Annotated[
            DelinquencyWorklistOrder | None,
            strawberry.argument(description="Sort order; default days past due, descending."),
        ] = None,
    ) -> DelinquencyWorklistConnection:
        return await resolve_worklist(info, first=first, after=after, flt=filter, order=order_by)

    @strawberry.field(
        description="Emergency grace extensions (rep:billing), latest start first; with "
        "`activeOn`, only those covering that day. At most 100 per page.",
        extensions=requires(REP_BILLING),
    )
    async def grace_extensions(
        self,
        info: strawberry.Info,
        active_on: Annotated[
            dt.date | None, strawberry.argument(description="Only those covering this day.")
        ] = None,
        first: PageSize = 20,
        after: AfterCursor = None,
    ) -> GraceExtensionConnection:
        return await resolve_grace_extensions(info, active_on=active_on, first=first, after=after)

    @strawberry.field(
        description="Why a user can or cannot sign in (support:access): lock, MFA, recent "
        "attempts, live sessions and apps. Give exactly one of `userId` or `email`; null when "
        "no such user exists. Audited.",
        extensions=requires(SUPPORT_ACCESS),
    )
    async def user_troubleshooting(
        self,
        info: strawberry.Info,
        user_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="The user's `id`.")
        ] = None,
        email: Annotated[
            str | None, strawberry.argument(description="The user's sign-in email.")
        ] = None,
    ) -> UserTroubleshooting | None:
        return await resolve_user_troubleshooting(info, user_id=user_id, email=email)

    @strawberry.field(
        description="The access-issue queue (support:access), oldest first by default; "
        "`firstResponseBreached` marks issues whose first response was late. At most 100 "
        "per page.",
        extensions=requires(SUPPORT_ACCESS),
    )
    async def access_issues(
        self,
        info: strawberry.Info,
        first: PageSize = 20,
        after: AfterCursor = None,
        filter: Annotated[
            AccessIssueFilter | None, strawberry.argument(description="Narrow the queue.")
        ] = None,
        order_by: Annotated[
            AccessIssueOrder | None, strawberry.argument(description="Sort the queue.")
        ] = None,
    ) -> AccessIssueConnection:
        return await resolve_access_issues(
            info, first=first, after=after, flt=filter, order=order_by
        )

"""Groups: employer groups and their offered plans and members."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Self

import strawberry
from strawberry import relay

from api.auth.permissions import manages_portal_users, requires
from api.auth.policy import BILLING_READ, ELIGIBILITY_READ, GROUP_READ, REP_BILLING
from api.resolvers.members import roster
from api.schema.balances import GroupBalance, group_balance
from api.schema.bank_accounts import BankAccount, group_bank_accounts
from api.schema.billing import PaymentConnection, group_payments
from api.schema.common import Address
from api.schema.connections import AfterCursor, CountedConnection, PageSize, build_connection
from api.schema.contacts import GroupContact
from api.schema.delinquency_episodes import DelinquencyEpisode, group_episodes
from api.schema.delinquency_letters import DelinquencyLetterConnection, group_letters
from api.schema.delinquency_settings import GroupDelinquencyPolicy, group_delinquency_policy
from api.schema.eligibility_changes import EligibilityChange
from api.schema.eligibility_files import EligibilityFileConnection, group_files
from api.schema.eligibility_inputs import ChangeStatus
from api.schema.eligibility_review import EligibilityChangeConnection
from api.schema.enums import BillingMode, GroupStatus
from api.schema.group_termination import Refund, group_refunds
from api.schema.invoices import InvoiceConnection, UpcomingInvoice, group_invoices, upcoming_invoice
from api.schema.members import MemberConnection, MemberFilter, MemberOrder
from api.schema.nodes import load_nodes
from api.schema.plans import Plan
from api.schema.rates import RateScheduleConnection, group_schedules
from api.schema.remittances import RemittanceConnection, group_remittances
from api.schema.web_access_types import PortalUserConnection, group_portal_users
from db import models
from db.queries.paging import PageRequest


@strawberry.type(description="An employer group that buys dental coverage for its employees.")
class Group(relay.Node):
    pk: relay.NodeID[int]
    group_number: str = strawberry.field(description="The carrier's business key, e.g. `G100234`.")
    name: str = strawberry.field(description="Legal name of the employer.")
    status: GroupStatus = strawberry.field(description="Where the group is in its lifecycle.")
    billing_mode: BillingMode = strawberry.field(description="How premium is billed.")
    effective_date: dt.date = strawberry.field(
        description="First day of coverage (always the 1st of a month)."
    )
    termination_date: dt.date | None = strawberry.field(
        description="Last day of coverage (the last of a month), if the group is ending."
    )
    address: Address = strawberry.field(description="The employer's address.")
    full_file_terminates_missing: bool = strawberry.field(
        description="Whether a full-file 834 terminates the covered members it leaves out."
    )
    full_file_safety_percent: int | None = strawberry.field(
        description="The group's own safety share for full files (null: the default, 10 %)."
    )

    @classmethod
    def from_row(cls, row: models.Group) -> Self:
        return cls(
            pk=row.id,
            group_number=row.group_number,
            name=row.name,
            status=row.status,
            billing_mode=row.billing_mode,
            effective_date=row.effective_date,
            termination_date=row.termination_date,
            address=Address(
                line1=row.address_line1,
                line2=row.address_line2,
                city=row.city,
                state=row.state,
                postal_code=row.postal_code,
            ),
            full_file_terminates_missing=row.full_file_terminates_missing,
            full_file_safety_percent=row.full_file_safety_percent,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(node_ids, info.context.loaders.group, cls.from_row)

    @strawberry.field(
        description="The plans this group offers, by plan code.", extensions=requires(GROUP_READ)
    )
    async def plans(self, info: strawberry.Info) -> list[Plan]:
        rows = await info.context.loaders.offered_plans.load(self.pk)
        return [Plan.from_row(row) for row in rows]

    @strawberry.field(
        description="The group's members (subscribers and dependents), by last name, first "
        "name unless `orderBy` says otherwise. At most 100 per page. Needs "
        "`eligibility:read` and, for a benefit leader, eligibility access to the group.",
        extensions=requires(ELIGIBILITY_READ, area="eligibility"),
    )
    async def members(
        self,
        info: strawberry.Info,
        first: PageSize = 20,
        after: AfterCursor = None,
        filter: Annotated[
            MemberFilter | None, strawberry.argument(description="Narrow the list.")
        ] = None,
        order_by: Annotated[
            MemberOrder | None,
            strawberry.argument(description="Sort order; default by name, ascending."),
        ] = None,
    ) -> MemberConnection:
        return await roster(
            info, group_id=self.pk, first=first, after=after, flt=filter, order=order_by
        )

    @strawberry.field(
        description="The group's premium rate schedules, current and past, newest period "
        "first. At most 100 per page.",
        extensions=requires(GROUP_READ),
    )
    async def rate_schedules(
        self,
        info: strawberry.Info,
        plan_code: Annotated[
            str | None, strawberry.argument(description="Only this plan's schedules.")
        ] = None,
        first: PageSize = 20,
        after: AfterCursor = None,
    ) -> RateScheduleConnection:
        return await group_schedules(
            info, group_pk=self.pk, plan_code=plan_code, first=first, after=after
        )

    @strawberry.field(
        description="The group's benefit leaders, billing contacts and sales representatives.",
        extensions=requires(GROUP_READ),
    )
    async def contacts(self, info: strawberry.Info) -> list[GroupContact]:
        rows = await info.context.loaders.contacts.load(self.pk)
        return [GroupContact.from_row(row) for row in rows]

    @strawberry.field(
        description="The group's portal users (benefit leaders who sign in for it), by email "
        "address, with status, last sign-in and access. At most 100 per page. For "
        "representatives (`rep:groups`) and the group's own admins (`users:manage`).",
        extensions=manages_portal_users(),
    )
    async def portal_users(
        self,
        info: strawberry.Info,
        first: PageSize = 20,
        after: AfterCursor = None,
        status: Annotated[
            list[models.UserStatus] | None,
            strawberry.argument(description="Only users in one of these statuses."),
        ] = None,
    ) -> PortalUserConnection:
        return await group_portal_users(
            info, group_id=self.pk, first=first, after=after, statuses=status
        )

    @strawberry.field(
        description="The group's eligibility changes, newest first, optionally of some "
        "statuses (e.g. PENDING_REVIEW). At most 100 per page. Needs `eligibility:read` and, "
        "for a benefit leader, eligibility access to the group.",
        extensions=requires(ELIGIBILITY_READ, area="eligibility"),
    )
    async def eligibility_changes(
        self,
        info: strawberry.Info,
        first: PageSize = 20,
        after: AfterCursor = None,
        status: Annotated[
            list[ChangeStatus] | None,
            strawberry.argument(description="Only changes in one of these statuses."),
        ] = None,
    ) -> EligibilityChangeConnection:
        loaders, wanted = info.context.loaders, tuple(status or ())
        page = await loaders.change_pages(wanted, PageRequest(first, after)).load(self.pk)

        async def count() -> int:
            return int(await loaders.change_counts(wanted).load(self.pk))

        return build_connection(
            EligibilityChangeConnection, page, EligibilityChange.from_row, count
        )

    @strawberry.field(
        description="Eligibility files the group sent, newest first, with each job's status "
        "and report. At most 100 per page. Needs `eligibility:read` and, for a benefit "
        "leader, eligibility access to the group.",
        extensions=requires(ELIGIBILITY_READ, area="eligibility"),
    )
    async def eligibility_files(
        self,
        info: strawberry.Info,
        first: PageSize = 20,
        after: AfterCursor = None,
    ) -> EligibilityFileConnection:
        return await group_files(info, group_pk=self.pk, first=first, after=after)

    @strawberry.field(
        description="The group's invoices, newest month first, optionally of some statuses. "
        "At most 100 per page. Needs `billing:read` and, for a benefit leader, billing "
        "access to the group (leaders see issued invoices, not drafts).",
        extensions=requires(BILLING_READ, area="billing"),
    )
    async def invoices(
        self,
        info: strawberry.Info,
        first: PageSize = 20,
        after: AfterCursor = None,
        status: Annotated[
            list[models.InvoiceStatus] | None,
            strawberry.argument(description="Only invoices in one of these statuses."),
        ] = None,
    ) -> InvoiceConnection:
        return await group_invoices(
            info, group_pk=self.pk, first=first, after=after, statuses=status
        )

    @strawberry.field(
        description="Payments received from the group, newest first. At most 100 per page. "
        "Needs `billing:read` and, for a benefit leader, billing access to the group.",
        extensions=requires(BILLING_READ, area="billing"),
    )
    async def payments(
        self, info: strawberry.Info, first: PageSize = 20, after: AfterCursor = None
    ) -> PaymentConnection:
        return await group_payments(info, group_pk=self.pk, first=first, after=after)

    @strawberry.field(
        description="The group's account balance and aging as of today, from its ledger "
        "(cheap for a page of groups). Needs `billing:read` and, for a benefit leader, "
        "billing access to the group.",
        extensions=requires(BILLING_READ, area="billing"),
    )
    async def balance(self, info: strawberry.Info) -> GroupBalance | None:
        return await group_balance(info, self.pk)

    @strawberry.field(
        description="Next month's invoice as today's eligibility makes it, with the retro "
        "adjustments it would carry (computed live, for a page of groups at once). Null for "
        "a self-billed group, a group not billed (pending setup, "
        "terminated) or when nothing would be billed. Needs `billing:read` and, for a "
        "benefit leader, billing access to the group.",
        extensions=requires(BILLING_READ, area="billing"),
    )
    async def upcoming_invoice(self, info: strawberry.Info) -> UpcomingInvoice | None:
        return await upcoming_invoice(info, self)

    @strawberry.field(
        description="The bank accounts the group pays from by ACH, oldest first (at most "
        "10; last four digits only). Needs `billing:read` and, for a benefit leader, "
        "billing access to the group.",
        extensions=requires(BILLING_READ, area="billing"),
    )
    async def bank_accounts(self, info: strawberry.Info) -> list[BankAccount]:
        return await group_bank_accounts(info, self.pk)

    @strawberry.field(
        description="Premium refunds of the group's credit after its termination, newest "
        "first. Needs `billing:read` and, for a benefit leader, billing access to the group.",
        extensions=requires(BILLING_READ, area="billing"),
    )
    async def refunds(self, info: strawberry.Info) -> list[Refund]:
        return await group_refunds(info, self.pk)

    @strawberry.field(
        description="The group's delinquency episodes, newest first, each with its "
        "transitions (stage reached, cured, re-opened, reinstated: the day, the amounts and "
        "why). Needs `billing:read` and, for a benefit leader, billing access to the group.",
        extensions=requires(BILLING_READ, area="billing"),
    )
    async def delinquency_episodes(self, info: strawberry.Info) -> list[DelinquencyEpisode]:
        return await group_episodes(info, self.pk)

    @strawberry.field(
        description="A self-billed group's remittances, newest month first (rejected and "
        "superseded ones too). At most 100 per page. Needs `billing:read` and, for a benefit "
        "leader, billing access to the group.",
        extensions=requires(BILLING_READ, area="billing"),
    )
    async def remittances(
        self, info: strawberry.Info, first: PageSize = 20, after: AfterCursor = None
    ) -> RemittanceConnection:
        return await group_remittances(info, group_pk=self.pk, first=first, after=after)

    @strawberry.field(
        description="Letters about the group's unpaid premium, newest first. At most 100 per "
        "page. Needs `billing:read` and, for a benefit leader, billing access to the group "
        "(leaders see sent letters, not drafts).",
        extensions=requires(BILLING_READ, area="billing"),
    )
    async def delinquency_letters(
        self, info: strawberry.Info, first: PageSize = 20, after: AfterCursor = None
    ) -> DelinquencyLetterConnection:
        return await group_letters(info, group_pk=self.pk, first=first, after=after)

    @strawberry.field(
        description="The days past due at which the group reaches each delinquency stage "
        "today: its own or the defaults, with any emergency grace extension. For "
        "representatives (`rep:billing`); set with `groupDelinquencyPolicySet`.",
        extensions=requires(REP_BILLING),
    )
    async def delinquency_policy(self, info: strawberry.Info) -> GroupDelinquencyPolicy | None:
        return await group_delinquency_policy(info, self.pk)


@strawberry.input(description="Narrow the groups list; all conditions must hold.")
class GroupFilter:
    search: str | None = strawberry.field(
        default=None, description="Group number prefix or part of the name, case-insensitive."
    )
    status: list[GroupStatus] | None = strawberry.field(
        default=None, description="Only groups in one of these statuses."
    )
    billing_mode: list[BillingMode] | None = strawberry.field(
        default=None, description="Only groups with one of these billing modes."
    )


@strawberry.type(description="A page of groups.")
class GroupConnection(CountedConnection[Group]):
    pass

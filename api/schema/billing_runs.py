"""Billing runs in the API (rep:billing): start the run of a month, follow its progress.
The run itself is ``api.services.billing_jobs`` (a background worker executes it)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Self

import strawberry
from sqlalchemy import select
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import REP_BILLING
from api.resolvers.mutations import commit, discard
from api.schema.connections import CountedConnection, build_connection
from api.schema.lookups import in_request_order, staff_node_ids
from api.schema.money import Money
from api.schema.user_errors import UserError, user_errors
from api.services import billing_jobs, billing_run
from api.services.dates import today
from api.services.rules import RuleViolation
from db import models
from db.models import BillingRunStatus
from db.queries.billing_runs import runs_page

strawberry.enum(
    BillingRunStatus,
    description="QUEUED (waiting for a worker), RUNNING, COMPLETED, or FAILED (stopped "
    "too often; the invoices built stand, and a new run of the month completes them).",
)


@strawberry.type(description="How a billing run's groups came out.")
class BillingRunCounts:
    created: int = strawberry.field(description="Groups given a new DRAFT invoice.")
    rebuilt: int = strawberry.field(description="DRAFTs rebuilt after eligibility changed.")
    unchanged: int = strawberry.field(description="DRAFTs already right, left as they were.")
    already_issued: int = strawberry.field(description="Invoices past DRAFT, left alone.")
    nothing_to_bill: int = strawberry.field(description="Groups with no subscriber to bill.")


@strawberry.type(description="The billing run of a coverage month, as a job.")
class BillingRun(relay.Node):
    pk: relay.NodeID[int]
    month: dt.date = strawberry.field(description="The coverage month (its 1st).")
    status: BillingRunStatus = strawberry.field(description="Where the job is.")
    groups_total: int | None = strawberry.field(description="Groups to bill; null until read.")
    groups_done: int = strawberry.field(description="Groups billed so far.")
    counts: BillingRunCounts = strawberry.field(description="How the groups came out.")
    total: Money = strawberry.field(description="The invoices' total so far.")
    error: str | None = strawberry.field(description="Why a FAILED run stopped.")
    started_at: dt.datetime | None = strawberry.field(description="When it (last) started.")
    finished_at: dt.datetime | None = strawberry.field(description="When it ended.")

    @classmethod
    def from_row(cls, row: models.BillingRun) -> Self:
        counts = BillingRunCounts(
            created=row.created_count, rebuilt=row.rebuilt_count,
            unchanged=row.unchanged_count, already_issued=row.issued_count,
            nothing_to_bill=row.empty_count,
        )  # fmt: skip
        return cls(
            pk=row.id, month=row.month, status=row.status, groups_total=row.groups_total,
            groups_done=row.groups_done, counts=counts,
            total=Money.from_cents(row.total_cents), error=row.error,
            started_at=row.started_at, finished_at=row.finished_at,
        )  # fmt: skip

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: list[str], required: bool = False
    ) -> list[Self | None]:
        """Runs are the representatives' business: nobody else finds one by its id."""
        ids = staff_node_ids(info, node_ids, REP_BILLING)
        stmt = select(models.BillingRun).where(models.BillingRun.id.in_(ids))
        rows = {row.id: cls.from_row(row) for row in await info.context.session.scalars(stmt)}
        return in_request_order(node_ids, rows)


@strawberry.type(description="A page of billing runs, newest first.")
class BillingRunConnection(CountedConnection[BillingRun]):
    pass


@strawberry.input(description="Bill a coverage month.")
class BillingRunStartInput:
    month: dt.date = strawberry.field(
        description="Any day of the month; from the 15th of the month before."
    )
    group_numbers: list[str] | None = strawberry.field(
        default=None, description="Only these groups (default: every billable group)."
    )


@strawberry.enum(description="Why billingRunStart refused.")
class BillingRunStartErrorCode(enum.Enum):
    TOO_EARLY = strawberry.enum_value("TOO_EARLY", description="The month cannot be billed yet.")
    RUN_IN_PROGRESS = strawberry.enum_value(
        "RUN_IN_PROGRESS", description="A run of the month is queued or running."
    )


@strawberry.type(description="A billingRunStart failure.")
class BillingRunStartUserError(UserError):
    code: BillingRunStartErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The queued run, or why not.")
class BillingRunStartPayload:
    run: BillingRun | None = strawberry.field(description="The run (null when refused).")
    user_errors: list[BillingRunStartUserError] = strawberry.field(description="Empty on success.")


@strawberry.type
class BillingRunMutations:
    @strawberry.mutation(
        description="Queue the billing run of a month (rep:billing): a DRAFT invoice per "
        "LIST_BILL group with premium and retro lines. Idempotent: running a month again "
        "only rebuilds drafts whose eligibility changed. Follow it in `billingRuns`.",
        extensions=requires(REP_BILLING),
    )
    async def billing_run_start(
        self,
        info: strawberry.Info,
        input: Annotated[BillingRunStartInput, strawberry.argument(description="The month.")],
    ) -> BillingRunStartPayload:
        ctx = info.context
        numbers = [n.strip().upper() for n in input.group_numbers or [] if n.strip()] or None
        try:
            month = billing_run.check_month(input.month, today())
            run = await billing_jobs.queue_run(
                ctx.session, month, group_numbers=numbers, user_id=ctx.principal.user_id
            )
            await ctx.session.flush()
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(
                BillingRunStartUserError, BillingRunStartErrorCode, refused.problems
            )
            return BillingRunStartPayload(run=None, user_errors=errors)
        changes = {"month": month.isoformat(), "groups": numbers}
        await commit(info, "billingRun.start", target_type="BillingRun", target_id=str(run.id),
                     changes=changes)  # fmt: skip
        return BillingRunStartPayload(run=BillingRun.from_row(run), user_errors=[])


async def resolve_billing_runs(
    info: strawberry.Info, first: int, after: str | None
) -> BillingRunConnection:
    page, count = await runs_page(info.context.session, first, after)
    return build_connection(BillingRunConnection, page, BillingRun.from_row, count)

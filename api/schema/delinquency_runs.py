"""Delinquency runs in the API (rep:billing): queue the run of a date, follow it. The run
itself is ``api.services.delinquency.jobs`` (the delinquency worker executes it)."""

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
from api.schema.user_errors import UserError, user_errors
from api.services.dates import today
from api.services.delinquency import jobs
from api.services.rules import RuleViolation
from db import models
from db.models import DelinquencyRunStatus
from db.queries.delinquency_runs import delinquency_runs_page

strawberry.enum(
    DelinquencyRunStatus,
    description="QUEUED (waiting for a worker), RUNNING, COMPLETED, or FAILED (stopped "
    "too often; what it recorded stands, and running the date again completes it).",
)


@strawberry.type(description="The daily delinquency run as of a date, as a job.")
class DelinquencyRun(relay.Node):
    pk: relay.NodeID[int]
    as_of: dt.date = strawberry.field(description="The day days past due are counted on.")
    status: DelinquencyRunStatus = strawberry.field(description="Where the job is.")
    groups_total: int | None = strawberry.field(
        description="Groups to assess: money past due or an open episode, less those "
        "already assessed on the day (a run taken up again, or the day run again); null "
        "until read."
    )
    groups_done: int = strawberry.field(description="Groups assessed so far.")
    transitions: int = strawberry.field(
        description="Transitions recorded (stages reached, episodes cured); 0 when the date "
        "was already run."
    )
    letters_drafted: int = strawberry.field(description="Letters drafted for reps to review.")
    error: str | None = strawberry.field(description="Why a FAILED run stopped.")
    started_at: dt.datetime | None = strawberry.field(description="When it (last) started.")
    finished_at: dt.datetime | None = strawberry.field(description="When it ended.")

    @classmethod
    def from_row(cls, row: models.DelinquencyRun) -> Self:
        return cls(
            pk=row.id, as_of=row.as_of, status=row.status, groups_total=row.groups_total,
            groups_done=row.groups_done, transitions=row.transitions_count,
            letters_drafted=row.letters_count, error=row.error, started_at=row.started_at,
            finished_at=row.finished_at,
        )  # fmt: skip

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: list[str], required: bool = False
    ) -> list[Self | None]:
        """Runs are the representatives' business: nobody else finds one by its id."""
        ids = staff_node_ids(info, node_ids, REP_BILLING)
        stmt = select(models.DelinquencyRun).where(models.DelinquencyRun.id.in_(ids))
        rows = {row.id: cls.from_row(row) for row in await info.context.session.scalars(stmt)}
        return in_request_order(node_ids, rows)


@strawberry.type(description="A page of delinquency runs, newest first.")
class DelinquencyRunConnection(CountedConnection[DelinquencyRun]):
    pass


@strawberry.input(description="Run delinquency as of a day.")
class DelinquencyRunStartInput:
    as_of: dt.date | None = strawberry.field(
        default=None,
        description="The day (default: today); not after today, not before the last run.",
    )


@strawberry.enum(description="Why delinquencyRunStart refused.")
class DelinquencyRunStartErrorCode(enum.Enum):
    AS_OF_IN_FUTURE = strawberry.enum_value("AS_OF_IN_FUTURE", description="After today.")
    RUN_OUT_OF_ORDER = strawberry.enum_value(
        "RUN_OUT_OF_ORDER", description="Before the date of the latest run; runs go forward."
    )


@strawberry.type(description="A delinquencyRunStart failure.")
class DelinquencyRunStartUserError(UserError):
    code: DelinquencyRunStartErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The queued run, or why not.")
class DelinquencyRunStartPayload:
    run: DelinquencyRun | None = strawberry.field(description="The run (null when refused).")
    user_errors: list[DelinquencyRunStartUserError] = strawberry.field(
        description="Empty on success."
    )


@strawberry.type
class DelinquencyRunMutations:
    @strawberry.mutation(
        description="Queue the delinquency run of a day (rep:billing): every group with "
        "money past due moves to the stage its days past due reach, with letters drafted "
        "for review. Idempotent for a date: the date's run already queued or running is "
        "returned, and running a date again changes nothing. Follow it in "
        "`delinquencyRuns`.",
        extensions=requires(REP_BILLING),
    )
    async def delinquency_run_start(
        self,
        info: strawberry.Info,
        input: Annotated[DelinquencyRunStartInput, strawberry.argument(description="The day.")],
    ) -> DelinquencyRunStartPayload:
        ctx = info.context
        as_of = input.as_of or today()
        try:
            run = await jobs.queue_run(
                ctx.session, as_of, user_id=ctx.principal.user_id, today=today()
            )
            await ctx.session.flush()
        except RuleViolation as refused:
            await discard(info)
            codes = DelinquencyRunStartErrorCode
            errors = user_errors(DelinquencyRunStartUserError, codes, refused.problems)
            return DelinquencyRunStartPayload(run=None, user_errors=errors)
        await commit(info, "delinquencyRun.start", target_type="DelinquencyRun",
                     target_id=str(run.id), changes={"asOf": as_of.isoformat()})  # fmt: skip
        return DelinquencyRunStartPayload(run=DelinquencyRun.from_row(run), user_errors=[])


async def resolve_delinquency_runs(
    info: strawberry.Info, first: int, after: str | None
) -> DelinquencyRunConnection:
    page, count = await delinquency_runs_page(info.context.session, first, after)
    return build_connection(DelinquencyRunConnection, page, DelinquencyRun.from_row, count)

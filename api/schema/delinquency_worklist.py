"""The representatives' delinquency worklist (issue 8; rep:billing): every group with an
OPEN delinquency episode, how far it has gone, its latest letter and what happens next.
The rules are ``api.services.delinquency.worklist``; the SQL ``db.queries.delinquency``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Awaitable, Callable, Iterable
from typing import Self

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import REP_BILLING
from api.schema.connections import CountedConnection, build_connection
from api.schema.delinquency_letters import DelinquencyLetter
from api.schema.enums import DelinquencyStage
from api.schema.groups import Group
from api.schema.lookups import in_request_order, staff_node_ids
from api.schema.members import SortDirection
from api.schema.money import Money
from api.services.dates import today
from api.services.delinquency.worklist import (
    NextActionKind,
    WorklistEntry,
    letter_date,
    worklist_entries,
)
from db.queries import delinquency as queries
from db.queries.paging import Keyset, Page, PageRequest

strawberry.enum(
    NextActionKind,
    name="DelinquencyActionKind",
    description="What happens next to a delinquency: SEND_LETTER (a drafted letter waits "
    "for a representative), or the next stage the daily run reaches if nothing is paid: "
    "SECOND_NOTICE, SUSPEND or TERMINATE.",
)


@strawberry.type(description="The next thing that happens to a delinquency, and when.")
class DelinquencyNextAction:
    kind: NextActionKind = strawberry.field(description="What happens.")
    date: dt.date = strawberry.field(
        description="For SEND_LETTER, the day the waiting draft is for; otherwise the day "
        "the stage is reached if nothing is paid, by the group's thresholds in force today."
    )


@strawberry.type(
    description="A group with premium past due (an OPEN delinquency episode), as the "
    "daily run last assessed it."
)
class DelinquencyWorklistItem(relay.Node):
    pk: relay.NodeID[int]
    group: Group = strawberry.field(description="The group that owes.")
    stage: DelinquencyStage = strawberry.field(description="The stage reached.")
    days_past_due: int = strawberry.field(description="Days past due on `assessedOn`.")
    past_due_amount: Money = strawberry.field(description="What was past due on `assessedOn`.")
    balance: Money = strawberry.field(description="The account balance on `assessedOn`.")
    past_due_since: dt.date = strawberry.field(
        description="The due date of the oldest invoice past due (day 1 is the day after)."
    )
    paid_through_date: dt.date | None = strawberry.field(
        description="The last day of the last fully paid month (null: none is)."
    )
    assessed_on: dt.date = strawberry.field(description="The day it was last assessed on.")
    opened_on: dt.date = strawberry.field(description="The day the episode began.")
    last_letter: DelinquencyLetter | None = strawberry.field(
        description="The episode's latest letter (draft or sent); null before the first."
    )
    last_letter_date: dt.date | None = strawberry.field(
        description="The latest letter's day: the day it was drafted for, or once SENT, "
        "the day it was sent (UTC)."
    )
    next_action: DelinquencyNextAction | None = strawberry.field(
        description="What happens next and when; null once TERMINATED."
    )

    @classmethod
    def from_entry(cls, entry: WorklistEntry) -> Self:
        episode, letter, action = entry.row.episode, entry.last_letter, entry.next_action
        return cls(
            pk=episode.id, group=Group.from_row(entry.row.group), stage=episode.stage,
            days_past_due=episode.days_past_due,
            past_due_amount=Money.from_cents(episode.past_due_cents),
            balance=Money.from_cents(episode.balance_cents),
            past_due_since=episode.oldest_due_date, paid_through_date=episode.paid_through_date,
            assessed_on=episode.assessed_on, opened_on=episode.opened_on,
            last_letter=None if letter is None else DelinquencyLetter.from_row(letter),
            last_letter_date=None if letter is None else letter_date(letter),
            next_action=None if action is None
            else DelinquencyNextAction(kind=action.kind, date=action.on),
        )  # fmt: skip

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """The worklist is the representatives' business: nobody else finds an item, and
        an episode no longer OPEN is not on it."""
        wanted = list(node_ids)
        ids = staff_node_ids(info, wanted, REP_BILLING)
        session = info.context.session
        rows = await queries.worklist_rows_by_episode_ids(session, ids)
        entries = await worklist_entries(session, list(rows.values()), today())
        return in_request_order(wanted, {e.row.episode.id: cls.from_entry(e) for e in entries})


@strawberry.type(description="Groups and money past due at one stage, over the filtered list.")
class DelinquencyStageTotal:
    stage: DelinquencyStage = strawberry.field(description="The stage.")
    groups: int = strawberry.field(description="How many groups are at it.")
    past_due_amount: Money = strawberry.field(description="What they have past due in all.")


Totals = Callable[[], Awaitable[list[queries.StageTotal]]]


@strawberry.type(description="A page of the delinquency worklist.")
class DelinquencyWorklistConnection(CountedConnection[DelinquencyWorklistItem]):
    totals_of: strawberry.Private[Totals]

    @strawberry.field(
        description="Per stage, in stage order (every stage, zeros too): the groups and "
        "money past due across all pages of the filtered list.",
        extensions=requires(REP_BILLING),
    )
    async def totals(self) -> list[DelinquencyStageTotal]:
        return [
            DelinquencyStageTotal(stage=total.stage, groups=total.groups,
                                  past_due_amount=Money.from_cents(total.past_due_cents))
            for total in await self.totals_of()
        ]  # fmt: skip


@strawberry.input(description="Narrow the worklist; all conditions must hold.")
class DelinquencyWorklistFilter:
    stages: list[DelinquencyStage] | None = strawberry.field(
        default=None, description="Only episodes at one of these stages."
    )
    search: str | None = strawberry.field(
        default=None, description="Group number prefix or part of the name, case-insensitive."
    )
    min_days_past_due: int | None = strawberry.field(
        default=None, description="Only episodes at least this many days past due."
    )
    has_draft_letter: bool | None = strawberry.field(
        default=None,
        description="True: only episodes with a letter waiting as a DRAFT; false: only "
        "those without one.",
    )


@strawberry.enum(description="What the worklist is sorted by (ties by episode).")
class DelinquencyWorklistSortField(enum.Enum):
    DAYS_PAST_DUE = strawberry.enum_value("DAYS_PAST_DUE", description="Days past due.")
    PAST_DUE_AMOUNT = strawberry.enum_value("PAST_DUE_AMOUNT", description="Money past due.")
    GROUP_NUMBER = strawberry.enum_value("GROUP_NUMBER", description="The group number.")
    ASSESSED_ON = strawberry.enum_value("ASSESSED_ON", description="The day last assessed.")


@strawberry.input(
    description="The worklist's order. Cursors belong to one order: a cursor from another "
    "order is refused."
)
class DelinquencyWorklistOrder:
    field: DelinquencyWorklistSortField = strawberry.field(
        default=DelinquencyWorklistSortField.DAYS_PAST_DUE, description="The sort key."
    )
    direction: SortDirection = strawberry.field(
        default=SortDirection.DESC, description="Descending (the default) or ascending."
    )


def _query_filter(flt: DelinquencyWorklistFilter | None) -> queries.WorklistFilter:
    if flt is None:
        return queries.WorklistFilter()
    return queries.WorklistFilter(
        stages=flt.stages, search=flt.search, min_days_past_due=flt.min_days_past_due,
        has_draft_letter=flt.has_draft_letter,
    )  # fmt: skip


def _keyset(order: DelinquencyWorklistOrder | None) -> Keyset[queries.WorklistRow]:
    order = order or DelinquencyWorklistOrder()
    descending = order.direction is SortDirection.DESC
    return queries.worklist_order(queries.WorklistSort[order.field.name], descending=descending)


async def resolve_worklist(
    info: strawberry.Info,
    *,
    first: int,
    after: str | None,
    flt: DelinquencyWorklistFilter | None,
    order: DelinquencyWorklistOrder | None,
) -> DelinquencyWorklistConnection:
    """``Query.delinquencyWorklist``: the page, its letters and thresholds (four
    statements whatever the page size), then the count and the totals, each when asked."""
    session, wanted = info.context.session, _query_filter(flt)
    page = await queries.worklist_page(
        session, flt=wanted, order=_keyset(order), page=PageRequest(first, after)
    )
    entries = await worklist_entries(session, page.rows, today())

    async def count() -> int:
        return await queries.count_worklist(session, wanted)

    # ``build_connection`` makes the edges and page info; this connection carries totals too.
    built = build_connection(
        CountedConnection,
        Page(entries, page.cursors, page.has_next_page, page.has_previous_page),
        DelinquencyWorklistItem.from_entry,
        count,
    )
    return DelinquencyWorklistConnection(
        edges=built.edges, page_info=built.page_info, counter=count,
        totals_of=lambda: queries.worklist_totals(session, wanted),
    )  # fmt: skip

"""Access issues as support staff see them (SPEC §2 Web access; ``support:access``): the
queue with its filters and orders, each issue with its first-response deadline and
history. Nobody else finds an issue: not in the queue, not by ``node(id:)``.

Related rows come from the request's loaders, so a page costs the same few statements
whatever its size (the page, the entries of all its issues, the people they name).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Self

import strawberry
from sqlalchemy import select
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import SUPPORT_ACCESS
from api.schema.connections import CountedConnection, build_connection
from api.schema.lookups import in_request_order, staff_node_ids
from api.schema.members import SortDirection
from api.services.access_issues import is_breached
from api.services.dates import utc_now
from db import models
from db.models import AccessIssueCategory, AccessIssueEntryKind, AccessIssueStatus
from db.queries import access_issues as queries
from db.queries.paging import PageRequest

strawberry.enum(
    AccessIssueCategory,
    description="What an access issue is about: CANT_LOG_IN, LOCKED_OUT, LOST_MFA (lost "
    "the authenticator app), MISSING_PERMISSION, OTHER.",
)
strawberry.enum(
    AccessIssueStatus,
    description="OPEN (not picked up) → IN_PROGRESS ⇄ WAITING_ON_CLIENT → RESOLVED; "
    "IN_PROGRESS may resolve directly and a RESOLVED issue may re-open to IN_PROGRESS.",
)
strawberry.enum(
    AccessIssueEntryKind,
    description="NOTE: internal (support only); REPLY: emailed to the reporter; STATUS: a "
    "status change; RESET: a login reset done under the issue.",
)


@strawberry.type(description="A person an access issue names (reporter, subject, staff).")
class AccessIssueUser:
    portal_user_id: relay.GlobalID = strawberry.field(
        description="The user's global ID (type `PortalUser`), for troubleshooting."
    )
    email: str = strawberry.field(description="Sign-in email address.")
    name: str = strawberry.field(description="The person's name.")

    @classmethod
    def from_row(cls, row: models.User) -> Self:
        return cls(
            portal_user_id=relay.GlobalID("PortalUser", str(row.id)), email=row.email, name=row.name
        )


async def _user(info: strawberry.Info, user_id: int | None) -> AccessIssueUser | None:
    if user_id is None:
        return None
    row = await info.context.loaders.access_issue_user.load(user_id)
    return None if row is None else AccessIssueUser.from_row(row)


@strawberry.type(description="One line of an issue's history; never changed.")
class AccessIssueEntry:
    kind: AccessIssueEntryKind = strawberry.field(description="What happened.")
    body: str = strawberry.field(description="The note, reply or change, as written.")
    created_at: dt.datetime = strawberry.field(description="When (UTC).")
    author_id: strawberry.Private[int | None]

    @strawberry.field(description="Who wrote it; null for the system or a removed user.")
    async def author(self, info: strawberry.Info) -> AccessIssueUser | None:
        return await _user(info, self.author_id)

    @classmethod
    def from_row(cls, row: models.AccessIssueEntry) -> Self:
        return cls(
            kind=row.kind, body=row.body, created_at=row.created_at, author_id=row.author_user_id
        )


@strawberry.type(description="A reported access problem, worked by the support team.")
class AccessIssue(relay.Node):
    pk: relay.NodeID[int]
    reference: str = strawberry.field(description="What the reporter quotes, e.g. `AI-7K3Q9X`.")
    category: AccessIssueCategory = strawberry.field(description="What it is about.")
    status: AccessIssueStatus = strawberry.field(description="Where it is in the workflow.")
    reporter_email: str = strawberry.field(description="Where replies are emailed.")
    reporter_name: str = strawberry.field(description="The reporter's name.")
    group_number: str | None = strawberry.field(description="The group the reporter gave.")
    description: str = strawberry.field(description="The problem, in the reporter's words.")
    created_at: dt.datetime = strawberry.field(description="When it was reported (UTC).")
    age_hours: int = strawberry.field(description="Whole hours since it was reported.")
    first_response_due_at: dt.datetime = strawberry.field(
        description="When the first response is due (1 business day by default; weekends and "
        "US federal holidays skipped)."
    )
    first_responded_at: dt.datetime | None = strawberry.field(
        description="The first reply or status change (UTC); null before."
    )
    first_response_breached: bool = strawberry.field(
        description="No first response by the due time (stays true after a late response)."
    )
    resolved_at: dt.datetime | None = strawberry.field(description="When last RESOLVED.")
    ids: strawberry.Private[tuple[int | None, int | None, int | None]]

    @strawberry.field(description="The account it was reported from; null when anonymous.")
    async def reported_by(self, info: strawberry.Info) -> AccessIssueUser | None:
        return await _user(info, self.ids[0])

    @strawberry.field(description="The account it is about, when known.")
    async def subject_user(self, info: strawberry.Info) -> AccessIssueUser | None:
        return await _user(info, self.ids[1])

    @strawberry.field(description="The support team member working it; null when unassigned.")
    async def assignee(self, info: strawberry.Info) -> AccessIssueUser | None:
        return await _user(info, self.ids[2])

    @strawberry.field(
        description="Its history, oldest first, internal notes included (support:access).",
        extensions=requires(SUPPORT_ACCESS),
    )
    async def entries(self, info: strawberry.Info) -> list[AccessIssueEntry]:
        rows = await info.context.loaders.access_issue_entries.load(self.pk)
        return [AccessIssueEntry.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: models.AccessIssue, now: dt.datetime | None = None) -> Self:
        now = now or utc_now()
        return cls(
            pk=row.id,
            reference=row.reference,
            category=row.category,
            status=row.status,
            reporter_email=row.reporter_email,
            reporter_name=row.reporter_name,
            group_number=row.group_number,
            description=row.description,
            created_at=row.created_at,
            age_hours=max(0, int((now - row.created_at).total_seconds() // 3600)),
            first_response_due_at=row.first_response_due_at,
            first_responded_at=row.first_responded_at,
            first_response_breached=is_breached(row, now),
            resolved_at=row.resolved_at,
            ids=(row.reporter_user_id, row.subject_user_id, row.assigned_to_user_id),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: list[str], required: bool = False
    ) -> list[Self | None]:
        """Issues are the support team's business: nobody else finds one by its id."""
        ids = staff_node_ids(info, node_ids, SUPPORT_ACCESS)
        stmt = select(models.AccessIssue).where(models.AccessIssue.id.in_(ids))
        rows = (await info.context.session.scalars(stmt)).all() if ids else []
        return in_request_order(node_ids, {row.id: cls.from_row(row) for row in rows})


@strawberry.type(description="A page of access issues.")
class AccessIssueConnection(CountedConnection[AccessIssue]):
    pass


@strawberry.input(description="Narrow the queue; all conditions must hold.")
class AccessIssueFilter:
    status: list[AccessIssueStatus] | None = strawberry.field(
        default=None, description="Only issues in one of these statuses."
    )
    category: list[AccessIssueCategory] | None = strawberry.field(
        default=None, description="Only issues of one of these categories."
    )
    assigned_to_me: bool = strawberry.field(default=False, description="Only mine.")
    unassigned: bool = strawberry.field(default=False, description="Only unassigned issues.")
    breached: bool | None = strawberry.field(
        default=None,
        description="True: only issues whose first response was (or is) late; false: only "
        "those on time so far.",
    )
    search: str | None = strawberry.field(
        default=None,
        description="Part of the reference, reporter email or name, or group number.",
    )


@strawberry.enum(description="What the queue is sorted by (ties by issue).")
class AccessIssueSortField(enum.Enum):
    CREATED_AT = strawberry.enum_value("CREATED_AT", description="When reported.")
    FIRST_RESPONSE_DUE = strawberry.enum_value(
        "FIRST_RESPONSE_DUE", description="When the first response is due."
    )


@strawberry.input(
    description="The queue's order. Cursors belong to one order: a cursor from another "
    "order is refused."
)
class AccessIssueOrder:
    field: AccessIssueSortField = strawberry.field(
        default=AccessIssueSortField.CREATED_AT, description="The sort key."
    )
    direction: SortDirection = strawberry.field(
        default=SortDirection.ASC, description="Ascending (the default: oldest first) or not."
    )


def _query_filter(info: strawberry.Info, flt: AccessIssueFilter | None) -> queries.QueueFilter:
    if flt is None:
        return queries.QueueFilter()
    me = info.context.principal.user_id if flt.assigned_to_me else None
    return queries.QueueFilter(
        statuses=tuple(flt.status or ()),
        categories=tuple(flt.category or ()),
        assigned_to=-1 if flt.assigned_to_me and me is None else me,
        unassigned=flt.unassigned,
        breached=flt.breached,
        search=flt.search,
    )


def _order(order: AccessIssueOrder | None) -> queries.QueueOrder:
    order = order or AccessIssueOrder()
    return queries.QueueOrder(
        queries.QueueSort[order.field.name], descending=order.direction is SortDirection.DESC
    )


async def resolve_access_issues(
    info: strawberry.Info,
    *,
    first: int,
    after: str | None,
    flt: AccessIssueFilter | None,
    order: AccessIssueOrder | None,
) -> AccessIssueConnection:
    """``Query.accessIssues``: one statement for the page, the count only when asked."""
    session, wanted, now = info.context.session, _query_filter(info, flt), utc_now()
    page = await queries.queue_page(
        session, flt=wanted, order=_order(order), page=PageRequest(first, after), now=now
    )

    async def count() -> int:
        return await queries.count_queue(session, flt=wanted, now=now)

    return build_connection(
        AccessIssueConnection, page, lambda row: AccessIssue.from_row(row, now), count
    )

"""ID-card requests: the type, the rep's queue and the two mutations (SPEC §2 ID cards)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from api.schema.connections import CountedConnection, build_connection
from api.schema.nodes import load_nodes
from api.schema.user_errors import UserError
from api.services import id_cards as service
from api.services.dates import today
from api.services.rules import Problem, refuse_if
from db import models
from db.models.enums import IdCardReason, IdCardStatus
from db.queries import id_cards as queries
from db.queries.paging import PageRequest

if TYPE_CHECKING:
    from api.schema.members import Member

strawberry.enum(
    IdCardStatus, description="Fulfilment of a card request: QUEUED → PRINTED → MAILED."
)
strawberry.enum(
    IdCardReason,
    description="Why a card was requested: NEW_ENROLLMENT (automatic for a new subscriber), "
    "LOST, DAMAGED, INFORMATION_CHANGED or OTHER.",
)

MemberRef = Annotated["Member", strawberry.lazy("api.schema.members")]


@strawberry.type(description="A request to print and mail a member's ID card.")
class IdCardRequest(relay.Node):
    pk: relay.NodeID[int]
    member_pk: strawberry.Private[int]
    reason: IdCardReason = strawberry.field(description="Why the card was requested.")
    status: IdCardStatus = strawberry.field(description="Where fulfilment stands.")
    requested_at: dt.datetime = strawberry.field(description="When it was requested (UTC).")
    due_on: dt.date = strawberry.field(
        description="Mail-by date: 10 business days (default) after the request, skipping "
        "weekends and US federal holidays."
    )
    printed_at: dt.datetime | None = strawberry.field(description="When it was printed.")
    mailed_at: dt.datetime | None = strawberry.field(description="When it was mailed.")
    is_breached: bool = strawberry.field(
        description="Not mailed and past its due date (as of today, UTC)."
    )

    @classmethod
    def from_row(cls, row: models.IdCardRequest) -> Self:
        return cls(
            pk=row.id,
            member_pk=row.member_id,
            reason=row.reason,
            status=row.status,
            requested_at=row.requested_at,
            due_on=row.due_on,
            printed_at=row.printed_at,
            mailed_at=row.mailed_at,
            is_breached=service.is_breached(row, on=today()),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: list[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(node_ids, info.context.loaders.id_card_request, cls.from_row)

    @strawberry.field(description="The member the card is for.")
    async def member(self, info: strawberry.Info) -> MemberRef | None:
        from api.schema.members import Member

        row = await info.context.loaders.member.load(self.member_pk)
        return None if row is None else Member.from_row(row)


@strawberry.type(description="A page of ID-card requests.")
class IdCardRequestConnection(CountedConnection[IdCardRequest]):
    pass


async def requests_of(info: strawberry.Info, member_pk: int) -> list[IdCardRequest]:
    """``Member.idCardRequests``: newest first."""
    rows = await info.context.loaders.id_card_requests.load(member_pk)
    return [IdCardRequest.from_row(row) for row in rows]


async def request_queue(
    info: strawberry.Info,
    *,
    first: int,
    after: str | None,
    breached_only: bool,
    group_number: str | None,
) -> IdCardRequestConnection:
    """The rep's queue of card requests, oldest first."""
    ctx = info.context
    page_request = PageRequest(first=first, after=after)
    flt = queries.IdCardRequestFilter(
        group_number=group_number, breached_on=today() if breached_only else None
    )
    page = await queries.id_card_requests_page(
        ctx.session, ctx.principal, flt=flt, page=page_request
    )

    async def count() -> int:
        return await queries.count_id_card_requests(ctx.session, ctx.principal, flt=flt)

    return build_connection(IdCardRequestConnection, page, IdCardRequest.from_row, count)


def _member_pk(gid: relay.GlobalID) -> int | None:
    node_id = gid.node_id
    ok = gid.type_name == "Member" and node_id.isdigit() and len(node_id) < 19
    return int(node_id) if ok else None


async def managed_members(
    info: strawberry.Info, gids: list[relay.GlobalID], *, field: str
) -> list[models.Member]:
    """The members named, when the caller may change their eligibility (MANAGE on the
    group, or a rep); ``MEMBER_NOT_FOUND`` for each that is not."""
    pks = [_member_pk(gid) for gid in gids]
    ctx = info.context
    found = await queries.managed_members(ctx.session, ctx.principal, [p for p in pks if p])
    refuse_if(
        [
            Problem(
                "MEMBER_NOT_FOUND",
                "No member with this ID that you may manage; pass the `id` of a member of a "
                "group where you have eligibility MANAGE access.",
                (field, str(index)) if len(gids) > 1 else (field,),
            )
            for index, pk in enumerate(pks)
            if pk is None or pk not in found
        ]
    )
    return [found[pk] for pk in pks if pk is not None]


@strawberry.input(description="Cards to request for members (replacements), at most 100.")
class IdCardsRequestInput:
    member_ids: list[relay.GlobalID] = strawberry.field(
        description="The members' `id`s, 1 to 100, each of a group you may manage."
    )
    reason: IdCardReason = strawberry.field(description="Why new cards are needed.")


@strawberry.enum(description="Why idCardsRequest refused.")
class IdCardsRequestErrorCode(enum.Enum):
    MEMBER_NOT_FOUND = strawberry.enum_value(
        "MEMBER_NOT_FOUND", description="A member is not visible or not manageable by you."
    )
    TOO_MANY_MEMBERS = strawberry.enum_value(
        "TOO_MANY_MEMBERS", description="More than 100 members, or none."
    )
    MEMBER_MERGED = strawberry.enum_value(
        "MEMBER_MERGED", description="A member was merged into another; use the survivor."
    )


@strawberry.type(description="An idCardsRequest failure.")
class IdCardsRequestUserError(UserError):
    code: IdCardsRequestErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The queued card requests, or why not.")
class IdCardsRequestPayload:
    requests: list[IdCardRequest] = strawberry.field(description="Empty when refused.")
    user_errors: list[IdCardsRequestUserError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="Move a card request forward.")
class IdCardRequestUpdateInput:
    id: relay.GlobalID = strawberry.field(description="The request's `id`.")
    status: IdCardStatus = strawberry.field(description="PRINTED or MAILED; never backwards.")


@strawberry.enum(description="Why idCardRequestUpdate refused.")
class IdCardRequestUpdateErrorCode(enum.Enum):
    REQUEST_NOT_FOUND = strawberry.enum_value("REQUEST_NOT_FOUND", description="No such request.")
    INVALID_TRANSITION = strawberry.enum_value(
        "INVALID_TRANSITION", description="Status moves only QUEUED → PRINTED → MAILED."
    )


@strawberry.type(description="An idCardRequestUpdate failure.")
class IdCardRequestUpdateUserError(UserError):
    code: IdCardRequestUpdateErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The updated request, or why not.")
class IdCardRequestUpdatePayload:
    request: IdCardRequest | None = strawberry.field(description="Null when refused.")
    user_errors: list[IdCardRequestUpdateUserError] = strawberry.field(
        description="Empty on success."
    )

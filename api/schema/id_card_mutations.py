"""idCardsRequest (leaders with eligibility MANAGE, reps) and idCardRequestUpdate
(reps and the fulfilment system, ``rep:eligibility``) — SPEC §2 ID cards."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.auth.permissions import requires
from api.auth.policy import ELIGIBILITY_WRITE, REP_ELIGIBILITY
from api.resolvers.mutations import commit, discard
from api.schema.id_cards import (
    IdCardRequest,
    IdCardRequestUpdateErrorCode,
    IdCardRequestUpdateInput,
    IdCardRequestUpdatePayload,
    IdCardRequestUpdateUserError,
    IdCardsRequestErrorCode,
    IdCardsRequestInput,
    IdCardsRequestPayload,
    IdCardsRequestUserError,
    managed_members,
)
from api.schema.user_errors import user_errors
from api.services import id_cards as service
from api.services.dates import utc_now
from api.services.rules import Problem, RuleViolation, refuse_if
from db import models
from db.models.enums import MemberStatus
from db.queries.paging import MAX_PAGE_SIZE


async def _members_to_card(
    info: strawberry.Info, input: IdCardsRequestInput
) -> list[models.Member]:
    count = len(input.member_ids)
    refuse_if(
        []
        if 1 <= count <= MAX_PAGE_SIZE
        else [
            Problem(
                "TOO_MANY_MEMBERS",
                f"Pass between 1 and {MAX_PAGE_SIZE} member IDs; split larger requests.",
                ("memberIds",),
            )
        ]
    )
    members = await managed_members(info, input.member_ids, field="memberIds")
    refuse_if(
        [
            Problem(
                "MEMBER_MERGED",
                f"Member {member.member_id} was merged into another member; request the "
                "survivor's card instead.",
                ("memberIds",),
            )
            for member in members
            if member.status is MemberStatus.MERGED
        ]
    )
    return members


async def _request_update(
    info: strawberry.Info, input: IdCardRequestUpdateInput
) -> models.IdCardRequest:
    node_id = input.id.node_id
    ok = input.id.type_name == "IdCardRequest" and node_id.isdigit() and len(node_id) < 19
    row = await info.context.loaders.id_card_request.load(int(node_id)) if ok else None
    if row is None:
        message = "No ID-card request with this ID; pass an `id` from `idCardRequests`."
        raise RuleViolation([Problem("REQUEST_NOT_FOUND", message, ("id",))])
    service.advance(row, status=input.status, now=utc_now())
    await info.context.session.flush()
    request: models.IdCardRequest = row
    return request


@strawberry.type
class IdCardMutations:
    @strawberry.mutation(
        description="Request replacement ID cards for up to 100 members (eligibility:write "
        "with MANAGE access to each member's group, or a rep). Each is QUEUED and due 10 "
        "business days later.",
        extensions=requires(ELIGIBILITY_WRITE),
    )
    async def id_cards_request(
        self,
        info: strawberry.Info,
        input: Annotated[IdCardsRequestInput, strawberry.argument(description="Members, reason.")],
    ) -> IdCardsRequestPayload:
        ctx = info.context
        try:
            members = await _members_to_card(info, input)
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(IdCardsRequestUserError, IdCardsRequestErrorCode, refused.problems)
            return IdCardsRequestPayload(requests=[], user_errors=errors)
        rows = await service.request_replacements(
            ctx.session,
            member_ids=[member.id for member in members],
            reason=input.reason,
            now=utc_now(),
            user_id=ctx.principal.user_id,
            business_days=ctx.settings.id_card_business_days,
        )
        for member in members[1:]:
            ctx.audit.record(
                "idcard.request",
                target_type="Member",
                target_id=member.member_id,
                changes={"reason": input.reason.value},
            )
        await commit(
            info,
            "idcard.request",
            target_type="Member",
            target_id=members[0].member_id,
            changes={"reason": input.reason.value},
        )
        return IdCardsRequestPayload(
            requests=[IdCardRequest.from_row(row) for row in rows], user_errors=[]
        )

    @strawberry.mutation(
        description="Record printing or mailing of a card request (rep:eligibility, also the "
        "fulfilment system). Status only moves forward: QUEUED → PRINTED → MAILED; the "
        "printed and mailed times are set.",
        extensions=requires(REP_ELIGIBILITY),
    )
    async def id_card_request_update(
        self,
        info: strawberry.Info,
        input: Annotated[
            IdCardRequestUpdateInput, strawberry.argument(description="Request and status.")
        ],
    ) -> IdCardRequestUpdatePayload:
        try:
            row = await _request_update(info, input)
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(
                IdCardRequestUpdateUserError, IdCardRequestUpdateErrorCode, refused.problems
            )
            return IdCardRequestUpdatePayload(request=None, user_errors=errors)
        await commit(
            info,
            "idcard.update",
            target_type="IdCardRequest",
            target_id=str(row.id),
            changes={"status": row.status.value},
        )
        return IdCardRequestUpdatePayload(request=IdCardRequest.from_row(row), user_errors=[])

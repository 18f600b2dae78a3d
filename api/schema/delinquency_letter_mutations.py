"""Reviewing and sending delinquency letters (rep:billing). The rules are
``api.services.delinquency.letter_sending``."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import REP_BILLING
from api.resolvers.mutations import commit, discard
from api.schema.delinquency_letters import DelinquencyLetter
from api.schema.lookups import pk_of
from api.schema.user_errors import UserError, user_errors
from api.services.dates import utc_now
from api.services.delinquency import letter_sending
from api.services.rules import RuleViolation
from db import models

_NOT_FOUND = strawberry.enum_value("LETTER_NOT_FOUND", description="No such letter.")
_SENT = strawberry.enum_value("ALREADY_SENT", description="It was sent; it never changes.")


@strawberry.enum(description="Why a letter's note could not be changed.")
class DelinquencyLetterEditErrorCode(enum.Enum):
    LETTER_NOT_FOUND = _NOT_FOUND
    ALREADY_SENT = _SENT
    NOTE_TOO_LONG = strawberry.enum_value(
        "NOTE_TOO_LONG", description=f"More than {letter_sending.NOTE_MAX_CHARS} characters."
    )


@strawberry.enum(description="Why a letter could not be sent.")
class DelinquencyLetterSendErrorCode(enum.Enum):
    LETTER_NOT_FOUND = _NOT_FOUND
    ALREADY_SENT = _SENT
    NO_RECIPIENTS = strawberry.enum_value(
        "NO_RECIPIENTS", description="The group has no billing contact or benefit leader."
    )
    NO_LONGER_DUE = strawberry.enum_value(
        "NO_LONGER_DUE", description="The delinquency moved on; the letter no longer applies."
    )


@strawberry.type(description="Why a letter's note could not be changed.")
class DelinquencyLetterEditUserError(UserError):
    code: DelinquencyLetterEditErrorCode = strawberry.field(description="Machine-readable.")


@strawberry.type(description="Why a letter could not be sent.")
class DelinquencyLetterSendUserError(UserError):
    code: DelinquencyLetterSendErrorCode = strawberry.field(description="Machine-readable.")


@strawberry.type(description="The letter with its new note, or why not.")
class DelinquencyLetterEditPayload:
    letter: DelinquencyLetter | None = strawberry.field(description="Null when refused.")
    user_errors: list[DelinquencyLetterEditUserError] = strawberry.field(
        description="Empty on success."
    )


@strawberry.type(description="The letter, now SENT, or why not.")
class DelinquencyLetterSendPayload:
    letter: DelinquencyLetter | None = strawberry.field(description="Null when refused.")
    user_errors: list[DelinquencyLetterSendUserError] = strawberry.field(
        description="Empty on success."
    )


@strawberry.input(description="Rewrite the representative's paragraph of a DRAFT letter.")
class DelinquencyLetterEditInput:
    letter_id: relay.GlobalID = strawberry.field(description="The letter's `id`.")
    note: str | None = strawberry.field(
        default=None,
        description=f"The paragraph, at most {letter_sending.NOTE_MAX_CHARS} characters; "
        "null or blank removes it.",
    )


@strawberry.input(description="Send a DRAFT letter.")
class DelinquencyLetterSendInput:
    letter_id: relay.GlobalID = strawberry.field(description="The letter's `id`.")


async def _locked(info: strawberry.Info, letter_id: relay.GlobalID) -> models.DelinquencyLetter:
    pk = pk_of(letter_id, "DelinquencyLetter")
    return await letter_sending.locked_letter(info.context.session, pk)


@strawberry.type
class DelinquencyLetterMutations:
    @strawberry.mutation(
        description="Set or remove the representative's paragraph of a DRAFT letter "
        "(rep:billing). A SENT letter never changes.",
        extensions=requires(REP_BILLING),
    )
    async def delinquency_letter_edit(
        self,
        info: strawberry.Info,
        input: Annotated[DelinquencyLetterEditInput, strawberry.argument(description="The note.")],
    ) -> DelinquencyLetterEditPayload:
        ctx = info.context
        try:
            letter = await _locked(info, input.letter_id)
            await letter_sending.edit_note(ctx.session, letter, note=input.note, audit=ctx.audit)
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(DelinquencyLetterEditUserError, DelinquencyLetterEditErrorCode,
                                 refused.problems)  # fmt: skip
            return DelinquencyLetterEditPayload(letter=None, user_errors=errors)
        await commit(info, "delinquency_letter.edit", target_type="DelinquencyLetter",
                     target_id=str(letter.id))  # fmt: skip
        return DelinquencyLetterEditPayload(
            letter=DelinquencyLetter.from_row(letter), user_errors=[]
        )

    @strawberry.mutation(
        description="Send a DRAFT letter (rep:billing): emailed to the group's billing "
        "contacts and benefit leaders, a copy to its sales representatives, and SENT from "
        "then on (the group's users see it, with its PDF). Sent at most once.",
        extensions=requires(REP_BILLING),
    )
    async def delinquency_letter_send(
        self,
        info: strawberry.Info,
        input: Annotated[DelinquencyLetterSendInput, strawberry.argument(description="Which.")],
    ) -> DelinquencyLetterSendPayload:
        ctx = info.context
        try:
            letter = await _locked(info, input.letter_id)
            await letter_sending.send(
                ctx.session, letter, user_id=ctx.principal.user_id, audit=ctx.audit,
                now=utc_now(), carrier=ctx.settings.carrier_name,
            )  # fmt: skip
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(DelinquencyLetterSendUserError, DelinquencyLetterSendErrorCode,
                                 refused.problems)  # fmt: skip
            return DelinquencyLetterSendPayload(letter=None, user_errors=errors)
        await commit(info, "delinquency_letter.send", target_type="DelinquencyLetter",
                     target_id=str(letter.id))  # fmt: skip
        return DelinquencyLetterSendPayload(
            letter=DelinquencyLetter.from_row(letter), user_errors=[]
        )

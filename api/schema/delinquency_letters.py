"""Delinquency letters in the API (SPEC §2 Delinquency): the letters drafted for a group's
unpaid premium, with the facts they state, their text and their PDF.

Representatives see every letter; a group's own users (``billing:read`` and billing access
to the group) see only the letters sent to it. A draft is null to them, as another
group's letter is (``db.queries.delinquency_letters``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from api.schema.connections import CountedConnection, build_connection
from api.schema.money import Money
from api.schema.nodes import load_nodes
from api.services.delinquency.letter_text import LetterText, render
from db import models
from db.models import LetterKind, LetterStatus
from db.queries.paging import PageRequest

if TYPE_CHECKING:
    from api.schema.groups import Group

strawberry.enum(
    LetterKind,
    description="Which letter of a delinquency: FIRST_NOTICE (premium past due), "
    "SECOND_NOTICE, SUSPENSION (claims pend), TERMINATION (for non-payment), "
    "REINSTATEMENT (the past-due balance was cleared).",
)
strawberry.enum(
    LetterStatus,
    description="DRAFT (seen by representatives only, its note still editable) → SENT "
    "(emailed to the group; never changes again).",
)

GroupRef = Annotated["Group", strawberry.lazy("api.schema.groups")]


def letter_pdf_path(pk: int) -> str:
    return f"/documents/delinquency-letters/{pk}.pdf"


@strawberry.type(
    description="A letter to a group about its unpaid premium, drafted by the daily "
    "delinquency run with the facts of its day, reviewed and sent by a representative."
)
class DelinquencyLetter(relay.Node):
    pk: relay.NodeID[int]
    row: strawberry.Private[models.DelinquencyLetter]
    kind: LetterKind = strawberry.field(description="Which letter it is.")
    status: LetterStatus = strawberry.field(description="DRAFT or SENT.")
    as_of: dt.date = strawberry.field(description="The day it was drafted for.")
    days_past_due: int = strawberry.field(description="Days past due on `asOf`.")
    past_due_amount: Money = strawberry.field(description="What was past due on `asOf`.")
    balance: Money = strawberry.field(description="The group's account balance on `asOf`.")
    past_due_since: dt.date = strawberry.field(
        description="The due date of the oldest invoice past due."
    )
    paid_through_date: dt.date | None = strawberry.field(
        description="The last day of the last fully paid month (null: none is)."
    )
    action_date: dt.date | None = strawberry.field(
        description="The day of what happens next: suspension (notices), termination "
        "(suspension letter), the end of coverage (termination letter); null for a "
        "reinstatement."
    )
    note: str | None = strawberry.field(
        description="The representative's own paragraph, printed before the closing."
    )
    sent_at: dt.datetime | None = strawberry.field(description="When it was sent (UTC).")
    pdf_path: str = strawberry.field(
        description="Path of the letter as a PDF (GET with the bearer token)."
    )

    @classmethod
    def from_row(cls, row: models.DelinquencyLetter) -> Self:
        return cls(
            pk=row.id, row=row, kind=row.kind, status=row.status, as_of=row.as_of,
            days_past_due=row.days_past_due, past_due_amount=Money.from_cents(row.past_due_cents),
            balance=Money.from_cents(row.balance_cents), past_due_since=row.past_due_since,
            paid_through_date=row.paid_through_date, action_date=row.action_date, note=row.note,
            sent_at=row.sent_at, pdf_path=letter_pdf_path(row.id),
        )  # fmt: skip

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(node_ids, info.context.loaders.delinquency_letter, cls.from_row)

    async def _text(self, info: strawberry.Info) -> LetterText:
        group = await info.context.loaders.group.load(self.row.group_id)
        if group is None:  # the letter is visible, so is its group
            raise LookupError(f"group {self.row.group_id} not visible")
        return render(self.row, group, info.context.settings.carrier_name)

    @strawberry.field(description="The group the letter is to.")
    async def group(self, info: strawberry.Info) -> GroupRef | None:
        from api.schema.groups import Group

        row = await info.context.loaders.group.load(self.row.group_id)
        return None if row is None else Group.from_row(row)

    @strawberry.field(description="The subject line (of the email, and on the PDF).")
    async def subject(self, info: strawberry.Info) -> str:
        return (await self._text(info)).subject

    @strawberry.field(
        description="The letter's text, from greeting to signature, as emailed and printed."
    )
    async def body(self, info: strawberry.Info) -> str:
        return (await self._text(info)).body


@strawberry.type(description="A page of a group's delinquency letters, newest first.")
class DelinquencyLetterConnection(CountedConnection[DelinquencyLetter]):
    pass


async def group_letters(
    info: strawberry.Info, *, group_pk: int, first: int, after: str | None
) -> DelinquencyLetterConnection:
    """``Group.delinquencyLetters``, batched across the groups of a page."""
    loaders = info.context.loaders
    page = await loaders.letter_pages(PageRequest(first, after)).load(group_pk)

    async def count() -> int:
        return int(await loaders.letter_counts().load(group_pk))

    return build_connection(DelinquencyLetterConnection, page, DelinquencyLetter.from_row, count)

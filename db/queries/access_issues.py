"""The access-issue queue for support staff (the fields' ``support:access`` permission
says who may ask; every issue is visible to them, none to anybody else).

Pages are keyset pages: by creation (the id, which grows with it) or by first-response
due time then id; each cursor names its order and direction, so a cursor of another order
is refused. Related rows (history entries, the people named) are fetched for a whole page
at once by the request's loaders.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from db.models import (
    AccessIssue,
    AccessIssueCategory,
    AccessIssueEntry,
    AccessIssueStatus,
    User,
)
from db.queries.paging import (
    Page,
    PageRequest,
    PageRequestError,
    decode_cursor,
    finish_page,
)


class QueueSort(enum.Enum):
    CREATED_AT = "created"
    FIRST_RESPONSE_DUE = "due"


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """All conditions must hold; ``None`` means "any"."""

    statuses: tuple[AccessIssueStatus, ...] = ()
    categories: tuple[AccessIssueCategory, ...] = ()
    assigned_to: int | None = None
    unassigned: bool = False
    breached: bool | None = None
    search: str | None = None


@dataclass(frozen=True, slots=True)
class QueueOrder:
    sort: QueueSort = QueueSort.CREATED_AT
    descending: bool = False

    @property
    def name(self) -> str:
        return f"{self.sort.value}-{'desc' if self.descending else 'asc'}"


def breached_condition(now: dt.datetime) -> ColumnElement[bool]:
    """SQL of ``api.services.access_issues.is_breached``: no first response by the due time."""
    due, responded = AccessIssue.first_response_due_at, AccessIssue.first_responded_at
    return or_(and_(responded.is_(None), due < now), responded > due)


def _conditions(flt: QueueFilter, now: dt.datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.statuses:
        conditions.append(AccessIssue.status.in_(flt.statuses))
    if flt.categories:
        conditions.append(AccessIssue.category.in_(flt.categories))
    if flt.assigned_to is not None:
        conditions.append(AccessIssue.assigned_to_user_id == flt.assigned_to)
    if flt.unassigned:
        conditions.append(AccessIssue.assigned_to_user_id.is_(None))
    if flt.breached is not None:
        breached = breached_condition(now)
        conditions.append(breached if flt.breached else ~breached)
    if flt.search and flt.search.strip():
        conditions.append(_search(flt.search.strip().lower()))
    return conditions


def _search(term: str) -> ColumnElement[bool]:
    """The reference, the reporter's email or name, or the group number contains ``term``."""
    columns = (
        AccessIssue.reference,
        AccessIssue.reporter_email_key,
        AccessIssue.reporter_name,
        AccessIssue.group_number,
    )
    return or_(*(func.lower(c).contains(term, autoescape=True) for c in columns))


def _key_of(order: QueueOrder, row: AccessIssue) -> list[Any]:
    """Every cursor is ``[order name, due time or "", id]``, one shape for both orders."""
    due = (
        row.first_response_due_at.isoformat() if order.sort is QueueSort.FIRST_RESPONSE_DUE else ""
    )
    return [order.name, due, row.id]


def _after(stmt: Select[Any], order: QueueOrder, cursor: str) -> Select[Any]:
    """Rows past the cursor, written out column by column so each value is bound with its
    column's type (the due time is a UTC timestamp)."""
    name, due_text, last_id = decode_cursor(cursor, [str, str, int])
    _same_order(name, order)
    pk = AccessIssue.id
    if order.sort is QueueSort.CREATED_AT:
        return stmt.where(pk < last_id if order.descending else pk > last_id)
    due, col = _timestamp(due_text), AccessIssue.first_response_due_at
    if order.descending:
        return stmt.where(or_(col < due, and_(col == due, pk < last_id)))
    return stmt.where(or_(col > due, and_(col == due, pk > last_id)))


def _same_order(name: str, order: QueueOrder) -> None:
    if name != order.name:
        raise PageRequestError(
            "`after` is a cursor of another sort order; start again without `after`."
        )


def _timestamp(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise PageRequestError("`after` is not a cursor returned by this API.") from exc
    if value.tzinfo is None:
        raise PageRequestError("`after` is not a cursor returned by this API.")
    return value


def _order_by(order: QueueOrder) -> list[Any]:
    columns: list[Any] = [AccessIssue.id]
    if order.sort is QueueSort.FIRST_RESPONSE_DUE:
        columns.insert(0, AccessIssue.first_response_due_at)
    return [c.desc() if order.descending else c.asc() for c in columns]


async def queue_page(
    session: AsyncSession,
    *,
    flt: QueueFilter,
    order: QueueOrder,
    page: PageRequest,
    now: dt.datetime,
) -> Page[AccessIssue]:
    """One page of the queue: one statement, whatever the page size."""
    stmt = select(AccessIssue).where(*_conditions(flt, now))
    if page.after is not None:
        stmt = _after(stmt, order, page.after)
    rows = (await session.scalars(stmt.order_by(*_order_by(order)).limit(page.first + 1))).all()
    return finish_page(rows, page, lambda row: _key_of(order, row))


async def count_queue(session: AsyncSession, *, flt: QueueFilter, now: dt.datetime) -> int:
    stmt = select(func.count()).select_from(AccessIssue).where(*_conditions(flt, now))
    return int(await session.scalar(stmt) or 0)


async def entries_by_issue(
    session: AsyncSession, _principal: Principal, issue_ids: Sequence[int]
) -> Mapping[int, list[AccessIssueEntry]]:
    """Issue id -> its history, oldest first (one statement for a page of issues)."""
    stmt = (
        select(AccessIssueEntry)
        .where(AccessIssueEntry.issue_id.in_(issue_ids))
        .order_by(AccessIssueEntry.id)
    )
    found: dict[int, list[AccessIssueEntry]] = defaultdict(list)
    for entry in await session.scalars(stmt):
        found[entry.issue_id].append(entry)
    return found


async def users_by_ids(
    session: AsyncSession, _principal: Principal, user_ids: Sequence[int]
) -> Mapping[int, User]:
    """User id -> the user (reporters, subjects, assignees and authors named by issues)."""
    rows = await session.scalars(select(User).where(User.id.in_(user_ids)))
    return {user.id: user for user in rows}

"""Eligibility files and their error reports, scoped to the caller's groups in SQL (area
``eligibility``: the report names members)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from db.models import EligibilityFile, EligibilityFileProblem, FileStatus
from db.queries.paging import Keyset, Page, PageRequest, fetch_page, fetch_pages
from db.queries.scope import scoped

AREA = "eligibility"
_NEWEST_FIRST = Keyset(
    EligibilityFile, (EligibilityFile.id,), lambda row: [row.id], descending=True, name="newest"
)
_IN_FILE_ORDER = Keyset(
    EligibilityFileProblem,
    (EligibilityFileProblem.position, EligibilityFileProblem.id),
    lambda row: [row.position, row.id],
    name="position",
)
REPORT_BATCH = 1_000


def _files(principal: Principal) -> Select[EligibilityFile]:
    return scoped(select(EligibilityFile), principal, EligibilityFile.group_id, AREA)


async def files_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, EligibilityFile]:
    stmt = _files(principal).where(EligibilityFile.id.in_(ids))
    return {row.id: row for row in await session.scalars(stmt)}


async def files_pages(
    session: AsyncSession, principal: Principal, *, group_ids: Sequence[int], page: PageRequest
) -> dict[int, Page[EligibilityFile]]:
    """The same page of each group's files, newest first, in one statement."""
    stmt = _files(principal).where(EligibilityFile.group_id.in_(group_ids))
    if len(group_ids) == 1:
        return {group_ids[0]: await fetch_page(session, stmt, _NEWEST_FIRST, page)}
    return await fetch_pages(session, stmt, _NEWEST_FIRST, page, EligibilityFile.group_id)


async def count_files(
    session: AsyncSession, principal: Principal, *, group_ids: Sequence[int]
) -> dict[int, int]:
    stmt = (
        _files(principal)
        .where(EligibilityFile.group_id.in_(group_ids))
        .with_only_columns(EligibilityFile.group_id, func.count())
        .group_by(EligibilityFile.group_id)
    )
    return dict((await session.execute(stmt)).all())


def _problems(principal: Principal, file_id: int) -> Select[EligibilityFileProblem]:
    stmt = (
        select(EligibilityFileProblem)
        .join(EligibilityFile, EligibilityFile.id == EligibilityFileProblem.file_id)
        .where(EligibilityFileProblem.file_id == file_id)
    )
    return scoped(stmt, principal, EligibilityFile.group_id, AREA)


async def problems_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, EligibilityFileProblem]:
    stmt = scoped(
        select(EligibilityFileProblem)
        .join(EligibilityFile, EligibilityFile.id == EligibilityFileProblem.file_id)
        .where(EligibilityFileProblem.id.in_(ids)),
        principal,
        EligibilityFile.group_id,
        AREA,
    )
    return {row.id: row for row in await session.scalars(stmt)}


async def problems_page(
    session: AsyncSession, principal: Principal, *, file_id: int, page: PageRequest
) -> Page[EligibilityFileProblem]:
    """A file's report in file order (line or segment)."""
    return await fetch_page(session, _problems(principal, file_id), _IN_FILE_ORDER, page)


async def report_rows(
    session: AsyncSession, principal: Principal, *, file_id: int
) -> AsyncIterator[EligibilityFileProblem]:
    """The whole report in file order, fetched in batches (the CSV download streams it)."""
    stmt = _problems(principal, file_id).order_by(
        EligibilityFileProblem.position, EligibilityFileProblem.id
    )
    result = await session.stream_scalars(stmt.execution_options(yield_per=REPORT_BATCH))
    async for row in result:
        yield row


def _awaiting(principal: Principal) -> Select[EligibilityFile]:
    return _files(principal).where(EligibilityFile.status == FileStatus.AWAITING_APPROVAL)


async def awaiting_approval_page(
    session: AsyncSession, principal: Principal, page: PageRequest
) -> Page[EligibilityFile]:
    """Full files held for a rep, newest first."""
    return await fetch_page(session, _awaiting(principal), _NEWEST_FIRST, page)


async def awaiting_approval_count(session: AsyncSession, principal: Principal) -> int:
    stmt = _awaiting(principal).with_only_columns(func.count(), maintain_column_froms=True)
    return int(await session.scalar(stmt) or 0)

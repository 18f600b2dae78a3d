"""Keyset pagination (CONVENTIONS §2.6): ``WHERE (k1, k2, id) > cursor ORDER BY ... LIMIT n+1``.

Cursors are opaque to clients: URL-safe base64 of the JSON list of the sort-key values of
the last row returned. The statements issued never depend on the page size, and pages of
a nested list (say, the members of each group on a page of groups) come from one
statement for all parents, numbered with ``row_number() OVER (PARTITION BY parent)``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class PageRequestError(ValueError):
    """A page argument the client must fix (message says how)."""


@dataclass(frozen=True, slots=True)
class PageRequest:
    """``first`` rows after the row that ``after`` points at."""

    first: int = DEFAULT_PAGE_SIZE
    after: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.first <= MAX_PAGE_SIZE:
            raise PageRequestError(
                f"`first` must be between 1 and {MAX_PAGE_SIZE} (the maximum page size); "
                f"got {self.first}."
            )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool

    @classmethod
    def empty(cls, page: PageRequest) -> Page[T]:
        return cls(
            rows=[], cursors=[], has_next_page=False, has_previous_page=page.after is not None
        )


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode()


def _load_cursor(cursor: str) -> Any:
    try:
        return orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise PageRequestError("`after` is not a cursor returned by this API.") from exc


def decode_cursor(cursor: str, types: Sequence[type]) -> list[Any]:
    """The key values inside ``cursor``; refuses anything this API did not hand out."""
    values = _load_cursor(cursor)
    if not (isinstance(values, list) and len(values) == len(types)) or not all(
        type(value) is expected for value, expected in zip(values, types, strict=True)
    ):
        raise PageRequestError("`after` is not a cursor returned by this API.")
    return values


@dataclass(frozen=True, slots=True)
class Keyset(Generic[T]):
    """A list order: sort-key columns of ``entity`` (the last one unique) and how to read
    those keys off a loaded row.

    A ``name``d keyset writes its name into its cursors and refuses a cursor of another
    order (say, one from the same list sorted differently). Date keys travel as ISO strings.
    """

    entity: type[T]
    columns: tuple[QueryableAttribute[Any], ...]
    key_of: Callable[[T], list[Any]]
    descending: bool = False
    name: str | None = None

    @property
    def order_by(self) -> list[Any]:
        return [c.desc() if self.descending else c.asc() for c in self.columns]

    def cursor_key(self, row: T) -> list[Any]:
        """What the row's cursor encodes: the order's name (when named), then the keys."""
        key = self.key_of(row)
        return key if self.name is None else [self.name, *key]

    def decode(self, cursor: str) -> list[Any]:
        """The key values of ``cursor``, refused when it belongs to another order."""
        types = [column.type.python_type for column in self.columns]
        if self.name is None:
            return decode_cursor(cursor, types)
        raw = _load_cursor(cursor)
        if isinstance(raw, list) and raw and isinstance(raw[0], str) and raw[0] != self.name:
            raise PageRequestError(
                "`after` is a cursor of another sort order; start again without `after`."
            )
        _, *values = decode_cursor(cursor, [str, *(_json_type(t) for t in types)])
        return [_from_json(value, t) for value, t in zip(values, types, strict=True)]


def _json_type(python_type: type) -> type:
    return str if issubclass(python_type, dt.date) else python_type


def _from_json(value: Any, python_type: type) -> Any:
    if python_type is dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise PageRequestError("`after` is not a cursor returned by this API.") from exc
    return value


def _after_cursor(stmt: Select[T], keyset: Keyset[T], page: PageRequest) -> Select[T]:
    if page.after is None:
        return stmt
    cursor = keyset.decode(page.after)
    if keyset.descending:
        return stmt.where(tuple_(*keyset.columns) < tuple_(*cursor))
    return stmt.where(tuple_(*keyset.columns) > tuple_(*cursor))


async def fetch_page(
    session: AsyncSession, stmt: Select[T], keyset: Keyset[T], page: PageRequest
) -> Page[T]:
    """One page of ``stmt`` in keyset order: an index-friendly ``LIMIT n+1``."""
    limited = _after_cursor(stmt, keyset, page).order_by(*keyset.order_by).limit(page.first + 1)
    rows = (await session.scalars(limited)).all()
    return finish_page(rows, page, keyset.cursor_key)


async def fetch_pages(
    session: AsyncSession,
    stmt: Select[T],
    keyset: Keyset[T],
    page: PageRequest,
    partition: QueryableAttribute[int],
) -> dict[int, Page[T]]:
    """The same page of ``stmt`` for every parent in one statement, by ``partition``.
    Parents without rows are absent."""
    rank = func.row_number().over(partition_by=partition, order_by=keyset.order_by)
    ranked = _after_cursor(stmt, keyset, page).add_columns(rank.label("page_rank")).subquery()
    row = aliased(keyset.entity, ranked)
    outer = select(row).where(ranked.c.page_rank <= page.first + 1).order_by(ranked.c.page_rank)
    rows: dict[int, list[T]] = defaultdict(list)
    for found in await session.scalars(outer):
        rows[getattr(found, partition.key)].append(found)
    return {parent: finish_page(found, page, keyset.cursor_key) for parent, found in rows.items()}


def finish_page(
    rows: Sequence[T], page: PageRequest, key_of: Callable[[T], Sequence[Any]]
) -> Page[T]:
    """Trim the look-ahead row and attach each row's cursor."""
    kept = list(rows[: page.first])
    return Page(
        rows=kept,
        cursors=[encode_cursor(key_of(row)) for row in kept],
        has_next_page=len(rows) > page.first,
        has_previous_page=page.after is not None,
    )

"""Keyset pagination (CONVENTIONS §2.6): ``WHERE (k1, k2, id) > cursor ORDER BY ... LIMIT n+1``.

Cursors are opaque to clients: URL-safe base64 of the JSON list of the sort-key values of
the last row returned. The statements issued never depend on the page size.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import ColumnElement, Select, tuple_

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


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode()


def decode_cursor(cursor: str, types: Sequence[type]) -> list[Any]:
    """The key values inside ``cursor``; refuses anything this API did not hand out."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise PageRequestError("`after` is not a cursor returned by this API.") from exc
    if not (isinstance(values, list) and len(values) == len(types)) or not all(
        type(value) is expected for value, expected in zip(values, types, strict=True)
    ):
        raise PageRequestError("`after` is not a cursor returned by this API.")
    return values


def keyset_page(
    stmt: Select[Any], keys: Sequence[ColumnElement[Any]], page: PageRequest
) -> Select[Any]:
    """``stmt`` ordered by ``keys`` (the last must be unique), after the cursor, n+1 rows."""
    if page.after is not None:
        types = [key.type.python_type for key in keys]
        stmt = stmt.where(tuple_(*keys) > tuple_(*decode_cursor(page.after, types)))
    return stmt.order_by(*keys).limit(page.first + 1)


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

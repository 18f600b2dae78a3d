"""Relay connections built from keyset pages, with a lazily counted ``totalCount``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry import relay

from db.queries.paging import Page

N = TypeVar("N", bound=relay.Node)

Counter = Callable[[], Awaitable[int]]

PageSize = Annotated[int, strawberry.argument(description="Page size, 1 to 100.")]
"""The ``first`` argument of a connection field (``PageRequest`` refuses more than 100)."""
AfterCursor = Annotated[
    str | None, strawberry.argument(description="`endCursor` of the previous page.")
]
"""The ``after`` argument of a connection field."""


@strawberry.type(description="A page of a list, with the total number of matching items.")
class CountedConnection(relay.Connection[N]):
    counter: strawberry.Private[Counter]

    @strawberry.field(description="How many items match, across all pages.")
    async def total_count(self) -> int:
        return await self.counter()


C = TypeVar("C", bound=CountedConnection[Any])


def build_connection(
    cls: type[C], page: Page[Any], node: Callable[[Any], Any], counter: Counter
) -> C:
    """Wrap a keyset ``page`` in the connection type ``cls``."""
    edges = [
        relay.Edge(cursor=cursor, node=node(row))
        for row, cursor in zip(page.rows, page.cursors, strict=True)
    ]
    page_info = relay.PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )
    return cls(edges=edges, page_info=page_info, counter=counter)

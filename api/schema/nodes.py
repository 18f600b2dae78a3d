"""Relay node resolution through the per-request, scoped loaders (CONVENTIONS §2.2)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

T = TypeVar("T")
_NEVER_A_ROW = -1


def _pk(node_id: str) -> int:
    """The row id inside a global ID; anything else can match no row."""
    return int(node_id) if node_id.isdigit() and len(node_id) < 19 else _NEVER_A_ROW


async def load_nodes(
    node_ids: Iterable[str],
    loader: DataLoader[int, Any],
    from_row: Callable[[Any], T],
) -> list[T | None]:
    """Nodes in the order asked; ``None`` for ids that do not exist or are out of scope."""
    rows = await loader.load_many([_pk(node_id) for node_id in node_ids])
    return [None if row is None else from_row(row) for row in rows]

"""Rows that mutations act on, by global ID, through the request's scoped loaders.

An ID of another type, or of a row the caller cannot see, is "not found": the same
``userError`` either way, so another group's data is indistinguishable from none
(SPEC §3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

import strawberry
from strawberry import relay

from api.services.rules import Problem, RuleViolation
from db import models

T = TypeVar("T")


def pk_of(gid: relay.GlobalID, type_name: str) -> int:
    """The row id in a global ID of ``type_name``; -1 (no row) for anything else."""
    node = gid.node_id
    ok = gid.type_name == type_name and node.isdigit() and len(node) < 19
    return int(node) if ok else -1


def _pk(gid: relay.GlobalID, type_name: str) -> int | None:
    pk = pk_of(gid, type_name)
    return None if pk < 0 else pk


async def visible_group(
    info: strawberry.Info, gid: relay.GlobalID, *, field: tuple[str, ...]
) -> models.Group:
    """The group ``gid`` names; ``GROUP_NOT_FOUND`` at ``field`` when there is none."""
    pk = _pk(gid, "Group")
    row = None if pk is None else await info.context.loaders.group.load(pk)
    if row is None:
        message = "No group with this ID; pass the `id` of a group you can see."
        raise RuleViolation([Problem("GROUP_NOT_FOUND", message, field)])
    group: models.Group = row
    return group


async def visible_contact(
    info: strawberry.Info, gid: relay.GlobalID, *, field: tuple[str, ...]
) -> models.GroupContact:
    """The contact ``gid`` names; ``CONTACT_NOT_FOUND`` at ``field`` when there is none."""
    pk = _pk(gid, "GroupContact")
    row = None if pk is None else await info.context.loaders.contact.load(pk)
    if row is None:
        message = "No contact with this ID; pass the `id` of one of a group's contacts."
        raise RuleViolation([Problem("CONTACT_NOT_FOUND", message, field)])
    contact: models.GroupContact = row
    return contact


def staff_node_ids(info: strawberry.Info, node_ids: Iterable[str], scope: str) -> list[int]:
    """The row ids among ``node_ids`` of a node only staff with ``scope`` find (runs,
    worklist items, grace extensions): none for anybody else, so they find nothing."""
    if not info.context.principal.has_scope(scope):
        return []
    return [int(n) for n in node_ids if n.isdigit() and len(n) < 19]


def in_request_order(node_ids: Iterable[str], found: Mapping[int, T]) -> list[T | None]:
    """``found`` (by row id) in the order of ``node_ids``, None where missing."""
    return [found.get(int(n)) if n.isdigit() and len(n) < 19 else None for n in node_ids]

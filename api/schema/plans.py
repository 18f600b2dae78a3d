"""Plans: the carrier's dental products."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

import strawberry
from strawberry import relay

from api.schema.enums import PlanType
from api.schema.nodes import load_nodes
from db import models


@strawberry.type(description="A dental product in the carrier's catalogue.")
class Plan(relay.Node):
    pk: relay.NodeID[int]
    code: str = strawberry.field(description="Business key of the plan, e.g. `DPPO-PLUS`.")
    name: str = strawberry.field(description="Name shown to groups and members.")
    description: str = strawberry.field(description="What the plan covers, in plain words.")
    plan_type: PlanType = strawberry.field(description="Kind of product.")

    @classmethod
    def from_row(cls, row: models.Plan) -> Self:
        return cls(
            pk=row.id,
            code=row.code,
            name=row.name,
            description=row.description,
            plan_type=row.plan_type,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(node_ids, info.context.loaders.plan, cls.from_row)

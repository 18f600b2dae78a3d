"""The caller of a request, as every scoped query sees it.

Row scoping (SPEC §3: a benefit leader only ever sees the groups granted to them) reads
``group_ids``: ``None`` means every group (internal staff and systems), otherwise exactly
the groups granted. The identity issue builds principals from tokens; until then the
service runs only in development, where every request is the development principal.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    group_ids: frozenset[int] | None

    @property
    def sees_all_groups(self) -> bool:
        return self.group_ids is None


DEVELOPMENT_PRINCIPAL = Principal(subject="development", scopes=frozenset({"*"}), group_ids=None)

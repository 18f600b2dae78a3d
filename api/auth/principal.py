"""The caller of a request, as every permission check and scoped query sees it.

Row scoping (SPEC §3: a benefit leader only ever sees the groups granted to them) reads
``group_ids``: ``None`` means every group (internal staff and systems), otherwise exactly
the groups granted. ``scopes`` are already the effective scopes (token ∩ roles).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from api.auth.policy import ACCESS_REPORT
from db.models import AccessLevel, Role


@dataclass(frozen=True, slots=True)
class Grant:
    """A benefit leader's access to one group."""

    group_id: int
    billing: AccessLevel
    eligibility: AccessLevel
    group_admin: bool

    def level(self, area: str) -> AccessLevel:
        return self.billing if area == "billing" else self.eligibility


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    internal: bool
    user_id: int | None = None
    client_id: str | None = None
    roles: frozenset[Role] = frozenset()
    grants: Mapping[int, Grant] = field(default_factory=dict)
    token_id: str | None = None

    @property
    def group_ids(self) -> frozenset[int] | None:
        """``None``: every group; otherwise the granted groups only."""
        return None if self.internal else frozenset(self.grants)

    @property
    def sees_all_groups(self) -> bool:
        return self.internal

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def may_access(self, group_id: int, area: str, needed: AccessLevel) -> bool:
        """Internal callers reach every group; a leader needs a grant at ``needed`` or above."""
        if self.internal:
            return True
        grant = self.grants.get(group_id)
        return grant is not None and grant.level(area).allows(needed)


ANONYMOUS = Principal(subject="anonymous", scopes=frozenset({ACCESS_REPORT}), internal=False)
"""A caller without a token: it may only report an access issue (SPEC §2 Web access: a
locked-out user cannot sign in), sees no group and is nobody in the audit log. The view
lets it run nothing but a lone ``accessIssueReport`` (``api.auth.anonymous_report``)."""

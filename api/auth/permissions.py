"""Layer 1 of authorization: the permission every root and list field declares
(CONVENTIONS §3). Layer 2, row scoping, lives in ``db/queries``.

``requires(scope)`` is the only way fields declare a policy; a test walks the schema and
fails on any root or list field without one (deny by default). A denial is a
``FORBIDDEN`` error and is written to the audit log.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from api.auth.policy import REP_GROUPS, USERS_MANAGE
from api.services.web_access_rules import authority_over, managed_group_ids
from db.models import AccessLevel, AuditOutcome


class Requires(BasePermission):
    """The effective scope, and for fields of a group, the caller's access to that group."""

    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012  (Strawberry's class attribute)

    def __init__(
        self, scope: str, *, area: str | None = None, level: AccessLevel = AccessLevel.VIEW
    ):
        self.scope = scope
        self.area = area
        self.level = level
        self.message = f"You do not have permission for this ({scope})."

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        context = info.context
        allowed = context.principal.has_scope(self.scope) and self._group_allows(source, context)
        if not allowed:
            context.audit.record(
                f"denied:{info.path.typename}.{info.field_name}",
                outcome=AuditOutcome.DENIED,
                changes={"needs": self.scope},
            )
        return bool(allowed)

    def _group_allows(self, source: Any, context: Any) -> bool:
        if self.area is None:
            return True
        return bool(context.principal.may_access(source.pk, self.area, self.level))


def requires(
    scope: str, *, area: str | None = None, level: AccessLevel = AccessLevel.VIEW
) -> list[FieldExtension]:
    """The extensions list for ``@strawberry.field(extensions=...)``."""
    return [
        PermissionExtension(
            permissions=[Requires(scope, area=area, level=level)], use_directives=False
        )
    ]


class SignedIn(BasePermission):
    """Any authenticated caller (the view refuses everyone else before execution)."""

    error_extensions = {"code": "UNAUTHENTICATED"}  # noqa: RUF012
    message = "Sign in first."

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return info.context.principal is not None


def signed_in() -> list[FieldExtension]:
    """The declared policy of fields every caller may read about themselves."""
    return [PermissionExtension(permissions=[SignedIn()], use_directives=False)]


class ManagesPortalUsers(BasePermission):
    """Managing portal users (SPEC §2 Web access): representatives (``rep:groups``) and
    group admins (``users:manage``). On a field of a group, only a representative or an
    admin of *that* group passes (``api.services.web_access_rules.authority_over``)."""

    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012  (Strawberry's class attribute)
    message = "You do not have permission to manage portal users (rep:groups or users:manage)."

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        group_id = getattr(source, "pk", None)
        if group_id is None:
            allowed = managed_group_ids(principal) != frozenset()
        else:
            allowed = authority_over(principal, group_id) is not None
        if not allowed:
            info.context.audit.record(
                f"denied:{info.path.typename}.{info.field_name}",
                outcome=AuditOutcome.DENIED,
                changes={"needs": f"{REP_GROUPS} or {USERS_MANAGE}"},
            )
        return allowed


def manages_portal_users() -> list[FieldExtension]:
    """The extensions list of web-access fields (see ``ManagesPortalUsers``)."""
    return [PermissionExtension(permissions=[ManagesPortalUsers()], use_directives=False)]

"""How errors leave the server (OWASP GraphQL cheat sheet; SPEC §4).

One extension decides, for every error of every operation:
- client errors (bad arguments, malformed IDs, cursors) keep their message and get
  ``extensions.code = BAD_USER_INPUT``;
- parse and validation errors keep their message, without "Did you mean…" suggestions
  (which would leak the schema when introspection is off);
- anything else is a bug: logged in full with the request's correlation id, and masked in
  production as "Unexpected error." with ``INTERNAL_SERVER_ERROR`` and that id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import structlog
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError

from db.queries.paging import PageRequestError

logger = structlog.get_logger(__name__)

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
_CLIENT_ERRORS: tuple[type[Exception], ...] = (PageRequestError,)
INVALID_ID_MESSAGE = "This is not a valid ID: pass an `id` returned by this API."


class ErrorPolicy(SchemaExtension):
    """Classify, clean and (in production) mask every error of the result."""

    def __init__(self, *, mask_unexpected: bool) -> None:
        self.mask_unexpected = mask_unexpected

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [self._process(error) for error in result.errors]

    def _process(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, GlobalIDValueError):
            return _rebuild(error, INVALID_ID_MESSAGE, {"code": "BAD_USER_INPUT"})
        if original is None or isinstance(original, GraphQLError):
            return _rebuild(error, _SUGGESTION.sub("", error.message), error.extensions)
        if isinstance(original, _CLIENT_ERRORS):
            return _rebuild(error, str(original), {"code": "BAD_USER_INPUT"})
        return self._unexpected(error)

    def _unexpected(self, error: GraphQLError) -> GraphQLError:
        context = self.execution_context.context
        correlation_id = getattr(context, "request_id", "-")
        logger.error(
            "unexpected error",
            correlation_id=correlation_id,
            path=error.path,
            exc_info=error.original_error,
        )
        message = "Unexpected error." if self.mask_unexpected else error.message
        extensions = {"code": "INTERNAL_SERVER_ERROR", "correlationId": correlation_id}
        return _rebuild(error, message, extensions)


def _rebuild(
    error: GraphQLError, message: str, extensions: dict[str, object] | None
) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions or None,
    )

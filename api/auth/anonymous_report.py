"""Which request may run without a token: exactly one mutation whose only root field is
``accessIssueReport`` (issue 9: "the only operation that works without a token").

The check is on the document itself, parsed with graphql-core before anything runs, and
deliberately narrow: one JSON operation (no batch, no multipart), one operation
definition, no fragments, and a root selection of that one field, unaliased and without
directives. Anything else without a token is refused with 401 as before.
"""

from __future__ import annotations

import orjson
from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
)
from starlette.requests import Request

ANONYMOUS_FIELD = "accessIssueReport"


async def is_anonymous_report(request: Request, max_tokens: int) -> bool:
    """Whether the request's body is a lone ``accessIssueReport`` mutation."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        return False
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return False
    query = body.get("query") if isinstance(body, dict) else None
    return isinstance(query, str) and only_report(query, max_tokens)


def only_report(query: str, max_tokens: int) -> bool:
    """The document is one mutation selecting ``accessIssueReport`` and nothing else."""
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return False
    if len(document.definitions) != 1:
        return False
    operation = document.definitions[0]
    if not isinstance(operation, OperationDefinitionNode):
        return False
    if operation.operation is not OperationType.MUTATION or operation.directives:
        return False
    selections = operation.selection_set.selections
    return len(selections) == 1 and _is_report_field(selections[0])


def _is_report_field(selection: object) -> bool:
    return (
        isinstance(selection, FieldNode)
        and selection.name.value == ANONYMOUS_FIELD
        and selection.alias is None
        and not selection.directives
    )

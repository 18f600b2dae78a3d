"""Bounds on what one request may ask for (OWASP GraphQL cheat sheet)."""

from __future__ import annotations

from typing import Any

from graphql import ASTValidationRule, DocumentNode, visit
from graphql.language import Visitor
from graphql.validation.validate import ValidationAbortedError


class _DirectiveCounter(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def enter_directive(self, *_args: Any) -> None:
        self.count += 1


def max_directives_rule(limit: int) -> type[ASTValidationRule]:
    """A rule that refuses documents with more than ``limit`` directives, before any other
    rule reports one error per repeated (unknown) directive."""

    class MaxDirectives(ASTValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            counter = _DirectiveCounter()
            visit(node, counter)
            if counter.count > limit:
                # Aborting here keeps the response to this one error.
                raise ValidationAbortedError(
                    f"The document has {counter.count} directives; at most {limit} are allowed."
                )

    return MaxDirectives

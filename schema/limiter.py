"""The request limits (``schema/limits.py``) enforced on a query before it is validated.

Strawberry 0.341 handles a request in this order: parse (``MaxTokensLimiter`` caps the
tokens), choose the operation, run each extension's ``on_validate`` hook in the schema's
order (``ValidationCache`` validates in its hook), then execute. ``QueryLimiter`` checks in
the first of those hooks, so a document over a limit is refused before graphql-core's
validation and before any resolver, and each check is linear in the document
(``schema/shape.py``, ``schema/cost.py``: every fragment walked once): before issue 14, the
depth and alias limits were validation rules that walked every fragment spread again, and a
document of fragments spreading each other held a worker for minutes.

The checks, the first failure refusing the request with one error:

- fragments that spread each other in a cycle, and an operation deeper than ``max_depth``
  or a document with more than ``max_aliases`` aliases, fragments expanded: the messages of
  the strawberry limiters these replace, coded ``GRAPHQL_VALIDATION_FAILED`` by
  ``Schema.process_errors`` like any validation error;
- the chosen operation's estimated cost over ``max_cost``: ``QUERY_TOO_COSTLY``, with the
  estimate. It depends on the variables and on how many items the root lists hold
  (``Context.list_size``), so it is worked out for each request.

An error raised in the hook is the request's only error: strawberry answers it as a
pre-execution error, with no data.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
)
from strawberry.extensions import SchemaExtension

from schema.cost import query_cost
from schema.limits import Limits
from schema.shape import fragments_of, shape_of

QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"


class QueryLimiter(SchemaExtension):
    """Refuses a query over ``limits`` before validation (see the module's docstring)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            limits = self.limits
            shape = shape_of(document)  # raises FragmentCycle, a validation error
            for name, depth in shape.depths:
                if depth > limits.max_depth:
                    raise GraphQLError(
                        f"'{name}' exceeds maximum operation depth of {limits.max_depth}"
                    )
            if shape.aliases > limits.max_aliases:
                raise GraphQLError(f"{shape.aliases} aliases found. Allowed: {limits.max_aliases}")
            operation = _chosen(document, context.operation_name)
            if operation is not None:
                counted = getattr(context.context, "list_size", lambda _: None)
                cost = query_cost(
                    context.schema._schema,
                    operation,
                    fragments_of(document),
                    context.variables or {},
                    counted,
                )
                if cost > limits.max_cost:
                    raise GraphQLError(
                        f"the query's estimated cost is {cost}, over the limit of "
                        f"{limits.max_cost}; ask for smaller pages or fewer fields",
                        extensions={"code": QUERY_TOO_COSTLY},
                    )
        yield


def _chosen(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation a request runs: the one named, or the first."""
    return next(
        (
            d
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
            and (name is None or (d.name is not None and d.name.value == name))
        ),
        None,
    )

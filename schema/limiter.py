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

- a document of several operations without ``operationName``: ``BAD_REQUEST`` (the GraphQL
  spec's request error; Strawberry would run the first);

- fragments that spread each other in a cycle, and an operation deeper than ``max_depth``
  or a document with more than ``max_aliases`` aliases, fragments expanded: the messages of
  the strawberry limiters these replace, coded ``GRAPHQL_VALIDATION_FAILED`` by
  ``Schema.process_errors`` like any validation error;
- the chosen operation's estimated cost over ``max_cost``: ``QUERY_TOO_COSTLY``, with the
  estimate. It depends on the variables and on how many items the root lists hold
  (``Context.list_size``), so it is worked out for each request.

An error raised in the hook is the request's only error: strawberry answers it as a
pre-execution error, with no data.

Validation itself has one rule whose work grows faster than the document: the check that
fields of one response name can merge compares them in pairs, and again below each pair.
Measured on two cores, 400 copies of ``fiscalYears { year }`` (8 KB) took 0.9 s to
validate, and a tree of ``history`` fields each holding two more, eight levels deep (7.7
KB), 0.7 s; graphql-core stops the rule after 500,000 steps, about 1.3 s. ``QueryLimiter``
puts ``BoundedOverlappingFields`` in its place, which stops after ``OVERLAP_BUDGET`` steps
(10 to 25 ms of CPU on those shapes and others); every query of the portal and of
``docs/examples`` takes none (they repeat no field), and ten fragments on one type that
share their fields about 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    OverlappingFieldsCanBeMergedRule,
    ValidationContext,
    value_from_ast_untyped,
)
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension

from schema.cost import query_cost
from schema.errors import PublicError
from schema.limits import Limits
from schema.operation_labels import chosen_operation, requested_name
from schema.shape import fragments_of, shape_of

QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"  # as the strawberry limiters these replace

# Steps of the overlapping-fields rule a document may take (see the module's docstring).
OVERLAP_BUDGET = 10_000


class BoundedOverlappingFields(OverlappingFieldsCanBeMergedRule):
    """graphql-core's rule that fields of one response name can merge, stopped after
    ``OVERLAP_BUDGET`` steps with a message that says what to change."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.rule_context.remaining_complexity_budget = OVERLAP_BUDGET

    def enter_selection_set(self, *args: Any) -> None:
        try:
            super().enter_selection_set(*args)
        except ValidationAbortedError:
            raise ValidationAbortedError(
                "the query selects the same fields too many times to check that they "
                "merge; select each field once"
            ) from None


class QueryLimiter(SchemaExtension):
    """Refuses a query over ``limits`` before validation (see the module's docstring)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = tuple(
            BoundedOverlappingFields if rule is OverlappingFieldsCanBeMergedRule else rule
            for rule in context.validation_rules
        )
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            # Strawberry would run the first operation (the tests hold this).
            if requested_name(context) is None and _operations(document) > 1:
                raise GraphQLError(
                    "the document holds several operations: say which to run in operationName",
                    extensions={"code": "BAD_REQUEST"},
                )
            limits = self.limits
            shape = shape_of(document)  # raises FragmentCycle, a validation error
            for name, depth in shape.depths:
                if depth > limits.max_depth:
                    raise _refused(
                        f"'{name}' exceeds maximum operation depth of {limits.max_depth}",
                        VALIDATION_FAILED,
                        "QUERY_TOO_DEEP",
                        limit=limits.max_depth,
                    )
            if shape.aliases > limits.max_aliases:
                raise _refused(
                    f"{shape.aliases} aliases found. Allowed: {limits.max_aliases}",
                    VALIDATION_FAILED,
                    "TOO_MANY_ALIASES",
                    count=shape.aliases,
                    limit=limits.max_aliases,
                )
            operation = chosen_operation(context)
            if operation is not None:
                counted = getattr(context.context, "list_size", lambda _: None)
                cost = query_cost(
                    context.schema._schema,
                    operation,
                    fragments_of(document),
                    _with_defaults(operation, context.variables or {}),
                    counted,
                )
                if cost > limits.max_cost:
                    raise _refused(
                        f"the query's estimated cost is {cost}, over the limit of "
                        f"{limits.max_cost}; ask for smaller pages or fewer fields",
                        QUERY_TOO_COSTLY,
                        QUERY_TOO_COSTLY,
                        cost=cost,
                        limit=limits.max_cost,
                    )
        yield


def _refused(message: str, code: str, reason: str, **params: object) -> GraphQLError:
    """A limit's refusal: its code, and a reason with a Japanese text (``schema.messages``)."""
    return GraphQLError(
        message,
        extensions={"code": code, "reason": reason},
        original_error=PublicError(message, code, reason=reason, **params),
    )


def _operations(document: DocumentNode) -> int:
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


def _with_defaults(operation: OperationDefinitionNode, given: dict[str, Any]) -> dict[str, Any]:
    """The variables as the operation will see them: those given, and the defaults its
    definitions declare for the others (a page size or a list of IDs can hide there)."""
    variables = dict(given)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in variables and definition.default_value is not None:
            variables[name] = value_from_ast_untyped(definition.default_value)
    return variables

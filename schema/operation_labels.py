"""The label of a request's GraphQL operation, for the server's figures and access line.

A label is the root fields the chosen operation selects, sorted and joined by "," (aliases
and the client's operation name play no part, so the schema bounds the labels); UNKNOWN
when one of them is not in the schema; INVALID when no operation can be chosen (a document
that does not parse, several operations and no name, no operation of the name given) or
GraphQL never ran (an unreadable or refused request).

``LabelOperations`` works it out from the document Strawberry parsed, as soon as it is
parsed, so an operation refused later (invalid, a mutation over GET) has its label too. It
leaves it in the ``Operation`` that the request's handler put in ``OPERATION``
(``server.middleware``): the request runs in a worker thread with a copy of the handler's
context variables, which holds that same object.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from schema.choices import INVALID, UNKNOWN
from schema.shape import fragments_of

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass
class Operation:
    """What the figures and the access line say of a request's GraphQL operation."""

    label: str = INVALID
    name: str | None = None  # its own name, when a GraphQL name of at most 64 characters


OPERATION: contextvars.ContextVar[Operation | None] = contextvars.ContextVar(
    "operation", default=None
)


def requested_name(context: ExecutionContext) -> str | None:
    """The operation name the request gave (Strawberry's ``operation_name`` falls back to
    the first operation's)."""
    named: str | None = getattr(context, "_provided_operation_name", None)
    return named


def chosen_operation(context: ExecutionContext) -> OperationDefinitionNode | None:
    """The operation the request runs: the one named, or the document's only one."""
    document = context.graphql_document
    if document is None:
        return None
    named = requested_name(context)
    operations = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (named is None or (d.name is not None and d.name.value == named))
    ]
    return operations[0] if len(operations) == 1 else None


class LabelOperations(SchemaExtension):
    """Labels the request's operation in ``OPERATION``, when a handler put one there."""

    def on_parse(self) -> Iterator[None]:
        yield
        found = OPERATION.get()
        if found is None:
            return
        context = self.execution_context
        operation = chosen_operation(context)
        if operation is None:
            found.label, found.name = INVALID, None
            return
        assert context.graphql_document is not None
        name = operation.name.value if operation.name is not None else None
        found.name = name if name is not None and _NAME.fullmatch(name) else None
        found.label = _label(context.schema._schema, operation, context.graphql_document)


def _label(
    schema: GraphQLSchema, operation: OperationDefinitionNode, document: DocumentNode
) -> str:
    fields = set(_root_fields(operation.selection_set, fragments_of(document), set()))
    if not fields:
        return INVALID
    root = schema.get_root_type(operation.operation)
    query = operation.operation == OperationType.QUERY
    meta = {"__typename", "__schema", "__type"} if query else {"__typename"}
    if root is None or not fields <= set(root.fields) | meta:
        return UNKNOWN
    return ",".join(sorted(fields))


def _root_fields(
    selections: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: set[str],
) -> Iterator[str]:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value  # the field, not its alias: the schema bounds those
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            if selection.name.value in fragments:
                yield from _root_fields(
                    fragments[selection.name.value].selection_set, fragments, seen
                )

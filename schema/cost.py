"""A query-cost limit: an estimate of how much a query asks for, checked before it runs.

Depth, alias and token limits bound the shape of a query but not its size: fifteen aliases
of ``measures(first: 100)`` each asking for every measure's document text stay within all
three and still ask for megabytes. The cost estimates the number of values a query can
produce, with the variables applied:

- every field costs its weight (1, or ``WEIGHTS`` for fields that carry a whole text or
  work out a measure's history), times the number of times it can appear;
- inside a connection, ``edges`` appear ``first`` times (the default page size without it);
- inside any other list, items appear as often as the archive holds them for the root lists
  (``documents``, ``departments``, ``fiscalYears``: counted), or ``LIST_SIZES`` times (an
  estimate of a typical list);
- a fragment costs as much each time it is spread.

A query over the limit is refused before anything runs, with ``QUERY_TOO_COSTLY`` and its
estimate, so a client can see what to trim.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from strawberry.extensions import SchemaExtension

from schema.pagination import DEFAULT_PAGE_SIZE

QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"

# Fields that carry a whole document's text weigh as much as a hundred ordinary values.
WEIGHTS: Mapping[str, int] = {
    "Document.rawText": 250,
    "Document.text": 250,
    # Each works out the measure's history over every year of its municipality.
    "Measure.history": 20,
    "Measure.indicatorSeries": 20,
    "Measure.carryOverFlags": 20,
}

# How many items a list that is not a connection holds, as an estimate.
DEFAULT_LIST_SIZE = 10
LIST_SIZES: Mapping[str, int] = {
    "Query.departments": 100,
    "Query.documents": 50,
    "Query.fiscalYears": 20,
    "Measure.departments": 3,
    "Measure.history": 10,
    "Department.years": 10,
    "DepartmentYear.measures": 5,
    "Document.pillars": 10,
    "SearchEdge.highlights": 3,
    "SearchFacets.departments": 50,
    "SearchFacets.fiscalYears": 20,
}

_Parent = GraphQLObjectType | GraphQLInterfaceType


def query_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    counted: Callable[[str], int | None] = lambda _: None,
) -> int:
    """The estimated cost of ``operation`` (see the module's docstring); ``counted`` gives
    the real size of a list (by "Type.field") where it is known, else None."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    sizes = _Sizes(counted)
    return _cost(schema, operation.selection_set, root, 1, fragments, variables, None, sizes)


class _Sizes:
    def __init__(self, counted: Callable[[str], int | None]) -> None:
        self.counted = counted
        self.known: dict[str, int] = {}

    def __call__(self, key: str) -> int:
        if key not in self.known:
            size = self.counted(key)
            self.known[key] = LIST_SIZES.get(key, DEFAULT_LIST_SIZE) if size is None else size
        return self.known[key]


def _cost(
    schema: GraphQLSchema,
    selections: SelectionSetNode,
    parent: _Parent,
    times: int,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    page: int | None,
    sizes: _Sizes,
) -> int:
    """The cost of ``selections`` on ``parent``, each appearing ``times`` times; inside a
    connection, ``page`` is how many edges it holds."""
    total = 0
    for node, owner in _fields(schema, selections, parent, fragments):
        name = node.name.value
        field = owner.fields.get(name)
        if field is None:  # __typename and introspection fields
            total += times
            continue
        key = f"{owner.name}.{name}"
        here = times * page if page is not None and name == "edges" else times
        total += here * WEIGHTS.get(key, 1)
        child = get_named_type(field.type)
        if node.selection_set is None or not isinstance(child, _Parent):
            continue
        inner = here
        if is_list_type(get_nullable_type(field.type)) and name != "edges":
            inner *= sizes(key)
        edges = _first(node, variables) if "first" in field.args else None
        total += _cost(schema, node.selection_set, child, inner, fragments, variables, edges, sizes)
    return total


def _fields(
    schema: GraphQLSchema,
    selections: SelectionSetNode,
    parent: _Parent,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> Iterator[tuple[FieldNode, _Parent]]:
    """The fields selected on ``parent``, fragments expanded (each time they are spread)."""
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection, parent
            continue
        condition: NamedTypeNode | None
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None:
                continue
            condition, inner = fragment.type_condition, fragment.selection_set
        elif isinstance(selection, InlineFragmentNode):
            condition, inner = selection.type_condition, selection.selection_set
        else:
            continue
        owner = parent
        if condition is not None:
            named = schema.get_type(condition.name.value)
            if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
                owner = named
        yield from _fields(schema, inner, owner, fragments)


def _first(node: FieldNode, variables: Mapping[str, Any]) -> int:
    for argument in node.arguments or ():
        if argument.name.value != "first":
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return max(int(value.value), 0)
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)
            if isinstance(given, int):
                return max(given, 0)
    return DEFAULT_PAGE_SIZE


class CostLimiter(SchemaExtension):
    """Refuses an operation whose estimated cost is over ``max_cost`` before it runs."""

    def __init__(self, *, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            wanted = context.operation_name
            operation = next(
                (o for o in operations if wanted is None or (o.name and o.name.value == wanted)),
                None,
            )
            if operation is not None:
                fragments = {
                    d.name.value: d
                    for d in document.definitions
                    if isinstance(d, FragmentDefinitionNode)
                }
                counted = getattr(context.context, "list_size", lambda _: None)
                cost = query_cost(
                    context.schema._schema, operation, fragments, context.variables or {}, counted
                )
                if cost > self.max_cost:
                    # Raised before execution, so it is the operation's only error as is.
                    raise GraphQLError(
                        f"the query's estimated cost is {cost}, over the limit of "
                        f"{self.max_cost}; ask for smaller pages or fewer fields",
                        extensions={"code": QUERY_TOO_COSTLY},
                    )
        yield

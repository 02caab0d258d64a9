"""A query-cost limit: an estimate of how much a query asks for, checked before it runs.

Depth, alias and token limits bound the shape of a query but not its size: fifteen aliases
of ``measures(first: 100)`` each asking for every measure's document text stay within all
three and still ask for megabytes. The cost estimates the number of values a query can
produce, with the variables applied:

- every field costs its weight (1, or ``WEIGHTS`` for fields that carry a whole text or
  work out a measure's history), times the number of times it can appear;
- inside a connection, ``edges`` appear ``first`` or ``last`` times (the default page size
  without either; the larger when a query gives both, which is refused when it runs);
- inside any other list, items appear as often as the archive holds them for the root lists
  (``documents``, ``departments``, ``fiscalYears``: counted), as many as the IDs given to
  ``nodes(ids:)``, or ``LIST_SIZES`` times (an estimate of a typical list);
- a fragment costs as much each time it is spread;
- ``@skip`` and ``@include`` are not applied: the estimate is an upper bound.

The estimate is worked out with each fragment walked once (issue 14): walking every spread
again takes time exponential in the document when fragments spread each other several
times. A cost is linear in the number of times a selection set appears, so each fragment's
cost is kept for one appearance (``_Unit``), split into its ``edges`` and the rest, since
the edges alone appear ``first`` (or ``last``) times in whichever connection the fragment is
spread; the fragments are walked in dependency order (``schema/shape.py``), so the walk is
linear in the document and its estimate is that of the expanded document.

``schema/limiter.py`` refuses a query over the limit before anything runs, with
``QUERY_TOO_COSTLY`` and its estimate, so a client can see what to trim.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    value_from_ast_untyped,
)

from schema.pagination import DEFAULT_PAGE_SIZE
from schema.shape import fragment_order

# Fields that carry a whole document's text weigh as much as a hundred ordinary values.
WEIGHTS: Mapping[str, int] = {
    "Document.rawText": 250,
    "Document.text": 250,
    # Each works out the measure's history over every year of its municipality.
    "Measure.history": 20,
    "Measure.indicatorSeries": 20,
    "Measure.carryOverFlags": 20,
    # Works out the history too, then a key-term search and a cosine per candidate.
    "Measure.similar": 50,
    # Counts over the whole archive, or over every hit of a search.
    "Query.overview": 50,
}

# How many items a list that is not a connection holds, as an estimate.
DEFAULT_LIST_SIZE = 10
LIST_SIZES: Mapping[str, int] = {
    "Query.departments": 100,
    "Query.documents": 50,
    "Query.fiscalYears": 20,
    "Query.municipalities": 200,  # 北海道 has 190
    "Measure.departments": 3,
    "Measure.history": 10,
    "Department.years": 10,
    "DepartmentYear.measures": 5,
    "Document.pillars": 10,
    "SearchEdge.highlights": 3,
    "DocumentSearchEdge.highlights": 2,
    "SearchFacets.departments": 50,
    "SearchFacets.fiscalYears": 20,
    "Overview.fiscalYears": 20,
    "Overview.nextYearStatuses": 40,  # 20 years, a few statuses each
    "Overview.pillars": 100,
    "Overview.departments": 200,
}

# Lists (not connections) whose ``first`` says how many items they hold: its default.
FIRST_ITEMS: Mapping[str, int] = {"Measure.similar": 5}

_Parent = GraphQLObjectType | GraphQLInterfaceType


def query_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    counted: Callable[[str], int | None] = lambda _: None,
) -> int:
    """The estimated cost of ``operation`` (see the module's docstring); ``counted`` gives
    the real size of a list (by "Type.field") where it is known, else None. Raises
    ``FragmentCycle`` if the operation's fragments spread each other in a cycle."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    walk = _Walk(schema, variables, _Sizes(counted))
    for fragment in fragment_order(fragments, [operation.selection_set]):
        owner = walk.owner(fragment.type_condition, None)
        walk.fragments[fragment.name.value] = walk.unit(fragment.selection_set, owner)
    return walk.unit(operation.selection_set, root).times(None)


class _Sizes:
    def __init__(self, counted: Callable[[str], int | None]) -> None:
        self.counted = counted
        self.known: dict[str, int] = {}

    def __call__(self, key: str) -> int:
        if key not in self.known:
            size = self.counted(key)
            self.known[key] = LIST_SIZES.get(key, DEFAULT_LIST_SIZE) if size is None else size
        return self.known[key]


class _Unit(NamedTuple):
    """The cost of a selection set for each time it appears: ``edges`` for its ``edges``
    fields (with what they select), ``plain`` for the rest. Inside a connection the edges
    appear ``first`` (or ``last``) times, so a fragment's unit serves every connection it is
    spread in."""

    plain: int
    edges: int

    def times(self, page: int | None) -> int:
        return self.plain + self.edges * (1 if page is None else page)


class _Walk:
    """One walk of an operation: each selection set's unit cost, a spread fragment's read
    from ``fragments`` (filled in ``fragment_order``, so always there before it is read)."""

    def __init__(self, schema: GraphQLSchema, variables: Mapping[str, Any], sizes: _Sizes) -> None:
        self.schema = schema
        self.variables = variables
        self.sizes = sizes
        self.fragments: dict[str, _Unit] = {}

    def owner(self, condition: NamedTypeNode | None, parent: _Parent | None) -> _Parent | None:
        """The type a fragment's fields are selected on: its type condition, or ``parent``
        without one. None for a condition that names no object or interface type: the
        document is invalid then (validation says why), and each of its fields costs 1."""
        if condition is None:
            return parent
        named = self.schema.get_type(condition.name.value)
        return named if isinstance(named, GraphQLObjectType | GraphQLInterfaceType) else None

    def unit(self, selections: SelectionSetNode, parent: _Parent | None) -> _Unit:
        """The unit cost of ``selections`` on ``parent``. Recursive only within one
        definition, whose nesting the parser bounds."""
        plain = edges = 0
        for selection in selections.selections:
            if isinstance(selection, FragmentSpreadNode):
                inner = self.fragments.get(selection.name.value, _Unit(0, 0))
            elif isinstance(selection, InlineFragmentNode):
                owner = self.owner(selection.type_condition, parent)
                inner = self.unit(selection.selection_set, owner)
            elif isinstance(selection, FieldNode):
                inner = self._field(selection, parent)
            else:
                continue
            plain += inner.plain
            edges += inner.edges
        return _Unit(plain, edges)

    def _field(self, node: FieldNode, parent: _Parent | None) -> _Unit:
        """The unit cost of a field and what it selects."""
        name = node.name.value
        field = None if parent is None else parent.fields.get(name)
        if parent is None or field is None:  # __typename, introspection, unknown fields
            return _Unit(1, 0)
        key = f"{parent.name}.{name}"
        cost = WEIGHTS.get(key, 1)
        child = get_named_type(field.type)
        if node.selection_set is not None and isinstance(child, _Parent):
            items = 1
            listed = is_list_type(get_nullable_type(field.type))
            if listed and name != "edges":
                items = self.sizes(key) if "ids" not in field.args else _ids(node, self.variables)
            if listed and key in FIRST_ITEMS:
                items = _first(node, self.variables, FIRST_ITEMS[key])
            paged = "first" in field.args or "last" in field.args
            page = _page(node, self.variables) if paged else None
            cost += items * self.unit(node.selection_set, child).times(page)
        return _Unit(0, cost) if name == "edges" else _Unit(cost, 0)


def _page(node: FieldNode, variables: Mapping[str, Any]) -> int:
    """How many edges a connection field can give: its ``first`` or its ``last`` (a page
    from either end is as large), the default page size without either."""
    given = [_argument(node, name, variables) for name in ("first", "last")]
    sizes = [size for size in given if type(size) is int]
    return max(max(sizes), 0) if sizes else DEFAULT_PAGE_SIZE


def _first(node: FieldNode, variables: Mapping[str, Any], default: int) -> int:
    """How many items a list with a ``first`` argument holds: ``first``, else its default."""
    given = _argument(node, "first", variables)
    return max(given, 0) if type(given) is int else default


def _ids(node: FieldNode, variables: Mapping[str, Any]) -> int:
    """How many IDs ``nodes(ids:)`` is given: one item each."""
    given = _argument(node, "ids", variables)
    if given is _ABSENT:
        return DEFAULT_LIST_SIZE
    return len(given) if isinstance(given, list) else 1  # one ID, given for the list


_ABSENT = object()


def _argument(node: FieldNode, name: str, variables: Mapping[str, Any]) -> Any:
    """The value of ``node``'s argument ``name``, its variables applied (``Undefined`` for a
    variable not given); ``_ABSENT`` when the field does not name it."""
    for argument in node.arguments or ():
        if argument.name.value == name:
            return value_from_ast_untyped(argument.value, dict(variables))
    return _ABSENT

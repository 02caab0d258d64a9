"""The shape of a query document (its depth and its aliases), each fragment walked once.

A fragment may be spread many times, and fragments may spread each other: when each of
forty fragments spreads the next twice, the last is spread 2^40 times, in a document of
2 KB. Walking every spread again, as strawberry's ``QueryDepthLimiter`` and
``MaxAliasesLimiter`` do, takes time exponential in the document (issue 14: a document
under 1 KB held a worker for two minutes). Here fragments are walked in dependency order
(``fragment_order``), each once, and a spread reuses its fragment's figures: the walk is
linear in the document, and its figures are those of the expanded document
(``tests/schema/test_limits_fanout.py`` checks both against strawberry's walk).

The figures mean what they meant under strawberry's limiters:

- ``depth``: a field with a selection set is one deeper than the deepest field in it; a leaf
  field counts 0, and so does an introspection field (``__schema``, ``__type``) with all it
  selects. An operation is as deep as its deepest field: ``{ fiscalYears { year } }`` is 1.
- ``aliases``: the aliased fields of every operation in the document, each counted as many
  times as it appears with every fragment spread expanded. It can be astronomically large,
  which a Python int holds.

Fragments that spread each other in a cycle have no expansion to measure, and the GraphQL
specification forbids them: ``fragment_order`` refuses them with graphql-core's message. A
spread of an undefined fragment counts nothing here; validation reports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)


class FragmentCycle(GraphQLError):
    """Fragments spread each other in a cycle."""


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    """The document's fragment definitions by name."""
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def fragment_order(
    fragments: Mapping[str, FragmentDefinitionNode], roots: Iterable[SelectionSetNode]
) -> list[FragmentDefinitionNode]:
    """The fragments spread from ``roots``, directly or through other fragments, each after
    every fragment it spreads, so that a walk in this order finds the figures of a spread
    fragment already worked out. Raises ``FragmentCycle`` if fragments spread each other in
    a cycle.

    A depth-first search with its own stack: a chain of fragments as long as a document can
    hold would overflow Python's recursion limit."""
    spreads = {name: _spread_names(f.selection_set, fragments) for name, f in fragments.items()}
    order: list[FragmentDefinitionNode] = []
    done: set[str] = set()
    for start in _spread_names_of_all(roots, fragments):
        if start in done:
            continue
        path: list[tuple[str, Iterator[str]]] = [(start, iter(spreads[start]))]
        on_path = {start}
        while path:
            name, pending = path[-1]
            for spread in pending:
                if spread in on_path:
                    raise _cycle([n for n, _ in path], spread)
                if spread not in done:
                    path.append((spread, iter(spreads[spread])))
                    on_path.add(spread)
                    break
            else:
                path.pop()
                on_path.remove(name)
                done.add(name)
                order.append(fragments[name])
    return order


def _cycle(path: list[str], spread: str) -> FragmentCycle:
    via = path[path.index(spread) + 1 :]
    return FragmentCycle(
        f"Cannot spread fragment '{spread}' within itself"
        + (f" via {', '.join(repr(n) for n in via)}." if via else ".")
    )


def _spread_names_of_all(
    roots: Iterable[SelectionSetNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> list[str]:
    names: dict[str, None] = {}  # ordered, each once
    for root in roots:
        names.update(dict.fromkeys(_spread_names(root, fragments)))
    return list(names)


def _spread_names(
    selections: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[str]:
    """The defined fragments spread anywhere inside ``selections``, each once."""
    names: dict[str, None] = {}
    stack = [selections]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                if selection.name.value in fragments:
                    names[selection.name.value] = None
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                stack.append(selection.selection_set)
    return list(names)


class _Figures(NamedTuple):
    depth: int
    aliases: int


@dataclass(frozen=True)
class Shape:
    """Each operation's name ("anonymous" without one) and depth, and the aliases of all."""

    depths: list[tuple[str, int]]
    aliases: int


def shape_of(document: DocumentNode) -> Shape:
    """The shape of every operation in ``document`` (see the module's docstring)."""
    fragments = fragments_of(document)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    known: dict[str, _Figures] = {}
    for fragment in fragment_order(fragments, (o.selection_set for o in operations)):
        known[fragment.name.value] = _figures(fragment.selection_set, known)
    measured = [
        (o.name.value if o.name else "anonymous", _figures(o.selection_set, known))
        for o in operations
    ]
    return Shape(
        depths=[(name, figures.depth) for name, figures in measured],
        aliases=sum(figures.aliases for _, figures in measured),
    )


def _figures(selections: SelectionSetNode, known: Mapping[str, _Figures]) -> _Figures:
    """The figures of ``selections``, those of the fragments it spreads read from ``known``.
    Recursive only within one definition, whose nesting the parser bounds."""
    depth = aliases = 0
    for selection in selections.selections:
        if isinstance(selection, FragmentSpreadNode):
            inner = known.get(selection.name.value, _Figures(0, 0))
        elif isinstance(selection, InlineFragmentNode):
            inner = _figures(selection.selection_set, known)
        elif isinstance(selection, FieldNode):
            aliases += 1 if selection.alias else 0
            if selection.selection_set is None:  # a leaf
                continue
            inner = _figures(selection.selection_set, known)
            # GraphiQL's introspection query is deeper than any limit would allow:
            # strawberry's limiter left introspection fields out, and so does this.
            introspection = selection.name.value.startswith("__")
            inner = _Figures(0 if introspection else inner.depth + 1, inner.aliases)
        else:
            continue
        depth = max(depth, inner.depth)
        aliases += inner.aliases
    return _Figures(depth, aliases)

"""Relay paging from either end through the real ASGI app (#15 point 6): ``last``/``before``
on the measure connections and on search, ``documentsConnection`` and
``departmentsConnection``, page information at both ends, refusals, and the cost of ``last``.

The archive holds three years of Hitachi reports (tests/conftest.py's REPORTS), so lists run
over several documents and both orders differ."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.conftest import AppClient, graphql

MEASURES = """query($first: Int, $after: String, $last: Int, $before: String,
                   $order: MeasureOrder! = FISCAL_YEAR_ASC) {
  measures(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    totalCount
    edges { cursor node { id fiscalYear number } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


@pytest.fixture(scope="module")
def client(three_years_archive: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(three_years_archive)) as test_client:
        yield test_client


def _data(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    body = graphql(client, query, **variables)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def _refused(client: TestClient, query: str, **variables: Any) -> str:
    """The message of the one BAD_USER_INPUT error ``query`` gets."""
    body = graphql(client, query, **variables)
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", body
    message: str = error["message"]
    return message


Fetch = Callable[..., dict[str, Any]]


def _forward(fetch: Fetch, size: int) -> list[dict[str, Any]]:
    """Every page of the list, first to last, ``size`` at a time."""
    pages, after = [], None
    while True:
        page = fetch(first=size, after=after)
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]


def _backward(fetch: Fetch, size: int) -> list[dict[str, Any]]:
    """Every page of the list read from its end, ``size`` at a time: last page first."""
    pages, before = [], None
    while True:
        page = fetch(last=size, before=before)
        pages.append(page)
        if not page["pageInfo"]["hasPreviousPage"]:
            return pages
        before = page["pageInfo"]["startCursor"]


def _cursors(pages: list[dict[str, Any]]) -> list[str]:
    return [edge["cursor"] for page in pages for edge in page["edges"]]


def _check_walks(fetch: Fetch, size: int, total: int) -> list[str]:
    """Walk the list forward and backward ``size`` at a time and hold them equal: the same
    edges in the same (list) order, each page's flags and end cursors right, and stepping
    back from any forward page gives exactly the forward page before it. The list's cursors."""
    forward = _forward(fetch, size)
    backward = _backward(fetch, size)
    cursors = _cursors(forward)
    assert len(cursors) == len(set(cursors)) == total
    # Backward pages come last-first; each holds its edges in list order.
    assert _cursors(list(reversed(backward))) == cursors
    for pages in (forward, backward):
        for page in pages:
            info, edges = page["pageInfo"], page["edges"]
            assert 1 <= len(edges) <= size
            assert (info["startCursor"], info["endCursor"]) == (
                edges[0]["cursor"],
                edges[-1]["cursor"],
            )
    # Forward: the first page has nothing before it, the last nothing after.
    assert [p["pageInfo"]["hasPreviousPage"] for p in forward] == [False] + [True] * (
        len(forward) - 1
    )
    assert [p["pageInfo"]["hasNextPage"] for p in forward] == [True] * (len(forward) - 1) + [False]
    # Backward from the end: the first page read (the list's end) has no next page (no
    # before given), every later one has (its before cursor's item follows it); only the
    # page that reaches the list's start has no previous page.
    assert [p["pageInfo"]["hasNextPage"] for p in backward] == [False] + [True] * (
        len(backward) - 1
    )
    assert [p["pageInfo"]["hasPreviousPage"] for p in backward] == [True] * (len(backward) - 1) + [
        False
    ]
    assert [len(p["edges"]) for p in backward][:-1] == [size] * (len(backward) - 1)
    # Page by page: last N before a forward page's start is the forward page before it.
    for earlier, later in itertools.pairwise(forward):
        back = fetch(last=size, before=later["pageInfo"]["startCursor"])
        assert back["edges"] == earlier["edges"]
        assert back["pageInfo"] == earlier["pageInfo"] | {
            "hasNextPage": True,
            "hasPreviousPage": earlier is not forward[0],
        }
    return cursors


def test_measures_walk_backward_as_forward_in_both_orders(client: TestClient) -> None:
    total = _data(client, MEASURES, first=1)["measures"]["totalCount"]
    assert total > 30  # three reports

    lists = {}
    for order in ("FISCAL_YEAR_ASC", "FISCAL_YEAR_DESC"):

        def fetch(order: str = order, **variables: Any) -> dict[str, Any]:
            page: dict[str, Any] = _data(client, MEASURES, order=order, **variables)["measures"]
            assert page["totalCount"] == total
            return page

        cursors = _check_walks(fetch, 7, total)
        # The nodes too, not only the cursors: the list's order is (year, municipality, number).
        nodes = [e["node"] for p in _backward(fetch, 7)[::-1] for e in p["edges"]]
        keys = [(n["fiscalYear"], n["number"]) for n in nodes]
        assert keys == sorted(keys, reverse=order == "FISCAL_YEAR_DESC")
        lists[order] = (cursors, [n["id"] for n in nodes])
    # The descending list is the ascending one reversed (ids; cursors carry the order).
    assert lists["FISCAL_YEAR_DESC"][1] == lists["FISCAL_YEAR_ASC"][1][::-1]


def test_page_sizes_that_divide_the_list_and_one_that_takes_it_all(client: TestClient) -> None:
    def fetch(**variables: Any) -> dict[str, Any]:
        page: dict[str, Any] = _data(client, MEASURES, **variables)["measures"]
        return page

    total = fetch(first=1)["totalCount"]
    whole = fetch(last=100)
    assert len(whole["edges"]) == total
    assert whole["pageInfo"]["hasPreviousPage"] is False
    assert whole["pageInfo"]["hasNextPage"] is False
    assert whole["edges"] == fetch(first=100)["edges"]
    for size in (1, total // 3, total - 1):
        _check_walks(fetch, size, total)


def test_a_range_between_two_cursors(client: TestClient) -> None:
    """after and before together bound the list; first takes its first, last its last."""
    every = _data(client, MEASURES, first=100)["measures"]["edges"]
    cursors = [edge["cursor"] for edge in every]
    after, before = cursors[3], cursors[10]  # the range holds items 4 to 9
    head = _data(client, MEASURES, first=2, after=after, before=before)["measures"]
    assert head["edges"] == every[4:6]
    assert (head["pageInfo"]["hasPreviousPage"], head["pageInfo"]["hasNextPage"]) == (True, True)
    tail = _data(client, MEASURES, last=2, after=after, before=before)["measures"]
    assert tail["edges"] == every[8:10]
    assert (tail["pageInfo"]["hasPreviousPage"], tail["pageInfo"]["hasNextPage"]) == (True, True)
    # Asking for more than the range holds: all of it, and no more on the side read from.
    whole = _data(client, MEASURES, last=20, after=after, before=before)["measures"]
    assert whole["edges"] == every[4:10]
    assert whole["pageInfo"]["hasPreviousPage"] is False
    forward = _data(client, MEASURES, first=20, after=after, before=before)["measures"]
    assert forward["edges"] == every[4:10]
    assert forward["pageInfo"]["hasNextPage"] is False
    # An empty range: no edges, no cursors.
    empty = _data(client, MEASURES, last=5, after=cursors[5], before=cursors[6])["measures"]
    assert empty["edges"] == []
    assert (empty["pageInfo"]["startCursor"], empty["pageInfo"]["endCursor"]) == (None, None)


def test_a_documents_and_a_departments_measures_page_backward(client: TestClient) -> None:
    documents = _data(client, "{ documents { id measureCount } }")["documents"]
    assert len(documents) == 3
    by_document = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      node(id: $id) { ... on Document { measures(first: $first, after: $after, last: $last,
        before: $before) { totalCount edges { cursor node { number } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } } }"""
    for document in documents:

        def of_document(id: str = document["id"], **variables: Any) -> dict[str, Any]:
            page: dict[str, Any] = _data(client, by_document, id=id, **variables)["node"][
                "measures"
            ]
            return page

        _check_walks(of_document, 4, document["measureCount"])

    departments = _data(client, "{ departments { id name } }")["departments"]
    by_department = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String,
                             $order: MeasureOrder! = FISCAL_YEAR_ASC) {
      node(id: $id) { ... on Department { measures(first: $first, after: $after, last: $last,
        before: $before, orderBy: $order) { totalCount edges { cursor node { number } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } } }"""
    walked = 0
    for department in departments:
        for order in ("FISCAL_YEAR_ASC", "FISCAL_YEAR_DESC"):

            def of_department(
                id: str = department["id"], order: str = order, **variables: Any
            ) -> dict[str, Any]:
                page: dict[str, Any] = _data(
                    client, by_department, id=id, order=order, **variables
                )["node"]["measures"]
                return page

            total = of_department(first=1)["totalCount"]
            if total >= 3:
                _check_walks(of_department, 2, total)
                walked += 1
    assert walked >= 2


def test_first_and_last_together_are_refused(client: TestClient) -> None:
    lists = [
        "{ measures(first: 2, last: 2) { totalCount } }",
        "{ documentsConnection(first: 2, last: 2) { totalCount } }",
        "{ departmentsConnection(first: 2, last: 2) { totalCount } }",
        '{ search(query: "市民", first: 2, last: 2) { totalCount } }',
    ]
    for query in lists:
        assert _refused(client, query) == "give first or last, not both"


@pytest.mark.parametrize("last", [0, -1, 101])
def test_last_is_bounded_as_first_is(client: TestClient, last: int) -> None:
    for query in (
        MEASURES,
        "query($last: Int) { documentsConnection(last: $last) { totalCount } }",
    ):
        assert _refused(client, query, last=last) == "last must be between 1 and 100"


def test_a_cursor_of_another_order_or_list_is_refused_as_before(client: TestClient) -> None:
    ascending = _data(client, MEASURES, first=3)["measures"]["edges"][1]["cursor"]
    descending = _data(client, MEASURES, first=3, order="FISCAL_YEAR_DESC")["measures"]
    message = _refused(client, MEASURES, last=2, before=ascending, order="FISCAL_YEAR_DESC")
    assert message == "before is not a valid cursor for this list"
    other = descending["edges"][1]["cursor"]
    assert _refused(client, MEASURES, last=2, before=other) == message
    assert _refused(client, MEASURES, first=2, after=other) == (
        "after is not a valid cursor for this list"
    )
    document = _data(client, "{ documentsConnection(first: 1) { edges { cursor } } }")
    cursor = document["documentsConnection"]["edges"][0]["cursor"]
    assert _refused(client, MEASURES, last=2, before=cursor) == message
    in_documents = "query($c: String) { documentsConnection(before: $c, last: 1) { totalCount } }"
    assert _refused(client, in_documents, c=ascending) == message
    assert _refused(client, MEASURES, last=2, before="not-a-cursor") == message


DOCUMENTS = """query($first: Int, $after: String, $last: Int, $before: String) {
  documentsConnection(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id fiscalYear municipality } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
DEPARTMENTS = """query($first: Int, $after: String, $last: Int, $before: String) {
  departmentsConnection(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


@pytest.mark.parametrize(
    ("query", "root", "plain", "size"),
    [
        (DOCUMENTS, "documentsConnection", "{ documents { id fiscalYear municipality } }", 1),
        (DOCUMENTS, "documentsConnection", "{ documents { id fiscalYear municipality } }", 2),
        (DEPARTMENTS, "departmentsConnection", "{ departments { id name } }", 3),
        (DEPARTMENTS, "departmentsConnection", "{ departments { id name } }", 5),
    ],
)
def test_root_list_connections_walk_everything(
    client: TestClient, query: str, root: str, plain: str, size: int
) -> None:
    """Every document and department, each once, in the plain list's order, both ways."""
    listed = next(iter(_data(client, plain).values()))

    def fetch(**variables: Any) -> dict[str, Any]:
        page: dict[str, Any] = _data(client, query, **variables)[root]
        assert page["totalCount"] == len(listed)
        return page

    _check_walks(fetch, size, len(listed))
    nodes = [edge["node"] for page in _forward(fetch, size) for edge in page["edges"]]
    assert nodes == listed
    assert len(listed) > size
    if root == "documentsConnection":
        assert len(listed) == 3


def test_a_connection_of_an_empty_archive(tmp_path: Any, app_client: AppClient) -> None:
    from tests.conftest import settings_for

    with app_client(settings_for(tmp_path)) as empty:
        for query, root in (
            (DOCUMENTS, "documentsConnection"),
            (DEPARTMENTS, "departmentsConnection"),
        ):
            for variables in ({"first": 5}, {"last": 5}):
                page = _data(empty, query, **variables)[root]
                assert page == {
                    "totalCount": 0,
                    "edges": [],
                    "pageInfo": {
                        "hasNextPage": False,
                        "hasPreviousPage": False,
                        "startCursor": None,
                        "endCursor": None,
                    },
                }


SEARCH = """query($first: Int, $after: String, $last: Int, $before: String) {
  search(query: "市民", first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


def test_search_pages_backward_from_a_cursor(client: TestClient) -> None:
    def fetch(**variables: Any) -> dict[str, Any]:
        page: dict[str, Any] = _data(client, SEARCH, **variables)["search"]
        return page

    total = fetch(first=1)["totalCount"]
    assert total >= 6
    forward = _forward(fetch, 2)
    every = [edge for page in forward for edge in page["edges"]]
    assert len(every) == total
    # Last N before each forward page's start is the page before it.
    for earlier, later in itertools.pairwise(forward):
        back = fetch(last=2, before=later["pageInfo"]["startCursor"])
        assert back["edges"] == earlier["edges"]
        assert back["pageInfo"]["hasNextPage"] is True
        assert back["pageInfo"]["hasPreviousPage"] is (earlier is not forward[0])
    # Walking back from the last hit reaches the first, each page in list order.
    pages, before = [], every[-1]["cursor"]
    while True:
        page = fetch(last=3, before=before)
        pages.append(page)
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert [e for p in reversed(pages) for e in p["edges"]] == every[:-1]
    # A range: the hits between two cursors, from either end.
    after, before = every[0]["cursor"], every[5]["cursor"]
    assert fetch(first=2, after=after, before=before)["edges"] == every[1:3]
    assert fetch(last=2, after=after, before=before)["edges"] == every[3:5]
    whole = fetch(first=10, after=after, before=before)
    assert whole["edges"] == every[1:5]
    assert whole["pageInfo"]["hasNextPage"] is False
    assert whole["pageInfo"]["hasPreviousPage"] is True  # after's own hit
    whole = fetch(last=10, after=after, before=before)
    assert whole["edges"] == every[1:5]
    assert (whole["pageInfo"]["hasPreviousPage"], whole["pageInfo"]["hasNextPage"]) == (
        False,
        True,
    )
    assert fetch(last=3, after=every[3]["cursor"], before=every[4]["cursor"])["edges"] == []
    # last alone is the end of the list, as on every connection (Relay's and Apollo's
    # backward paging start there); a garbled cursor is refused as any cursor.
    tail = fetch(last=2)
    assert tail["edges"] == every[-2:]
    assert (tail["pageInfo"]["hasPreviousPage"], tail["pageInfo"]["hasNextPage"]) == (
        len(every) > 2,
        False,
    )
    assert _refused(client, SEARCH, last=2, before="garbled") == (
        "before is not a valid cursor for this list"
    )


def _estimate(client: TestClient, query: str, **variables: Any) -> int:
    body = graphql(client, query, **variables)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY", body
    found = re.search(r"estimated cost is (\d+),", error["message"])
    assert found is not None
    return int(found.group(1))


@pytest.mark.parametrize(
    "field",
    [
        "measures({page}) {{ edges {{ node {{ document {{ rawText }} }} }} }}",
        "documentsConnection({page}) {{ edges {{ node {{ rawText text }} }} }}",
        'search(query: "市民", {page}) {{ edges {{ node {{ document {{ text }} }} }} }}',
    ],
)
def test_last_costs_as_first(client: TestClient, field: str) -> None:
    """A page from the end costs as much as one from the start, literal or by variable, and
    within the limit it runs."""

    def query(page: str, aliases: int) -> str:
        fields = " ".join(f"a{i}: " + field.format(page=page) for i in range(aliases))
        return ("query($n: Int) { " if "$n" in page else "{ ") + fields + " }"

    by_first = _estimate(client, query("first: 100", 4))
    assert by_first > 25_000
    assert _estimate(client, query("last: 100", 4)) == by_first
    assert _estimate(client, query("last: $n", 4), n=100) == by_first
    assert _estimate(client, query("before: null, last: $n", 4), n=100) == by_first

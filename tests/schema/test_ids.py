"""Global IDs: exactly what ``relay.to_base64`` writes, and nothing else, wherever an ID
enters the API (``node``, ``compare``, ``deleteDocument``)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from strawberry import relay

from schema.ids import MAX_DATABASE_ID, GlobalId, parse_global_id, parse_number
from tests.conftest import (
    SAMPLE,
    AppClient,
    ArchiveCopy,
    graphql,
    no_traceback,
    settings_for,
)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("type_name", "number"),
    [("Measure", 1), ("Document", 1), ("Pillar", 4095), ("Department", MAX_DATABASE_ID - 1)],
)
def test_what_to_base64_writes_is_read_back(type_name: str, number: int) -> None:
    assert parse_global_id(relay.to_base64(type_name, number)) == GlobalId(type_name, number)


@pytest.mark.parametrize(
    "text",
    [
        "Measure:01",  # a second spelling of Measure:1
        "Measure:0",
        "Measure:-1",
        "Measure:+1",
        "Measure: 1",
        "Measure:1 ",
        "Measure:1\n",
        "Measure:1_0",  # int() reads it as 10
        "Measure:１",  # full-width digit: int() reads it as 1
        "Measure:²",
        "Measure:1.0",
        f"Measure:{MAX_DATABASE_ID}",
        "Measure:" + "9" * 25,
        "Measure:" + "0" * 17 + "1999",  # its first 18 digits spell 1
        "Measure:" + "9" * 5000,  # past int()'s 4300-digit limit
        "Measure",
        ":1",
        "Measure:1:2",
        "Me asure:1",
        "Measure:1\x00",
        "",
    ],
)
def test_anything_else_in_base64_is_no_id(text: str) -> None:
    assert parse_global_id(_b64(text)) is None


@pytest.mark.parametrize(
    "value",
    [
        "RG9jdW1lbnQ6MQ",  # Document:1 without its padding
        "RG9jdW1lbnQ6MR==",  # Document:1 with stray bits in its last character
        "RG9jdW1lbnQ6MQ==\n",
        " RG9jdW1lbnQ6MQ==",
        "RG9jdW1l bnQ6MQ==",  # from_base64 skips the space
        "RG9jdW1lbnQ6MQ==RG9j",
        "UGlsbGFyOjQwOTU",  # Pillar:4095 without its padding
        "UGlsbGFyOjQwOTU==",  # and with one pad too many
        "ＲＧ９ｊ",
        "Document:1",
        "not-an-id",
        "",
        "QQ==" * 200,
    ],
)
def test_a_global_id_in_another_spelling_is_no_id(value: str) -> None:
    assert parse_global_id(value) is None


@pytest.mark.parametrize(
    ("node_id", "number"),
    [("1", 1), ("120", 120), (str(MAX_DATABASE_ID - 1), MAX_DATABASE_ID - 1)],
)
def test_node_ids(node_id: str, number: int) -> None:
    assert parse_number(node_id) == number


@pytest.mark.parametrize(
    "node_id", ["", "0", "01", " 1", "1 ", "+1", "-1", "１", "²", "1_0", str(MAX_DATABASE_ID)]
)
def test_node_ids_that_are_no_database_id(node_id: str) -> None:
    assert parse_number(node_id) is None


# Through the API: every field that takes an ID reads it with parse_global_id. --------------

NODE = "query($id: ID!) { node(id: $id) { id ... on Measure { number } } }"
COMPARE = "query($id: ID!) { compare(measure: $id, fiscalYear: 2021) { titleChanged } }"
DELETE = "mutation($id: ID!) { deleteDocument(id: $id) { id } }"
TOKEN = "s3cret-token"


def test_node_answers_its_own_ids_and_null_for_any_other_spelling(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A malformed ID names nothing, like an ID of a missing row: null, as ``node`` promises
    (Relay's convention). The same number in another spelling is no second ID of the row."""
    first = graphql(client, "{ measures(first: 1) { edges { node { id } } } }")
    own = first["data"]["measures"]["edges"][0]["node"]["id"]
    assert parse_global_id(own) == GlobalId("Measure", 1)
    assert graphql(client, NODE, id=own)["data"]["node"] == {"id": own, "number": "01"}
    for text in ("Measure:01", "Measure: 1", "Measure:１", "Measure:+1", "Measure:1_0"):
        assert graphql(client, NODE, id=_b64(text)) == {"data": {"node": None}}, text
    for spelling in (own + "\n", " " + own, own[:4] + " " + own[4:], "TWVhc3VyZTox=="):
        assert graphql(client, NODE, id=spelling) == {"data": {"node": None}}, spelling
    no_traceback(caplog)


def test_compare_refuses_an_id_past_eighteen_digits(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Its first eighteen digits spell 1: it named measure 1 when digits past them were cut."""
    for text in ("Measure:" + "0" * 17 + "1999", "Measure:1" + "0" * 19, "Measure:01"):
        body = graphql(client, COMPARE, id=_b64(text))
        assert body["data"] == {"compare": None}
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", text
    no_traceback(caplog)


def test_delete_document_takes_only_a_document_id(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    app_client: AppClient,
    archive_copy: ArchiveCopy,
) -> None:
    """int() reads full-width digits, spaces and underscores: each of these deleted
    document 1 (Document:1_0 document 10)."""
    archive_copy(tmp_path, [SAMPLE])
    settings = settings_for(tmp_path, PLAN_ARCHIVE_API_TOKENS=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with app_client(settings) as client:
        for text in ("Document:１", "Document: 1", "Document:1 ", "Document:01", "Measure:1"):
            body = client.post(
                "/graphql", json={"query": DELETE, "variables": {"id": _b64(text)}}, headers=auth
            ).json()
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", text
        assert graphql(client, "{ documents { id } }")["data"]["documents"] == [
            {"id": relay.to_base64("Document", 1)}
        ]
        deleted = client.post(
            "/graphql",
            json={"query": DELETE, "variables": {"id": relay.to_base64("Document", 1)}},
            headers=auth,
        ).json()
        assert deleted == {"data": {"deleteDocument": {"id": relay.to_base64("Document", 1)}}}
    no_traceback(caplog)


NODES = """query($ids: [ID!]!) { nodes(ids: $ids) {
  __typename id ... on Measure { title } ... on Document { title } } }"""


def test_nodes_answers_each_id_in_order(client: TestClient) -> None:
    measures = graphql(client, "{ measures(first: 2) { edges { node { id title } } } }")
    first, second = (edge["node"] for edge in measures["data"]["measures"]["edges"])
    document = graphql(client, "{ documents { id title } }")["data"]["documents"][0]
    ids = [second["id"], "not an id", document["id"], first["id"], second["id"]]
    found = graphql(client, NODES, ids=ids)["data"]["nodes"]
    assert [node and node["id"] for node in found] == [
        second["id"],
        None,
        document["id"],
        first["id"],
        second["id"],
    ]
    assert found[0]["title"] == second["title"]
    assert found[2]["title"] == document["title"]


def test_nodes_is_bounded_and_costed_by_its_ids(client: TestClient) -> None:
    too_many = graphql(client, NODES, ids=["x"] * 101)
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    texts = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Document { rawText } } }"
    costly = graphql(client, texts, ids=["x"] * 100)  # 100 texts of weight 250: over 25,000
    assert costly["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert "data" not in costly
    cheap = graphql(client, texts, ids=["x"] * 10)
    assert cheap["data"]["nodes"] == [None] * 10


def test_a_default_value_counts_in_the_cost(client: TestClient) -> None:
    ids = ", ".join(['"x"'] * 100)
    hidden = (
        f"query($ids: [ID!]! = [{ids}]) {{ nodes(ids: $ids) {{ ... on Document {{ rawText }} }} }}"
    )
    refused = graphql(client, hidden)
    assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    pages = "query($n: Int = 100) { a: measures(first: $n) { edges { node { document { rawText } } } } }"
    assert graphql(client, pages)["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


def test_an_id_of_a_type_that_is_no_node_names_nothing(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The schema knows the type (an object, a scalar, an enum) or not: no node either way."""
    for type_name in ("Query", "MeasureConnection", "String", "MeasureOrder", "Nope"):
        given = relay.to_base64(type_name, 1)
        assert graphql(client, NODE, id=given) == {"data": {"node": None}}, type_name
        assert graphql(client, NODES, ids=[given]) == {"data": {"nodes": [None]}}, type_name
    no_traceback(caplog)

"""The official list of local governments: names found in reports, homonyms, unknown names,
and the code and prefecture stored with a document (on SQLite, and PostgreSQL when set)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from archive.db import reader, writer
from archive.errors import DocumentRefused
from archive.ingest import prepare_document, store_document
from archive.models import Document
from archive.municipalities import (
    AmbiguousMunicipality,
    UnknownMunicipality,
    all_municipalities,
    find,
    lookup,
    nearest,
)
from archive.parse import municipality_from_title
from server.cli import cli
from tests.conftest import SAMPLE


def _code(title: str, opening: str = "") -> str | None:
    found = find(title, opening)
    return found.code if found else None


def test_the_list_is_whole_and_shipped() -> None:
    everyone = all_municipalities()
    assert len(everyone) == 1959
    kinds = {m.kind for m in everyone}
    assert kinds == {
        "prefecture",
        "city",
        "designated_city",
        "designated_ward",
        "special_ward",
        "town",
        "village",
    }
    assert sum(m.kind == "prefecture" for m in everyone) == 47
    assert all(len(m.code) == 6 and m.code.isdigit() for m in everyone)


@pytest.mark.parametrize(
    ("title", "opening", "code"),
    [
        ("かすみがうら市情報化推進計画 実施状況", "", "082309"),  # hiragana names
        ("つくばみらい市DX推進計画の進捗", "", "082350"),
        ("令和２年度 日立市情報化推進アクションプラン", "", "082023"),
        ("茨城県日立市情報化推進計画", "", "082023"),  # a prefecture qualifies the city
        ("群馬県デジタル・トランスフォーメーション推進計画 進捗状況", "", "100005"),
        ("鳥取県 情報化推進プラン 取組状況", "", "310000"),
        ("群馬県デジタル推進計画（前橋市との連携を含む）", "", "100005"),  # first name printed
        ("葛飾区 事務事業評価シート", "", "131229"),  # Tokyo's special wards
        ("札幌市中央区 区政推進プラン", "", "011011"),  # most specific: the ward, not the city
        ("札幌市 北区 まちづくり", "", "011029"),  # a ward after its city
        ("東京都北区 行財政改革", "", "131172"),  # a ward after its prefecture
        ("北海道 北区 計画", "", "011029"),  # the only 北区 of Hokkaido
        ("龍ヶ崎市 計画", "", "082082"),  # ヶ and ケ are the same name
        ("四日市市情報化計画", "", "242021"),
        ("東京都府中市 行政改革", "", "132063"),  # homonym with its prefecture
        ("広島県 府中市 行政改革", "", "342084"),
        ("福島県伊達市 実施計画", "", "072133"),
        ("情報化推進計画 進捗状況", "北海道伊達市\n令和２年度", "012335"),  # opening lines
        ("アクションプランの実績", "令和２年度\n\nつくばみらい市 政策課", "082350"),
        ("本市の情報化推進", "", None),
        ("情報化推進アクションプラン", "", None),
    ],
)
def test_names_found_in_title_or_opening(title: str, opening: str, code: str | None) -> None:
    assert _code(title, opening) == code


@pytest.mark.parametrize(
    ("title", "name", "codes"),
    [
        ("府中市 行政改革", "府中市", {"132063", "342084"}),
        ("伊達市 実施計画", "伊達市", {"012335", "072133"}),
        ("森町 総合計画", "森町", {"013455", "224618"}),
        ("北区 行財政改革", "北区", None),  # Tokyo's and eight designated cities' wards
        ("大阪府北区 計画", "北区", {"271276", "271462"}),  # narrowed, still two
    ],
)
def test_homonyms_without_their_prefecture_are_refused(
    title: str, name: str, codes: set[str] | None
) -> None:
    with pytest.raises(AmbiguousMunicipality) as refused:
        find(title, "")
    assert refused.value.name == name
    found = {m.code for m in refused.value.candidates}
    if codes is None:
        assert {"131172", "011029", "271276"} <= found
    else:
        assert found == codes
    assert "ambiguous" in str(refused.value)
    assert municipality_from_title(title) is None


@pytest.mark.parametrize(
    "title", ["常陸市情報化計画", "令和2年度 常陸市 計画", "茨城県常陸市 計画"]
)
def test_unknown_name_in_a_title_gets_the_nearest_names(title: str) -> None:
    with pytest.raises(UnknownMunicipality) as refused:
        find(title, "")
    message = str(refused.value)
    assert message.startswith(
        "unknown municipality '常陸市'; did you mean: 常陸太田市 (茨城県, 082121)"
    )


@pytest.mark.parametrize(
    "title",
    [
        "市町村のデジタル化",
        "地区計画の見直し",
        "各区の取組",
        "特別区の連携",
        "政令市の比較",
        "中核市",
    ],
)
def test_generic_words_are_no_names(title: str) -> None:
    assert find(title, "") is None


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("群馬県市町村課 報告", "群馬県"),
        ("鳥取県中部地区の計画", "鳥取県"),
        ("東京都特別区 DX", "東京都"),
    ],
)
def test_a_prefecture_before_a_generic_word_is_the_prefecture(title: str, name: str) -> None:
    found = find(title, "")
    assert found is not None
    assert (found.name, found.kind) == (name, "prefecture")


@pytest.mark.parametrize(
    ("given", "context", "code"),
    [
        ("日立市", "", "082023"),
        ("082023", "", "082023"),
        ("08202", "", "082023"),  # the 5-digit code without its check digit
        ("東京都府中市", "", "132063"),
        ("府中市", "広島県府中市 行政改革", "342084"),
        ("中央区", "札幌市中央区 区政推進プラン", "011011"),  # a bare ward: the text decides
        ("中央区", "東京都中央区 行政評価", "131024"),
        ("中央区", "北海道 中央区", "011011"),
        ("北区", "大阪市 北区 計画", "271276"),
        ("東京都北区", "", "131172"),
        ("葛飾区", "", "131229"),
        ("ｶ", "", None),
    ],
)
def test_lookup_by_name_code_or_prefecture(given: str, context: str, code: str | None) -> None:
    if code is None:
        with pytest.raises(UnknownMunicipality):
            lookup(given, context)
    else:
        assert lookup(given, context).code == code


@pytest.mark.parametrize(
    ("given", "context"),
    [("伊達市", "伊達市 実施計画"), ("中央区", "中央区 事務事業評価"), ("北区", "大阪府 北区")],
)
def test_lookup_refuses_a_homonym_the_text_does_not_decide(given: str, context: str) -> None:
    with pytest.raises(AmbiguousMunicipality):
        lookup(given, context)


def test_nearest_reads_names_and_kana() -> None:
    assert nearest("日立")[0].name == "日立市"
    assert "ひたちなか市" in [m.name for m in nearest("ひたち市")]
    assert len(nearest("常陸市", n=3)) == 3


def _ingest(engine: Engine, data: bytes, **options: Any) -> None:
    prepared = prepare_document(data, "report.txt", **options)
    with writer(engine)() as db, db.begin():
        store_document(db, prepared)


def _stored(engine: Engine) -> list[tuple[str, str | None, str | None]]:
    with reader(engine)() as db:
        return [
            (d.municipality, d.municipality_code, d.prefecture)
            for d in db.scalars(select(Document).order_by(Document.id))
        ]


def test_code_and_prefecture_are_stored(engine: Engine, sample_text: str) -> None:
    _ingest(engine, sample_text.encode())
    _ingest(engine, sample_text.replace("日立市", "かすみがうら市").encode())
    _ingest(engine, sample_text.replace("日立市", "札幌市 中央区").encode())
    _ingest(engine, sample_text.replace("日立市", "東京都府中市").encode())
    hiroshima = sample_text.replace("日立市", "広島県府中市").encode()
    _ingest(engine, hiroshima, municipality="342084", fiscal_year=2019)
    assert _stored(engine) == [
        ("日立市", "082023", "茨城県"),
        ("かすみがうら市", "082309", "茨城県"),
        ("札幌市中央区", "011011", "北海道"),  # the official name is stored
        ("府中市", "132063", "東京都"),
        ("府中市", "342084", "広島県"),
    ]


def test_a_homonym_never_replaces_the_other(engine: Engine, sample_text: str) -> None:
    _ingest(engine, sample_text.replace("日立市", "東京都府中市").encode())
    before = _stored(engine)
    with pytest.raises(DocumentRefused) as refused:
        _ingest(engine, sample_text.replace("日立市", "広島県府中市").encode())
    assert refused.value.reason.startswith(
        "府中市 2020 is stored for 東京都 (132063), another government of the same name"
    )
    assert _stored(engine) == before


@pytest.mark.parametrize(
    ("title", "options", "reason"),
    [
        (
            "府中市",
            {},
            "municipality '府中市' is ambiguous: 府中市 (東京都, 132063), 府中市 (広島県, 342084)",
        ),
        ("常陸市", {}, "unknown municipality '常陸市'; did you mean: 常陸太田市 (茨城県, 082121)"),
        (
            "日立市",
            {"municipality": "日立"},
            "unknown municipality '日立'; did you mean: 日立市 (茨城県, 082023)",
        ),
        ("日立市", {"municipality": "伊達市"}, "municipality '伊達市' is ambiguous"),
    ],
)
def test_refusals_name_the_candidates_and_change_nothing(
    engine: Engine, sample_text: str, title: str, options: dict[str, Any], reason: str
) -> None:
    before = _stored(engine)
    with pytest.raises(DocumentRefused) as refused:
        _ingest(engine, sample_text.replace("日立市", title).encode(), **options)
    assert refused.value.reason.startswith(reason)
    assert _stored(engine) == before


def test_cli_refuses_an_unknown_name_in_one_line(tmp_path: Path, cli_env: dict[str, str]) -> None:
    report = tmp_path / "report.txt"
    report.write_text(SAMPLE.read_text(encoding="utf-8").replace("日立市", "常陸市"), "utf-8")
    refused = CliRunner().invoke(cli, ["ingest", str(report)], env=cli_env)
    assert refused.exit_code != 0
    (line,) = refused.stdout.splitlines() + refused.stderr.splitlines()
    assert line == (
        f"{report}: refused: unknown municipality '常陸市'; did you mean: 常陸太田市 (茨城県, "
        "082121), 常陸大宮市 (茨城県, 082252), 常総市 (茨城県, 082112), 常滑市 (愛知県, 232165), "
        "陸前高田市 (岩手県, 032107)?"
    )
    wrong = CliRunner().invoke(
        cli, ["ingest", "--municipality", "ひたち", str(SAMPLE)], env=cli_env
    )
    assert wrong.exit_code != 0
    assert "unknown municipality 'ひたち'; did you mean: " in wrong.stdout + wrong.stderr
    # The store held nothing before.
    stored = CliRunner().invoke(cli, ["ingest", str(SAMPLE)], env=cli_env)
    assert stored.stdout == f"{SAMPLE}: stored (日立市 2020, 12 measures, layout hitachi)\n"

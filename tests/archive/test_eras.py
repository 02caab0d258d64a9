"""Era years to Western years, as API.md fixes them."""

from __future__ import annotations

import pytest

from archive.eras import era_to_western, fiscal_years_in, parse_era_year, western_to_era_label


@pytest.mark.parametrize(
    ("era", "year", "western"),
    [
        ("令和", "元", 2019),
        ("令和", 2, 2020),
        ("令和", "３", 2021),
        ("平成", 30, 2018),
        ("平成", "元", 1989),
    ],
)
def test_era_to_western(era: str, year: str | int, western: int) -> None:
    assert era_to_western(era, year) == western


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("令和2年度", 2020),
        ("令和２年度", 2020),
        ("R2", 2020),
        ("Ｒ３", 2021),
        ("H30", 2018),
        ("平成30年度", 2018),
        ("令和元年度", 2019),
        ("2020", None),
        ("R", None),
    ],
)
def test_parse_era_year(text: str, year: int | None) -> None:
    assert parse_era_year(text) == year


@pytest.mark.parametrize(
    ("year", "label"), [(2019, "令和元年度"), (2020, "令和2年度"), (2018, "平成30年度")]
)
def test_labels_round_trip(year: int, label: str) -> None:
    assert western_to_era_label(year) == label
    assert parse_era_year(label) == year


def test_only_fiscal_years_count_not_dates() -> None:
    # 令和3年3月 lies in fiscal year 2020; only 年度 names a fiscal year.
    assert fiscal_years_in("令和３年３月末時点、令和２年度の実績、平成31年度") == [2020, 2019]


def test_unknown_era() -> None:
    with pytest.raises(ValueError, match="unknown era"):
        era_to_western("昭和", 50)

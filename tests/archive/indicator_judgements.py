"""Hand judgements of the figures in 達成状況, for measuring ``archive.indicators``.

Written by reading the texts, not from the extractor's output: for each measure (by number
as printed) every figure a researcher would chart, as (value, unit, approximate, label),
where label is what the text names as counted right before the figure, or None. Counts of
broadcast programmes (８本) and of places (２か所) are not figures here, as in issue 5's
list for the sample; dates, durations in names (10分番組) and list markers never are.

``HELD_OUT`` are sentences written to probe the rule's edges, judged before the rule ran on
them; the rule was not tuned on them afterwards.
"""

from __future__ import annotations

Figure = tuple[float, str, bool, str | None]

DOCUMENTS: dict[str, dict[str, list[Figure]]] = {
    "sample/hitachi-action-plan-fy2020.txt": {
        "01": [(99, "件", False, "投稿総数"), (530_000, "人", True, "累計リーチ")],
        "02": [(8, "タイル", False, None), (11_050, "ダウンロード", False, None)],
        "05": [(12, "回", False, None)],
        "06": [(38, "校", False, "市内小中学校")],
        "07": [(7, "件", False, None)],
        "10": [
            (127, "回", False, "電子会議"),
            (81_200, "枚", True, "コピー用紙"),
            (647, "回", False, "WEB会議"),
        ],
        "11": [(110, "%", False, "対前年比"), (0.5, "", True, None)],
    },
    "tests/fixtures/hitachi-action-plan-fy2019.txt": {
        "01": [(85, "件", False, "投稿総数"), (410_000, "人", True, "累計リーチ")],
        "02": [(7, "タイル", False, None), (8_210, "ダウンロード", False, None)],
        "05": [(8, "回", False, None)],
        "06": [(38, "校", False, "市内小中学校")],
        "09": [(98, "回", False, "電子会議"), (62_400, "枚", True, "コピー用紙")],
        "11": [(1_240, "人", False, None)],
        "12": [(1_500, "台", True, "パソコン")],
    },
    "tests/fixtures/hitachi-action-plan-fy2021.txt": {
        "01": [(120, "件", False, "投稿総数"), (650_000, "人", True, "累計リーチ")],
        "02": [(9, "タイル", False, None), (15_300, "ダウンロード", False, None)],
        "04": [(15, "回", False, None)],
        "05": [
            (38, "校", False, "市内小中学校"),
            (40, "校", False, "市内小中学校"),
            (42, "施設", False, None),
        ],
        "06": [(5, "件", False, None), (12, "件", False, None)],
        "09": [
            (140, "回", False, "電子会議"),
            (90_300, "枚", True, "コピー用紙"),
            (1_120, "回", False, "WEB会議"),
        ],
        "10": [(105, "%", False, "対前年比"), (1 / 3, "", True, None)],
        "11": [(2_345, "件", False, "利用件数")],
    },
}

HELD_OUT: list[tuple[str, list[Figure]]] = [
    ("参加者は延べ 1,234名となった。", [(1_234, "名", False, None)]),
    ("事業費は約 3.5億円である。", [(350_000_000, "円", True, None)]),
    ("利用者満足度は 80%以上を維持した。", [(80, "%", False, None)]),
    ("第3次計画の策定に着手し、2020年度に完了した。", []),
    ("Windows 10 への移行を 1,500台で実施。", [(1_500, "台", False, None)]),
    ("令和3年4月1日から 10分間隔で運行した。", []),
    ("市内３か所に設置。", []),
    ("問合せ件数は前年度の半分程度に減少。", []),
    (
        "相談件数 ２４０件（前年度 ２１２件）",
        [(240, "件", False, "相談件数"), (212, "件", False, None)],
    ),
    ("受講者数 12 人", [(12, "人", False, "受講者数")]),
    ("年間約 2万 5千人が来場", [(25_000, "人", True, None)]),
    ("①説明会 ３回 ②研修会 ５回", [(3, "回", False, "説明会"), (5, "回", False, "研修会")]),
    ("削減効果は 1/4 程度", [(0.25, "", True, None)]),
    ("[R3継続]", []),
    ("アクセス数は 12,345 アクセス", [(12_345, "アクセス", False, None)]),
    ("SNSのフォロワーは 3,200人を超えた", [(3_200, "人", False, None)]),
    ("経費を 120万円削減", [(1_200_000, "円", False, None)]),
    ("職員 15名が参加し、3回開催", [(15, "名", False, "職員"), (3, "回", False, None)]),
    ("平成30年度比 5％増", [(5, "%", False, None)]),
    ("5G の活用", []),
]

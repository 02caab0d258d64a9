"""The Japanese texts of the refusals a client may show its users, in one catalog.

Every refusal keeps its English message (what the API has always said; scripts and tests
read it) and its machine-readable code. A refusal a user can meet from the search page also
has a stable ``reason`` key, and this module holds its Japanese text: the API answers with it
when the request's ``Accept-Language`` prefers Japanese (``prefers_japanese``). GraphQL
errors carry the key as ``extensions.reason``; an export's refusal carries it in the
``X-Error-Reason`` header.

A template's ``{name}`` fields are the values the English message was made with (the limit,
the field, the value refused), so both languages say the same thing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

JAPANESE: dict[str, str] = {
    # The search syntax (index/query.py)
    "QUERY_TOO_LONG": "検索語は{limit}文字までです。短くしてください。",
    "QUOTE_NOT_CLOSED": (
        '引用符（"）が閉じていません。フレーズは "市民 サービス" のように前後を引用符で'
        "囲んでください。"
    ),
    "FIELD_NEEDS_VALUE": "{field}: の後に、空白を入れずに値を続けてください。",
    "OR_NEEDS_TERMS": "OR の前後に検索語を入れてください（例: 防災 OR 避難所）。",
    "AND_NEEDS_TERMS": "AND の前後に検索語を入れてください（例: 防災 AND 避難所）。",
    "OR_JOINS_EXCLUDED": "除外する語（-を付けた語）は OR でつなげません。",
    "NO_TERMS": "検索語がありません。",
    "ONLY_EXCLUDED": "除外する語（-を付けた語）のほかに、探す語を一つ以上入れてください。",
    "YEARS_BACKWARDS": (
        "年度の範囲 {value} は始まりが終わりより後です。fiscalYear:2019..2021 のように"
        "書いてください。"
    ),
    "NOT_A_YEAR": (
        "{value} は年度として読めません。fiscalYear:2020、fiscalYear:2019..2021、"
        "fiscalYear:令和2年度 のように書いてください。"
    ),
    "NOT_A_TAG": (
        "tag:{value} は次年度の区分として読めません。tag:R3、tag:完了、tag:R3継続 のように"
        "書いてください。"
    ),
    # Running a search
    "SEARCH_TIMEOUT": "検索が時間内に終わりませんでした。条件を絞って、もう一度お試しください。",
    "INDEX_UNAVAILABLE": (
        "検索の索引がないか、読めません（まだ作られていない、形式が古い、または壊れている）。"
        "管理者は plan-archive reindex を実行してください。"
    ),
    # Pages and cursors
    "CURSOR_EXPIRED": (
        "このページを開いた後に検索結果が変わりました（報告書の差し替えまたは削除）。"
        "もう一度検索してください。"
    ),
    "BAD_CURSOR": (
        "ページの位置（{argument}）が正しくありません。最初のページから開き直してください。"
    ),
    "PAGE_SIZE": "{argument} は1から{largest}までの数にしてください。",
    # Limits on a request
    "QUERY_TOO_DEEP": "問い合わせの入れ子が深すぎます（上限は{limit}段）。",
    "TOO_MANY_ALIASES": "問い合わせの別名が多すぎます（{count}個。上限は{limit}個）。",
    "QUERY_TOO_COSTLY": (
        "問い合わせが大きすぎます（見積もり{cost}、上限{limit}）。1ページの件数か項目を"
        "減らしてください。"
    ),
    "PAYLOAD_TOO_LARGE": "送られたデータが大きすぎます（上限は{limit}バイト）。",
    "TIMEOUT": "{seconds}秒以内に答えられませんでした。条件を絞って、もう一度お試しください。",
    "STORE_BUSY": "データベースが混み合っています。しばらくしてから、もう一度お試しください。",
    "STORE_TIMEOUT": (
        "データベースが時間内に答えませんでした。しばらくしてから、もう一度お試しください。"
    ),
    "STORE_FULL": "データベースの空き容量がありません。管理者に連絡してください。",
    "INTERNAL": "サーバーで問題が起きました。しばらくしてから、もう一度お試しください。",
    # Exports (server/export.py, schema/export.py)
    "EXPORT_UNKNOWN_PARAMETER": "{name} という指定は使えません。使えるのは {known} です。",
    "EXPORT_REPEATED": "{name} は一度だけ指定してください。",
    "EXPORT_NUL": "{name} に使えない文字（NUL）が含まれています。",
    "EXPORT_EMPTY_QUERY": "検索語（q）が空です。一覧全体を書き出すときは q を付けないでください。",
    "EXPORT_LIMIT": "件数（limit）は1から{largest}までの整数にしてください。",
    "EXPORT_YEAR": "{name} は 2020 のような西暦の年度にしてください（{value} は使えません）。",
    "EXPORT_ORDER": "並び順（order）は {orders} のいずれかにしてください。",
    "EXPORT_HEADER": "見出しの言語（header）は ja か en にしてください。",
    "EXPORT_HEADER_JSONL": "JSON Lines の項目名は英語だけです。header を付けないでください。",
    "EXPORT_TOO_LARGE": (
        "書き出す推進事項が{total}件あり、このサーバーの上限{largest}件を超えています。"
        "条件を絞るか、limit={largest} を付けて先頭の{largest}件を書き出してください。"
    ),
    "EXPORTS_BUSY": (
        "このサーバーはいま{running}件の書き出し中です。しばらくしてから、もう一度お試しください。"
    ),
}


def japanese(reason: str | None, params: Mapping[str, object] | None = None) -> str | None:
    """The Japanese text of a refusal, or None when the catalog has none for ``reason``."""
    template = JAPANESE.get(reason or "")
    try:
        return None if template is None else template.format(**(params or {}))
    except KeyError:  # a value the text names was not given: the English says it better
        return None


def prefers_japanese(accept_language: str | None) -> bool:
    """Whether an ``Accept-Language`` header puts Japanese (``ja``, ``ja-JP``…) first: the
    range of the highest q-value, the first listed on a tie. ``*`` is not Japanese: a client
    that names no language keeps the English it has always had."""
    best, chosen = 0.0, ""
    for tag, q in weighted(accept_language):
        if q > best:
            best, chosen = q, tag
    return chosen == "ja" or chosen.startswith("ja-")


def weighted(header: str | None) -> Iterator[tuple[str, float]]:
    """The items of an HTTP header of weighted choices (``Accept``, ``Accept-Language``), in
    order, lower-cased, each with its q-value (1 when none is given, 0 when unreadable)."""
    for item in (header or "").split(","):
        choice, _, parameters = item.partition(";")
        q = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        yield choice.strip().lower(), q

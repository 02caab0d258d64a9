"""The reader on the bundled Hitachi FY2020 sample, field by field, and on short strings.

The expected values below were read off the sample by a person: the wrapped lines joined by
hand, the tag and page furniture left out. They are the specification, not captured output.
"""

from __future__ import annotations

import pytest

from archive.parse import (
    CarryOver,
    ParsedReport,
    department_key,
    municipality_from_title,
    parse_report,
    parse_tag,
    rejoin,
    split_departments,
)

R3 = CarryOver("[R3継続]", "継続", 2021)

# number, pillar, title, departments, others (外), tag
SAMPLE_MEASURES = [
    ("01", 1, "SNSを活用した市長による情報発信の充実", ["秘書課"], False, R3),
    ("02", 1, "スマートフォン向け日立市地域情報アプリの拡充", ["行政マネジメント課"], True, R3),
    ("03", 1, "SNSを活用した上下水道事業に関する情報発信の充実", ["企業局総務課"], True, R3),
    ("04", 2, "高齢者向け行政番組", ["広報戦略課"], False, R3),
    ("05", 2, "高齢者向けタブレット入門講座", ["高齢福祉課"], False, R3),
    ("06", 3, "避難所における公衆無線 LAN（Wi-Fi）環境整備", ["防災対策課"], False, R3),
    ("07", 4, "オープンデータの推進", ["政策企画課", "行政マネジメント課"], False, R3),
    ("08", 4, "政策立案へのデータ活用", ["政策企画課", "行政マネジメント課"], False, R3),
    ("09", 4, "RPAの拡充", ["行政マネジメント課"], False, R3),
    ("10", 4, "タブレット端末の活用", ["行政マネジメント課"], True, R3),
    ("11", 4, "都市計画情報の発信内容の見直し及びシステムの運用", ["都市政策課"], False, None),
    ("12", 5, "強靭な情報セキュリティの維持・運営", ["行政マネジメント課"], False, R3),
]

SAMPLE_PILLARS = [
    (1, "スマートフォン等を活用した市民サービスの推進"),
    (2, "高齢化社会に対応した情報化の推進"),
    (3, "災害に強いまちを構築するための情報化の推進"),
    (4, "電子行政サービスの推進"),
    (5, "強靭な情報セキュリティの構築"),
]

SAMPLE_DESCRIPTIONS = {
    "01": "SNSを活用し、市長自ら市政情報やイベント、公務等に関する情報を市民等にタイムリーに発信する。",
    "02": "日立市地域情報アプリを拡充することによって、市の情報発信力を強化する。"
    "また、画像投稿機能を利用して市民と双方向の情報共有を行うことにより、地域の課題解決を図る。",
    "03": "SNS（フェイスブック）やホームページを活用し、上下水道事業の取組等に関する情報を"
    "市民等にタイムリーに発信する。",
    "04": "テレビ放送（ケーブルテレビ）を活用し、高齢者の生活に役立つ情報を取り上げた番組の充実を図る。",
    "05": "高齢者の居場所「元気 café（カフェ）」において、高齢者向けのタブレット等の操作入門講座を開催する。",
    "06": "災害時に避難所となる施設に公衆無線 LAN（Wi-Fi）環境を整備し、"
    "被災者が情報収集や安否確認等を円滑に行うことができるようにする。",
    "07": "本市が所有するデータのオープンデータ化を推進し、行政の透明性の向上を図るとともに、"
    "民間企業等での当該オープンデータの利用を促進する。",
    "08": "組織横断的なデータの活用等、新たな手法を用いた調査及び研究を行うことにより、"
    "新たな発想による革新的な政策立案を推進する。",
    "09": "庁内における定型的で膨大な業務について、RPAを用いて自動的に処理をすることにより"
    "業務の削減や負荷軽減を実現し、時間外業務の低減や事務効率の向上を図る。"
    "更に、AI-OCRシステムと組み合わせることで、自動化できる業務の範囲を広げる。",
    "10": "タブレット端末を活用した電子会議や WEB会議を推進し、事務の効率化を図る。",
    "11": "都市計画情報の発信内容の見直しによる市民サービスの向上及びシステムの運用による"
    "職員事務負担を軽減する。",
    "12": "情報セキュリティを強化するため、運用体制の強化及び新たな脅威への対応する仕組みの維持・運営を行う。",
}

SAMPLE_ACHIEVEMENTS = {
    "01": "市政情報等をタイムリーに発信し、市民等の日立市政に対する理解や関心を深め、"
    "もって円滑な市政の推進に寄与することを目的に運用を行った。\n"
    "１ 投稿総数 99件（令和２年度）\n"
    "２ 累計リーチ（延べ閲覧者数） 約 53万人",
    "02": "８タイル（子育て、教育、ごみ・リサイクル、防災、天気、危険箇所レポート、観光、職員用）"
    "で運用した。\n令和３年３月末時点で 11,050ダウンロード",
    "03": "SNS（フェイスブック）やホームページを活用し、上下水道事業の取組等に関する情報を"
    "市民等にタイムリーに発信した。\n【主な実績】\n"
    "企業局だよりの発行、経営審議会の開催結果、すいどう絵画コンクール及び下水道促進週間"
    "コンクールの入選作品紹介、断水・工事情報、料金支払猶予申請受付の案内、水質検査結果、"
    "広報アンケートへの協力依頼及び調査結果、スマホ決済アプリ利用開始案内など",
    "04": "行政情報番組「まるごとひたち情報ネット」で高齢者向け各種生活情報番組（８本）を放送した。\n"
    "〔放送番組〕\n"
    "・介護保険サービスの利用案内（10分番組）\n"
    "・シリーズ番組「いきいきシニアスタイル」（５分番組）（２本）\n"
    "※「シルバーリハビリ体操」を紹介する番組などを放送\n"
    "・各種啓発番組「くらしのホットライン」（５分番組）（２本）\n"
    "※「高齢者の消費トラブル防止」をテーマにした番組を放送",
    "05": "市内２か所の「元気 café カフェ」で、令和２年５月から令和３年３月までの間に、"
    "計 12回の高齢者向けのタブレット操作に関する講座を開催した。",
    "06": "市内小中学校の体育館に公衆無線 LAN（Wi-Fi）を整備した。\n"
    "（令和２年 12月完了）\n【整備箇所】\n中里小及び十王中を除く市内小中学校 38校",
    "07": "国がオープンデータ化を推奨する避難所、AED設置箇所、子育て施設等"
    "計７件のデータを９月 30日に市ホームページで公開した。\n"
    "①指定避難所、②指定避難所、③保育施設一覧、④保育施設空き状況、⑤都市計画図、"
    "⑥応急給水場所、⑦AED設置箇所",
    "08": "総合計画策定に向けた基礎資料として、本市を取り巻く現状や課題等を詳細に把握するとともに、"
    "本市の立ち位置や強み・弱みなどの総合力を明らかにするため、"
    "類似団体や近隣自治体の基礎データ整理・分析等を実施した。",
    "09": "１ RPAと AI-OCRを組み合わせて業務時間削減を図ったもの\n"
    "軽自動車税賦課業務（民税）、公的年金支払報告入力業務（民税）、利子補給制度に係る業務（商）\n"
    "２ RPA単体で業務時間削減を図ったもの\n"
    "通勤届申請の確認業務（人）、入札書等の自動送付業務（契）\n"
    "３ AI-OCR単体で業務時間削減を図ったもの\n"
    "請願等の転記業務（議）、地域活動アンケート転記業務（コミュ）、"
    "日中一時支援事業実績記録票入力業務（障）、会計年度任用職員の人事評価入力業務（人）",
    "10": "電子会議は、会議で 127回使用され、コピー用紙約 81,200枚を削減するとともに、"
    "職員の事務負担を軽減した。\n"
    "また、WEB会議は、647回使用され、感染予防とともに、移動時間や経費削減等が図られた。",
    "11": "令和２年７月１日付けで市ホームページ上に公開した。"
    "１か月当たりのホームページアクセス数は対前年比 110％と増加傾向にあり、"
    "都市計画情報（用途地域や都市計画道路など）のオープンデータ化による一定の効果が得られた。\n"
    "都市計画情報システムの運用開始により、市民からの問合せへ回答に掛かる時間を 1/2程度に短縮でき、"
    "職員負担軽減が図られた。",
    "12": "継続的にセキュリティ強化策の運用を行った。",
}


def test_sample_document_facts(sample_report: ParsedReport) -> None:
    assert sample_report.title == "日立市情報化推進アクションプランの体系"
    assert sample_report.municipality == "日立市"
    assert sample_report.fiscal_year == 2020
    assert [(p.number, p.title) for p in sample_report.pillars] == SAMPLE_PILLARS


@pytest.mark.parametrize(
    ("number", "pillar", "title", "departments", "others", "carry_over"), SAMPLE_MEASURES
)
def test_sample_measure(
    sample_report: ParsedReport,
    number: str,
    pillar: int,
    title: str,
    departments: list[str],
    others: bool,
    carry_over: CarryOver | None,
) -> None:
    measure = {m.number: m for m in sample_report.measures}[number]
    assert measure.title == title
    assert list(measure.departments) == departments
    assert measure.departments_others is others
    assert measure.carry_over == carry_over
    assert measure.pillar_number == pillar
    assert measure.description == SAMPLE_DESCRIPTIONS[number]
    assert measure.achievement == SAMPLE_ACHIEVEMENTS[number]


def test_sample_has_exactly_twelve_measures(sample_report: ParsedReport) -> None:
    assert [m.number for m in sample_report.measures] == [f"{n:02d}" for n in range(1, 13)]


def test_provenance_points_at_the_raw_lines(sample_text: str, sample_report: ParsedReport) -> None:
    raw = sample_text.split("\n")
    for measure in sample_report.measures:
        first, last = measure.provenance["title"]
        assert measure.title in " ".join(raw[first - 1 : last])
        first, last = measure.provenance["achievement"]
        span = "".join(raw[first - 1 : last]).replace(" ", "")
        for line in measure.achievement.split("\n"):
            assert line.replace(" ", "") in span
        if measure.carry_over:
            (line_number, _) = measure.provenance["carry_over"]
            assert measure.carry_over.tag in raw[line_number - 1]


# -- short strings -------------------------------------------------------------------------


def test_wrapped_japanese_line_joins_without_space() -> None:
    text = "情報を市\n\n民等にタイムリーに発信する。 \n次の文。 "
    assert [line.text for line in rejoin(text)] == [
        "情報を市民等にタイムリーに発信する。",
        "次の文。",
    ]


def test_wrapped_latin_word_keeps_its_space() -> None:
    text = "Open data is published for\nresearchers. \nend "
    assert rejoin(text)[0].text == "Open data is published for researchers."


@pytest.mark.parametrize(
    "second",
    [
        "１ 投稿総数 99件",
        "・介護保険",
        "※番組",
        "①指定避難所",
        "【主な実績】",
        "〔放送番組〕",
        " 字下げの段落",
    ],
)
def test_real_breaks_stay_breaks(second: str) -> None:
    lines = rejoin(f"折り返しのように見える行\n{second} \nおわり。 ")
    assert lines[1].text == second.strip()


@pytest.mark.parametrize("furniture", ["- 3 -", "－３－", "3 / 12", "p.3", "  12  "])
def test_page_numbers_are_dropped_and_do_not_break_a_wrap(furniture: str) -> None:
    lines = rejoin(f"情報を市\n{furniture}\n民等に発信する。 ")
    assert [line.text for line in lines] == ["情報を市民等に発信する。"]
    assert (lines[0].first, lines[0].last) == (1, 3)


def test_pillar_glued_to_the_tag_line() -> None:
    text = (
        "No 01 推進事項 一つ目 \n担当部課所 秘書課 \n事業内容 \n内容。 \n達成状況 \n"
        "実施した。 [R3継続] ２ 高齢化社会に対応した情報化の推進 \n"
        "No 02 推進事項 二つ目 \n担当部課所 秘書課 \n事業内容 \n内容。 \n達成状況 \n実施した。 "
    )
    report = parse_report(text)
    assert [(p.number, p.title) for p in report.pillars] == [
        (2, "高齢化社会に対応した情報化の推進")
    ]
    assert report.measures[0].achievement == "実施した。"
    assert report.measures[1].pillar_number == 2


def test_measure_start_with_leading_space_and_half_width() -> None:
    report = parse_report(" No 7 推進事項 題 \n達成状況 実施した。 [R4継続] ")
    assert report.measures[0].number == "07"
    assert report.measures[0].achievement == "実施した。"
    assert report.measures[0].carry_over == CarryOver("[R4継続]", "継続", 2022)
    assert report.fiscal_year == 2021


def test_numbered_list_item_before_next_measure_is_not_a_pillar() -> None:
    text = (
        "No 01 推進事項 題 \n達成状況 \n１ 投稿総数 99件 \n２ 累計リーチ 約 53万人 \n"
        "No 02 推進事項 次 \n達成状況 実施した。 "
    )
    report = parse_report(text)
    assert report.pillars == ()
    assert report.measures[0].achievement == "１ 投稿総数 99件\n２ 累計リーチ 約 53万人"


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("[R3継続]", CarryOver("[R3継続]", "継続", 2021)),
        ("［Ｒ４継続］", CarryOver("［Ｒ４継続］", "継続", 2022)),
        ("[完了]", CarryOver("[完了]", "完了", None)),
        ("[新規]", CarryOver("[新規]", "新規", None)),
        ("[廃止]", CarryOver("[廃止]", "廃止", None)),
        ("[令和元年度継続]", CarryOver("[令和元年度継続]", "継続", 2019)),
    ],
)
def test_tags(tag: str, expected: CarryOver) -> None:
    assert parse_tag(tag) == expected


@pytest.mark.parametrize(
    ("text", "names", "others"),
    [
        ("秘書課", ("秘書課",), False),
        ("行政マネジメント課 外", ("行政マネジメント課",), True),
        ("政策企画課、行政マネジメント課", ("政策企画課", "行政マネジメント課"), False),
        ("政策企画課、行政マネジメント課、外", ("政策企画課", "行政マネジメント課"), True),
        ("外国人支援課", ("外国人支援課",), False),
    ],
)
def test_split_departments(text: str, names: tuple[str, ...], others: bool) -> None:
    assert split_departments(text) == (names, others)


def test_department_key_folds_width_and_spaces() -> None:
    assert department_key("ＩＴ 推進課") == department_key("IT推進課")


@pytest.mark.parametrize(
    ("title", "municipality"),
    [
        ("日立市情報化推進アクションプランの体系", "日立市"),
        ("茨城県日立市情報化推進計画", "日立市"),
        ("町田市デジタル化アクションプラン", "町田市"),
        ("情報化推進アクションプラン", None),
    ],
)
def test_municipality_from_title(title: str, municipality: str | None) -> None:
    assert municipality_from_title(title) == municipality


def test_fiscal_year_from_title_wins_over_tags() -> None:
    report = parse_report(
        "令和元年度 日立市実績報告 \nNo 01 推進事項 題 \n達成状況 実施した。 [R3継続] "
    )
    assert report.fiscal_year == 2019


def test_text_without_measures_has_no_structure() -> None:
    report = parse_report("日立市のお知らせ \n令和２年度の予定です。 ")
    assert report.measures == ()
    assert report.fiscal_year == 2020

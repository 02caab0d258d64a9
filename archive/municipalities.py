"""Every Japanese local government, from the official list shipped as ``archive/data``.

The list (``municipalities.csv``: code, prefecture, name, kana, kind) holds the 47
prefectures, the cities, towns and villages, Tokyo's 23 special wards, the designated cities
and their wards, each with its 6-digit local government code. A designated city's ward is
listed under its full name (札幌市中央区).

``find`` reads the municipality a report names; ``lookup`` resolves a name or code a clerk
typed; ``nearest`` suggests names for one the list does not know. A name held by more than
one government (府中市 in Tokyo and Hiroshima, a ward 北区 in Tokyo and in eight designated
cities) is decided by a prefecture (or, for a ward, its city) printed before it, else refused
with its candidates: the archive never guesses a municipality.
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources

from archive.errors import Refused

KINDS = (
    "prefecture",
    "city",
    "designated_city",
    "designated_ward",
    "special_ward",
    "town",
    "village",
)


@dataclass(frozen=True)
class Municipality:
    """One local government of the official list."""

    code: str  # 6 digits, the 全国地方公共団体コード with its check digit
    prefecture: str  # 東京都; a prefecture's own prefecture is itself
    name: str  # official name; a designated city's ward with its city: 札幌市中央区
    kana: str
    kind: str  # one of KINDS

    def label(self) -> str:
        """``府中市 (東京都, 132063)``: enough to tell homonyms apart in a message."""
        if self.kind == "prefecture":
            return f"{self.name} ({self.code})"
        return f"{self.name} ({self.prefecture}, {self.code})"


class MunicipalityError(Refused, ValueError):
    """A name that does not name exactly one local government; ``str()`` is one line."""

    def __init__(self, message: str, name: str, candidates: Sequence[Municipality]) -> None:
        super().__init__(message)
        self.name = name
        self.candidates = tuple(candidates)


class UnknownMunicipality(MunicipalityError):
    """The list holds no such name."""

    def __init__(self, name: str, candidates: Sequence[Municipality]) -> None:
        hint = ", ".join(m.label() for m in candidates)
        message = f"unknown municipality {name!r}"
        message += f"; did you mean: {hint}?" if hint else "; it is not in the official list"
        super().__init__(message, name, candidates)


class AmbiguousMunicipality(MunicipalityError):
    """Several governments bear the name and nothing printed tells which."""

    def __init__(self, name: str, candidates: Sequence[Municipality]) -> None:
        listed = ", ".join(m.label() for m in candidates)
        super().__init__(
            f"municipality {name!r} is ambiguous: {listed}; print its prefecture before it "
            "or pass --municipality with the code",
            name,
            candidates,
        )


@dataclass(frozen=True)
class _Directory:
    all: tuple[Municipality, ...]
    by_code: dict[str, Municipality]
    by_key: dict[str, tuple[Municipality, ...]]  # match key of the name -> governments
    prefectures: dict[str, Municipality]
    longest: int
    shortest: int


def _key(text: str) -> str:
    """What names are compared on: NFKC, no spaces, small ケ/カ folded (龍ヶ崎市 = 龍ケ崎市)."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s　]+", "", text).replace("ヶ", "ケ").replace("ヵ", "カ")


def _ward_name(municipality: Municipality) -> str | None:
    """A designated city's ward as printed alone: 札幌市中央区 -> 中央区."""
    if municipality.kind != "designated_ward":
        return None
    _city, sep, ward = municipality.name.partition("市")
    return ward if sep and ward else None


def _read(rows: Iterable[dict[str, str]]) -> _Directory:
    everyone = tuple(
        Municipality(r["code"], r["prefecture"], r["name"], r["kana"], r["kind"]) for r in rows
    )
    by_key: dict[str, list[Municipality]] = {}
    for municipality in everyone:
        by_key.setdefault(_key(municipality.name), []).append(municipality)
    for municipality in everyone:  # a ward printed without its city is a candidate too
        ward = _ward_name(municipality)
        if ward:
            by_key.setdefault(_key(ward), []).append(municipality)
    return _Directory(
        all=everyone,
        by_code={m.code: m for m in everyone},
        by_key={k: tuple(v) for k, v in by_key.items()},
        prefectures={m.name: m for m in everyone if m.kind == "prefecture"},
        longest=max(len(k) for k in by_key),
        shortest=min(len(k) for k in by_key),
    )


@functools.cache
def _directory() -> _Directory:
    data = resources.files("archive").joinpath("data/municipalities.csv").read_bytes()
    return _read(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def all_municipalities() -> tuple[Municipality, ...]:
    """The whole list, in its order (by code)."""
    return _directory().all


def by_code(code: str) -> Municipality | None:
    return _directory().by_code.get(code)


_TO_KATAKANA = {code: code + 0x60 for code in range(ord("ぁ"), ord("ゖ") + 1)}


def nearest(name: str, n: int = 5) -> list[Municipality]:
    """Up to ``n`` governments whose name (or kana) is closest to ``name``; best first."""
    directory = _directory()
    key = _key(name)
    kana = key.translate(_TO_KATAKANA)
    scores: dict[str, float] = {}
    for municipality in directory.all:
        score = max(
            difflib.SequenceMatcher(None, key, _key(municipality.name)).ratio(),
            difflib.SequenceMatcher(None, kana, municipality.kana).ratio(),
        )
        scores[municipality.code] = score
    ranked = sorted(directory.all, key=lambda m: (-scores[m.code], m.code))
    return [m for m in ranked[:n] if scores[m.code] >= 0.4]


# ---------------------------------------------------------------------------------------------
# Names a report prints


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    text: str
    candidates: tuple[Municipality, ...]


def _mentions(text: str) -> Iterator[_Mention]:
    """Names of the list in ``text``, leftmost-longest and without overlaps."""
    directory = _directory()
    key = _key(text)
    position = 0
    while position < len(key):
        for length in range(
            min(directory.longest, len(key) - position), directory.shortest - 1, -1
        ):
            candidates = directory.by_key.get(key[position : position + length])
            if candidates:
                yield _Mention(
                    position, position + length, key[position : position + length], candidates
                )
                position += length
                break
        else:
            position += 1


def _decide(mention: _Mention, before: Sequence[_Mention]) -> Municipality:
    """The one government ``mention`` names, judged by the names printed before it."""
    candidates = mention.candidates
    if len(candidates) == 1:
        return candidates[0]
    for earlier in reversed(before):  # the nearest qualifier printed before wins
        places = {m.name for m in earlier.candidates if m.kind in ("prefecture", "designated_city")}
        for place in places:
            fitting = [
                m
                for m in candidates
                if m.prefecture == place
                or (m.kind == "designated_ward" and m.name.startswith(place))
            ]
            if len(fitting) == 1:
                return fitting[0]
            if fitting:
                candidates = tuple(fitting)  # narrowed (大阪府: 大阪市北区 or 堺市北区): go on
    raise AmbiguousMunicipality(mention.text, candidates)


# What looks like a name at the start of a title: a stem of 2 to 5 characters (none of them
# 市町村区 or の) and the suffix. Generic words (特別区, 政令市, 地区, 新市) are none.
_NAME_LIKE = re.compile(r"^(?:\S{2,3}?[都道府県])?([^市町村区の]{2,5})([市町村区])")
_LEADING_YEAR = re.compile(r"^[\s(（]*(?:令和|平成|昭和)\s*(?:元|\d{1,2})\s*年度?[)）]?\s*")
_GENERIC_STEMS = ("特別", "政令", "中核", "港湾", "指定", "近隣", "周辺", "同一", "全国", "都市")


def find(title: str, opening: str) -> Municipality | None:
    """The government a report names: in its title, else in its opening lines.

    Names are matched leftmost-longest, so 札幌市中央区 beats 札幌市. A prefecture or a
    designated city printed right before a name qualifies it (茨城県日立市, 札幌市 北区) and
    the name wins; otherwise the first name printed is the report's (a prefecture's own
    report names the prefecture first). A homonym is decided by the nearest prefecture (or, for
    a ward, city) printed before it, else ``AmbiguousMunicipality`` with the candidates.
    A title that starts with what looks like a name but is none of the list raises
    ``UnknownMunicipality`` with the nearest names; nothing name-like gives None.
    """
    for text in (title, opening):
        mentions = list(_mentions(text))
        if not mentions:
            continue
        chosen = 0
        while chosen + 1 < len(mentions) and _qualifies(mentions[chosen], mentions[chosen + 1]):
            chosen += 1
        last = mentions[chosen]
        if last.candidates[0].kind == "prefecture":  # 茨城県常陸市: not the prefecture's report
            _refuse_name_like(_key(text)[last.end :])
        return _decide(last, mentions[:chosen])
    _refuse_name_like(_LEADING_YEAR.sub("", _key(title)))
    return None


def _refuse_name_like(text: str) -> None:
    """``UnknownMunicipality`` when ``text`` starts with what looks like a name."""
    guess = _NAME_LIKE.match(text)
    if guess and guess.group(1) not in _GENERIC_STEMS and not guess.group(1).endswith("地"):
        name = guess.group(1) + guess.group(2)
        raise UnknownMunicipality(name, nearest(name))


def _qualifies(left: _Mention, right: _Mention) -> bool:
    """``left`` (a prefecture or designated city) is printed right before ``right``."""
    return left.end == right.start and any(
        m.kind in ("prefecture", "designated_city") for m in left.candidates
    )


def lookup(name: str, context: str = "") -> Municipality:
    """A government a clerk named: its code (6 or 5 digits), official name, prefecture and
    name (東京都府中市), or a ward's bare name (中央区: Tokyo's and ten cities'). A name several
    governments bear is decided by ``context`` (the report's title and opening lines): the
    whole name printed (札幌市中央区), else its designated city, else its prefecture; otherwise
    refused with the candidates. An unknown name is refused with the nearest ones."""
    directory = _directory()
    key = _key(name)
    if re.fullmatch(r"\d{6}", key) and key in directory.by_code:
        return directory.by_code[key]
    if re.fullmatch(r"\d{5}", key):
        found = [m for m in directory.all if m.code[:5] == key]
        if len(found) == 1:
            return found[0]
    named = list(directory.by_key.get(key, ()))  # a bare ward name: every city's ward too
    if not named:
        for prefecture in directory.prefectures:
            if key.startswith(prefecture) and len(key) > len(prefecture):
                rest = directory.by_key.get(key[len(prefecture) :], ())
                named = [m for m in rest if m.prefecture == prefecture]
                break
    if len(named) == 1:
        return named[0]
    if named:
        mentions = list(_mentions(context))
        printed = {
            c for mention in mentions if len(mention.candidates) == 1 for c in mention.candidates
        }
        places = {c for mention in mentions for c in mention.candidates}
        cities = [c.name for c in places if c.kind == "designated_city"]
        prefectures = {c.name for c in places if c.kind == "prefecture"}
        for fitting in (
            [m for m in named if m in printed],  # 札幌市中央区 printed whole
            [m for m in named if any(m.name.startswith(city) for city in cities)],
            [m for m in named if m.prefecture in prefectures],
        ):
            if len(fitting) == 1:
                return fitting[0]
        raise AmbiguousMunicipality(name, named)
    raise UnknownMunicipality(name, nearest(name))

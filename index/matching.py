"""Matching: which entries of a snapshot contain a query's terms, exactly or by words.

Counts must be exact, because researchers read ``totalCount`` and the facets. An AND of
bigrams over-matches where the pieces recur apart (令和2年度 at 100k measures: 44,919 hits
for 15,797 true ones), so postings are used only for what they are fast at: the postings of
the query's rarest term give a candidate set. Each candidate is then verified against its
normalised text, held in memory per snapshot, with a substring test (and whole-word edges
for Latin). What survives is exactly the set of measures that contain the query. What a term
matched is cached in the snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np

from archive.parse import department_key
from index.analysis import WORD_CLASS, is_cjk, is_word, query_terms
from index.fields import tag_term
from index.query import LABELS, And, Exact, Node, Not, Or, Tag, Text, Years, label_value
from index.snapshot import Array, Matches, Snapshot

# Called now and then during a long match: raises once the search's time is up.
CheckTime = Callable[[], None]

_PREFIX_TERMS_AT_MOST = 64  # a kanji that starts more bigrams than this is found by a scan
_VERIFY_AT_MOST = 2000  # more candidates than this: scan all text instead of verifying each


def matches(snapshot: Snapshot, text: Text, check_time: CheckTime) -> Matches:
    """The measures containing ``text``, cached per snapshot."""
    with snapshot.lock:
        cached = snapshot.text_matches.get(text)
    if cached is not None:
        return cached
    found = _match(snapshot, text, check_time)
    with snapshot.lock:
        snapshot.text_matches[text] = found
    return found


def word_matches(snapshot: Snapshot, words: tuple[str, ...]) -> Matches:
    """The entries holding every one of ``words`` among their content words (the
    ``words`` field's postings, intersected), with the least frequency of the words in
    each as its frequency; cached per snapshot."""
    with snapshot.lock:
        cached = snapshot.word_matches.get(words)
    if cached is not None:
        return cached
    docnums: Array | None = None
    least: Array | None = None
    for word in sorted(words, key=lambda w: snapshot.frequency("words", w)):
        ids, frequencies = snapshot.postings("words", [word])
        if docnums is None or least is None:
            docnums, least = ids, frequencies
        else:
            chosen = np.zeros(snapshot.size)
            chosen[ids] = frequencies
            held = chosen[docnums]
            keep = held > 0
            docnums, least = docnums[keep], np.minimum(least[keep], held[keep])
        if not len(docnums):
            break
    assert docnums is not None
    assert least is not None
    keep = snapshot.live[docnums]
    found = Matches(docnums[keep], np.zeros(int(keep.sum())), least[keep])
    with snapshot.lock:
        snapshot.word_matches[words] = found
    return found


def _match(snapshot: Snapshot, text: Text, check_time: CheckTime) -> Matches:
    fieldname = "title" if text.field == "title" else "all"
    tokens = query_terms(text.text)
    terms = list(dict.fromkeys(tokens))
    frequency = snapshot.frequency
    if len(tokens) == 1:
        # One token (a bigram, a word, one kanji): its postings are exactly the measures
        # that contain it, and their weights are its frequencies. Nothing to verify.
        expanded = snapshot.expand_prefix(fieldname, terms[0]) if _single_cjk(terms[0]) else terms
        if len(expanded) > _PREFIX_TERMS_AT_MOST:
            return _scan(snapshot, text)  # one common kanji: hundreds of posting lists
        docnums, in_field = snapshot.postings(fieldname, expanded)
        keep = snapshot.live[docnums]
        docnums, in_field = docnums[keep], in_field[keep]
        if fieldname == "title":
            return Matches(docnums, in_field, np.zeros(len(docnums)))
        title_docnums, in_title = snapshot.postings("title", expanded)
        dense = np.zeros(len(snapshot.live))
        dense[title_docnums] = in_title
        title = dense[docnums]
        return Matches(docnums, title, in_field - title)
    whole = [t for t in terms if not _single_cjk(t)]
    rarest = sorted(whole, key=lambda t: frequency(fieldname, t))
    overlapping = _has_border(text.text)  # "2 2": the scan's split would miss overlaps
    if rarest and (overlapping or frequency(fieldname, rarest[0]) <= _VERIFY_AT_MOST):
        candidates, _ = snapshot.postings(fieldname, rarest[:1])
        return _verify(snapshot, text, candidates[snapshot.live[candidates]], check_time)
    # No token of two characters to narrow it down (市(区), or even the rarest one is
    # everywhere: one scan of all text costs less than reading postings.
    return _scan(snapshot, text)


def _scan(snapshot: Snapshot, text: Text) -> Matches:
    """Find ``text`` by scanning all normalised text at once (about 20 ms at 100k entries,
    whatever the term), for terms whose candidates would take longer to verify."""
    needle = text.text
    # str.split finds every occurrence in C; the lengths of the pieces give the positions.
    lengths = np.fromiter(map(len, snapshot.corpus.split(needle)), np.int64)
    positions = np.cumsum(lengths[:-1] + len(needle)) - len(needle)
    if edge_pattern(needle) is not None:  # a Latin word matches only whole
        corpus, end = snapshot.corpus, len(needle)
        positions = np.array(
            [p for p in positions.tolist() if _whole_word(corpus, p, p + end)], np.int64
        )
    entry = np.searchsorted(snapshot.corpus_starts, positions, side="right") - 1
    in_title = positions + len(needle) <= snapshot.title_ends[entry]
    if text.field == "title":
        entry, in_title = entry[in_title], in_title[in_title]
    entries, inverse = np.unique(entry, return_inverse=True)
    title = np.bincount(inverse, weights=in_title, minlength=len(entries))
    every = np.bincount(inverse, minlength=len(entries)).astype(np.float64)
    keep = snapshot.live[entries]  # the text holds deleted entries too
    return Matches(entries[keep], title[keep], (every - title)[keep])


def _verify(snapshot: Snapshot, text: Text, candidates: Array, check_time: CheckTime) -> Matches:
    """Keep the candidates whose normalised text contains ``text``, counting it."""
    needle = text.text
    pattern = edge_pattern(needle)
    title_only = text.field == "title"
    corpus = snapshot.corpus
    spans = zip(
        candidates.tolist(),
        snapshot.corpus_starts[candidates].tolist(),
        snapshot.title_ends[candidates].tolist(),
        snapshot.rest_starts[candidates].tolist(),
        snapshot.corpus_ends[candidates].tolist(),
        strict=True,
    )
    found: list[int] = []
    in_title: list[int] = []
    in_rest: list[int] = []
    for count, (docnum, start, title_end, rest_start, end) in enumerate(spans):
        if count % 4096 == 0:
            check_time()
        value = corpus[start : title_end if title_only else end]
        if needle in value and (pattern is None or pattern.search(value)):
            found.append(docnum)
            in_title.append(corpus.count(needle, start, title_end))
            in_rest.append(0 if title_only else corpus.count(needle, rest_start, end))
    return Matches(
        np.array(found, dtype=np.int64),
        np.array(in_title, dtype=np.float64),
        np.array(in_rest, dtype=np.float64),
    )


def evaluate(
    snapshot: Snapshot, node: Node, check_time: CheckTime, by_words: bool = False
) -> Array:
    """Sorted docnums of the live entries that match ``node``: exactly, or ``by_words``
    also where a term's content words all occur. An excluded term is always matched
    exactly, so the hits by words are a superset of the exact hits."""
    if isinstance(node, Text):
        exact = matches(snapshot, node, check_time).docnums
        if not (by_words and node.words):
            return exact
        chosen = np.zeros(snapshot.size, dtype=bool)
        chosen[exact] = True
        chosen[word_matches(snapshot, node.words).docnums] = True
        return np.flatnonzero(chosen)
    if isinstance(node, Years):
        return np.flatnonzero(
            snapshot.live & (snapshot.year >= node.first) & (snapshot.year <= node.last)
        )
    if isinstance(node, Exact) and node.column == "number":
        wanted = [
            code
            for code, value in enumerate(snapshot.number.values)
            if label_value("number", str(value)) == node.value
        ]
        return np.flatnonzero(snapshot.live & np.isin(snapshot.number.codes, wanted))
    if isinstance(node, Exact):
        as_is = node.column in ("status", "grade")  # the others go by their key
        value = node.value if as_is else department_key(node.value)
        docnums, _ = snapshot.postings(node.column, [value])
        return docnums[snapshot.live[docnums]]
    if isinstance(node, Tag):
        docnums, _ = snapshot.postings("tag", [tag_term(node.status, node.year)])
        return docnums[snapshot.live[docnums]]
    # Set algebra on sorted docnums through a mask over all entries: linear, where
    # numpy's intersect1d/union1d sort the two sets together.
    if isinstance(node, Or):
        chosen = np.zeros(snapshot.size, dtype=bool)
        for child in node.children:
            chosen[evaluate(snapshot, child, check_time, by_words)] = True
        return np.flatnonzero(chosen)
    if isinstance(node, And):
        positive = [c for c in node.children if not isinstance(c, Not)]
        sets = sorted((evaluate(snapshot, c, check_time, by_words) for c in positive), key=len)
        found = sets[0]
        for other in sets[1:]:
            chosen = np.zeros(snapshot.size, dtype=bool)
            chosen[other] = True
            found = found[chosen[found]]
        for child in node.children:
            if isinstance(child, Not) and len(found):
                chosen = np.zeros(snapshot.size, dtype=bool)
                chosen[evaluate(snapshot, child.child, check_time)] = True
                found = found[~chosen[found]]
        return found
    raise AssertionError(f"a query cannot start with {node!r}")  # parse_query forbids it


def matched_terms(
    snapshot: Snapshot, docnum: int, texts: Iterable[Text], by_words: bool = False
) -> tuple[str, ...]:
    """The terms found in the hit's text; ``by_words``, for a term not found as it is,
    those of its words that are (a word Sudachi found in another form is not marked)."""
    title, joined = snapshot.title(docnum), snapshot.joined(docnum)
    found: list[str] = []
    for text in texts:
        if text.text in (title if text.field == "title" else joined):
            found.append(text.text)
        elif by_words:
            found += [word for word in text.words if word in joined]
    return tuple(dict.fromkeys(found))


def label_matches(
    snapshot: Snapshot, labels: Iterable[Tag | Exact], check_time: CheckTime
) -> list[tuple[str, Array]]:
    """Each label term of a query with the entries it matches, by the highlight name of
    what it matches ("carry_over", "grade", "number"): found once per search."""
    return [
        (
            "carry_over" if isinstance(label, Tag) else LABELS[label.column],
            evaluate(snapshot, label, check_time),
        )
        for label in labels
    ]


def matched_labels(docnum: int, matches: list[tuple[str, Array]]) -> tuple[str, ...]:
    """The labels of the hit that the query's label terms (``label_matches``) match."""
    found = []
    for name, docnums in matches:
        at = int(np.searchsorted(docnums, docnum))
        if at < len(docnums) and docnums[at] == docnum:
            found.append(name)
    return tuple(dict.fromkeys(found))


def _has_border(needle: str) -> bool:
    """Whether a proper prefix of ``needle`` is also its suffix, so occurrences can overlap."""
    return any(needle[:k] == needle[-k:] for k in range(1, len(needle)))


def _single_cjk(term: str) -> bool:
    return len(term) == 1 and is_cjk(term)


def _whole_word(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is not part of a longer word (Latin, digits, any script
    but kanji and kana, exactly the runs the analysis makes words of)."""
    before = start > 0 and is_word(text[start]) and is_word(text[start - 1])
    after = end < len(text) and is_word(text[end - 1]) and is_word(text[end])
    return not (before or after)


def edge_pattern(needle: str) -> re.Pattern[str] | None:
    """Words match whole: ``lan`` must not match inside ``planning``."""
    before, after = is_word(needle[0]), is_word(needle[-1])
    if not (before or after):
        return None
    return re.compile(
        (f"(?<!{WORD_CLASS})" if before else "")
        + re.escape(needle)
        + (f"(?!{WORD_CLASS})" if after else "")
    )

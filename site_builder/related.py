"""MODEL: "more on this topic": each story's nearest stories by shared topics and title
words, computed once per build, and redone only near the stories that changed when the
last build's tables are at hand (MoreOnMemo)."""

from __future__ import annotations

import functools
import heapq
import operator
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress, count

from .models import Article, Topic


MORE_WINDOW = 8  # neighbours considered per shared topic: bounded work, not O(n²)
TITLE_WEIGHT = 3  # a near-identical title counts like three shared topics
MIN_SIMILARITY = 0.3  # title overlap below this, without a shared topic, is coincidence
RARE_WORD_LIMIT = 20  # a word in more titles than this says little, and would cost O(n) each
WORDS_LOOKED_UP = 4  # a title's rarest words used to find similar titles
_WORD = re.compile(r"\w+")
_STOP_WORDS = frozenset(
    "about after all and are but can for from has have how into its more new not now out over "
    "than that the their this was what when why will with you your".split()
)


# A long-lived preview computes the same titles' words each build, in the same order: the
# cache must hold every title of a large site, or it evicts each one just before its turn.
@functools.lru_cache(maxsize=1 << 18)
def title_words(title: str) -> frozenset[str]:
    """A title's significant words: case-folded, three letters or more (or with a digit:
    "5g", "m3"), no stop words."""
    return frozenset(
        w for w in _WORD.findall(title.casefold())
        if (len(w) >= 3 or any(c.isdigit() for c in w)) and w not in _STOP_WORDS
    )


def title_similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two titles' word sets: 1.0 for the same words."""
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared) if shared else 0.0


def more_on_topics(
    articles: Sequence[Article], groups: dict[Topic, list[Article]], topics: dict[str, Topic], limit: int = 5
) -> dict[str, tuple[Article, ...]]:
    """For each article (by source), up to `limit` other stories on the same subject.

    Candidates are the articles nearest in time within each shared topic, and the
    articles sharing one of the title's rarest words (found through an index of words
    in at most RARE_WORD_LIMIT titles): at most a constant number per article, so the
    whole is O(n · k), not O(n²). A candidate needs a shared topic or a title similarity
    of MIN_SIMILARITY. Ranked by shared topics + TITLE_WEIGHT × title similarity, then
    by closeness in time, then by URL.
    """
    found = more_on_with_memo(articles, groups, topics, None, limit)[0]
    by_source = {a.source: a for a in articles}
    return {source: tuple(map(by_source.__getitem__, others)) for source, others in found.items()}


@dataclass(frozen=True, slots=True)
class MoreOnMemo:
    """What one build's more_on_topics saw and found, so the next build recomputes only
    the stories near a change (same topic, within the window; or sharing a rare title
    word) and copies the rest: the result is the same as computing everything."""

    params: tuple  # the limit and the tuning constants it was computed with
    order: tuple[str, ...]  # article sources, newest first
    features: dict[str, tuple]  # source -> (title, topic keys, timestamp, web_url): all it reads
    result: dict[str, tuple[str, ...]]  # source -> sources of its "more on" stories
    # The tables it was computed from, for the next build in this process; not saved.
    tables: _Tables | None = field(default=None, compare=False, repr=False)

    def __reduce__(self):
        return MoreOnMemo, (self.params, self.order, self.features, self.result)


@dataclass(frozen=True, slots=True)
class _Tables:
    """more_on_with_memo's tables over all the articles, made before it ranks any. A
    long-lived build (serve, --watch) patches them for the changed stories when the
    stories are in the same order and the same topic lists (`groups`, the very same
    object: the plan reuses it then), instead of making them again: at 10,000 stories
    that is most of the cost of one edit's "more on"."""

    articles: tuple[Article, ...]
    groups: dict  # the topic lists they were made from, compared by identity
    index: dict[str, int]  # source -> position
    features: dict[str, tuple]  # source -> MoreOnMemo feature
    words: list[frozenset[str]]  # by position: title words
    keys: list[frozenset[str]]  # by position: case-folded topic names
    stamps: list[float]  # by position: timestamps
    members_of: dict[str, list[int]]  # topic key -> positions, newest first
    position: dict[str, dict[int, int]]  # topic key -> {position: place in that topic's list}
    all_words: dict[str, list[int]]  # word -> positions of the titles that have it
    by_word: dict[str, list[int]]  # the same, for the rare words only


def _too_many(changed: int, stories: int) -> bool:
    """More changed stories than working near them is worth: everything is computed."""
    return changed > max(50, stories // 20)


def _feature(article: Article) -> tuple:
    return article.title, frozenset(map(str.casefold, article.topics)), article.published.timestamp(), article.web_url


def _make_tables(articles: tuple[Article, ...], groups: dict[Topic, list[Article]], topics: dict[str, Topic]) -> _Tables:
    # Positions in `articles`: integer sets and lists, not dicts of strings.
    index = {a.source: i for i, a in enumerate(articles)}
    features = [_feature(a) for a in articles]
    words = [title_words(f[0]) for f in features]
    members_of = {key: [index[a.source] for a in groups[topic]] for key, topic in topics.items()}
    all_words = _word_index(words)
    return _Tables(
        articles, groups, index, {a.source: f for a, f in zip(articles, features)}, words, [f[1] for f in features],
        [f[2] for f in features], members_of,
        {key: {n: i for i, n in enumerate(members)} for key, members in members_of.items()},
        all_words, {word: members for word, members in all_words.items() if len(members) <= RARE_WORD_LIMIT},
    )


def _patched_tables(old: _Tables, articles: tuple[Article, ...], groups: dict) -> tuple[_Tables, set[str]] | None:
    """`old` with the articles that are not the very same objects put in, and the sources
    whose feature changed; None when the stories are not the same ones in the same order
    and topic lists, or too many changed (making the tables anew is then as cheap)."""
    if groups is not old.groups or len(articles) != len(old.articles):
        return None
    new = list(compress(count(), map(operator.is_not, articles, old.articles)))
    if _too_many(len(new), len(articles)):
        return None
    features, words, stamps = dict(old.features), old.words.copy(), old.stamps.copy()
    all_words, by_word = dict(old.all_words), dict(old.by_word)
    changed = set()
    for n in new:
        article = articles[n]
        feature = _feature(article)
        if article.source != old.articles[n].source or feature[1] != old.keys[n]:
            return None  # another story here, or in other topic lists
        if feature == features[article.source]:
            continue
        changed.add(article.source)
        features[article.source], stamps[n] = feature, feature[2]
        was, now = words[n], title_words(feature[0])
        words[n] = now
        for word in was ^ now:  # copies of the lists that change: `old` stays as it was
            members = [m for m in all_words[word] if m != n] if word in was else sorted([*all_words.get(word, ()), n])
            if members:
                all_words[word] = members
            else:
                del all_words[word]
            if members and len(members) <= RARE_WORD_LIMIT:
                by_word[word] = members
            else:
                by_word.pop(word, None)
    tables = _Tables(
        articles, groups, old.index, features, words, old.keys, stamps, old.members_of, old.position, all_words, by_word
    )
    return tables, changed


def more_on_with_memo(
    articles: Sequence[Article],
    groups: dict[Topic, list[Article]],
    topics: dict[str, Topic],
    previous: MoreOnMemo | None,
    limit: int = 5,
) -> tuple[dict[str, tuple[str, ...]], MoreOnMemo]:
    """more_on_topics by source (source -> the sources of its stories), reusing `previous`
    (the last build's memo) where nothing it read changed. Returns the result and the
    memo for the next build."""
    articles = tuple(articles)
    params = (limit, MORE_WINDOW, RARE_WORD_LIMIT, WORDS_LOOKED_UP, TITLE_WEIGHT, MIN_SIMILARITY)
    usable = previous is not None and previous.params == params
    patched = _patched_tables(previous.tables, articles, groups) if usable and previous.tables is not None else None
    tables, changed = patched if patched is not None else (_make_tables(articles, groups, topics), None)
    sources = [a.source for a in articles] if patched is None else previous.order
    keys, words, stamps, by_word = tables.keys, tables.words, tables.stamps, tables.by_word

    todo: Iterable[int] = range(len(articles))
    found: dict[str, tuple[str, ...]] = {}
    if usable:
        near = _near_changes(previous, tables, changed)
        if near is not None:
            todo = near
            # Copied from the last build; every new or changed story is near a change.
            result = previous.result
            found = dict(result) if patched is not None else {s: result[s] for s in sources if s in result}
    for n in todo:
        own, own_words, stamp = keys[n], words[n], stamps[n]
        candidates: set[int] = set()
        for key in own:
            members = tables.members_of[key]
            i = tables.position[key][n]
            candidates.update(members[max(0, i - MORE_WINDOW): i + MORE_WINDOW + 1])
        candidates.update(_similar_titles(own_words, by_word))
        candidates.discard(n)
        ranked = []
        for other in candidates:
            shared = len(own & keys[other])
            similarity = title_similarity(own_words, words[other])
            if shared or similarity >= MIN_SIMILARITY:
                score = -(shared + TITLE_WEIGHT * similarity)
                ranked.append((score, abs(stamps[other] - stamp), articles[other].web_url, sources[other], other))
        found[sources[n]] = tuple(r[-2] for r in heapq.nsmallest(limit, ranked))
    return found, MoreOnMemo(params, tuple(sources), tables.features, found, tables)


def _near_changes(previous: MoreOnMemo, tables: _Tables, changed: set[str] | None) -> set[int] | None:
    """Positions of the articles whose "more on" may differ from the previous build's:
    the changed ones; those within MORE_WINDOW of where a changed story was, or now is,
    in one of its topics (their window held it or holds it; further away, a window only
    shifts by one position past it and shows the same stories); and every title with a
    word of a changed title that is rare now or was rare before (its candidates, or its
    choice of rarest words, may differ). None: too much changed, compute everything.
    changed: the sources whose feature changed, when `tables` were patched from the
    previous build's (same stories, order and topic lists); None: compare them all.
    tests/test_more_on_incremental.py checks this against a fresh computation."""
    old, features, index = previous.features, tables.features, tables.index
    members_of, position = tables.members_of, tables.position
    same_lists = changed is not None
    if changed is None:
        changed = {source for source, feature in features.items() if old.get(source) != feature}
        changed |= old.keys() - features.keys()
    if _too_many(len(changed), len(features)):
        return None
    near = {index[source] for source in changed if source in index}
    reach = MORE_WINDOW
    if not same_lists:  # windows around where the changed stories were (else: where they are, below)
        old_keys = set().union(*(old[source][1] for source in changed if source in old))
        old_members: dict[str, list[str]] = defaultdict(list)  # the previous topic lists, touched ones only
        for source in previous.order:
            for key in old[source][1] & old_keys:
                old_members[key].append(source)
        for listed in old_members.values():
            for i, source in enumerate(listed):
                if source in changed:
                    near.update(index[s] for s in listed[max(0, i - reach): i + reach + 1] if s in index)
    for source in changed:
        if source in features:
            for key in features[source][1]:
                members, i = members_of[key], position[key][index[source]]
                near.update(members[max(0, i - reach): i + reach + 1])
    # A word's count before = now, minus the changed titles that have it now, plus the
    # changed titles that had it before (every other title is the same in both builds).
    delta: Counter = Counter()
    for source in changed:
        if source in features:
            delta.update(dict.fromkeys(title_words(features[source][0]), -1))
        if source in old:
            delta.update(dict.fromkeys(title_words(old[source][0]), 1))
    all_words = tables.all_words
    for word, difference in delta.items():
        now = all_words.get(word, ())
        if len(now) <= RARE_WORD_LIMIT or len(now) + difference <= RARE_WORD_LIMIT:
            near.update(now)
    return near


def _similar_titles(own_words: frozenset[str], by_word: dict[str, list[int]]) -> list[int]:
    """Articles sharing two of the title's rarest words (or its only one): a near-identical
    title shares its rare words, and one shared word alone is mostly coincidence."""
    rarest = sorted((w for w in own_words if w in by_word), key=lambda w: (len(by_word[w]), w))[:WORDS_LOOKED_UP]
    hits = Counter(other for word in rarest for other in by_word[word])
    needed = min(2, len(rarest))
    return [other for other, n in hits.items() if n >= needed]


def _word_index(words: Sequence[frozenset[str]]) -> dict[str, list[int]]:
    """Word -> positions of the articles whose title has it."""
    index: dict[str, list[int]] = defaultdict(list)
    for n, title in enumerate(words):
        for word in title:
            index[word].append(n)
    return index

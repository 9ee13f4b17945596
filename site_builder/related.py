"""MODEL: "more on this topic": each story's nearest stories by shared topics and title
words, computed once per build, and redone only near the stories that changed when the
last build's tables are at hand (MoreOnMemo)."""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .models import Article, Topic
from .related_tables import Tables, make_tables, patched_tables, title_words, too_many


MORE_WINDOW = 8  # neighbours considered per shared topic: bounded work, not O(n²)
TITLE_WEIGHT = 3  # a near-identical title counts like three shared topics
MIN_SIMILARITY = 0.3  # title overlap below this, without a shared topic, is coincidence
RARE_WORD_LIMIT = 20  # a word in more titles than this says little, and would cost O(n) each
WORDS_LOOKED_UP = 4  # a title's rarest words used to find similar titles


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
    tables: Tables | None = field(default=None, compare=False, repr=False)

    def __reduce__(self):
        return MoreOnMemo, (self.params, self.order, self.features, self.result)


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
    params = (limit, MORE_WINDOW, RARE_WORD_LIMIT, WORDS_LOOKED_UP, TITLE_WEIGHT, MIN_SIMILARITY)
    usable = previous is not None and previous.params == params
    before = previous.tables if usable else None
    patched = patched_tables(before, articles, groups, topics, RARE_WORD_LIMIT) if before is not None else None
    tables, changed = patched if patched is not None else (make_tables(articles, groups, topics, RARE_WORD_LIMIT), None)
    features, words, by_word = tables.features, tables.words, tables.by_word
    members_of, position = tables.members_of, tables.position

    todo: Iterable[str] = tables.order
    found: dict[str, tuple[str, ...]] = {}
    if usable:
        near = _near_changes(previous, tables, before if patched is not None else None, changed)
        if near is not None:
            todo = near
            # Copied from the last build; every new or changed story is near a change.
            result = previous.result
            if patched is None:
                found = {s: result[s] for s in tables.order if s in result}
            else:
                found = dict(result)
                for source in changed:
                    if source not in features:
                        del found[source]
    for source in todo:
        _, own, stamp, _ = features[source]
        own_words = words[source]
        candidates: set[str] = set()
        for key in own:
            members = members_of[key]
            i = position[key][source]
            candidates.update(members[max(0, i - MORE_WINDOW): i + MORE_WINDOW + 1])
        candidates.update(_similar_titles(own_words, by_word))
        candidates.discard(source)
        ranked = []
        for other in candidates:
            _, keys, when, url = features[other]
            shared = len(own & keys)
            similarity = title_similarity(own_words, words[other])
            if shared or similarity >= MIN_SIMILARITY:
                ranked.append((-(shared + TITLE_WEIGHT * similarity), abs(when - stamp), url, other))
        found[source] = tuple(r[-1] for r in heapq.nsmallest(limit, ranked))
    return found, MoreOnMemo(params, tables.order, features, found, tables)


def _near_changes(previous: MoreOnMemo, tables: Tables, before: Tables | None, changed: set[str] | None) -> set[str] | None:
    """The sources of the articles whose "more on" may differ from the previous build's:
    the changed ones; those within MORE_WINDOW of where a changed story was, or now is,
    in one of its topics (their window held it or holds it; further away, a window only
    shifts by one position past it and shows the same stories); and every title with a
    word of a changed title that is rare now or was rare before (its candidates, or its
    choice of rarest words, may differ). None: too much changed, compute everything.
    before, changed: the previous build's tables, when `tables` were patched from them,
    and the sources whose feature changed, appeared or disappeared; None: compare them
    all. tests/test_more_on_incremental.py checks this against a fresh computation."""
    old, features, members_of, position = previous.features, tables.features, tables.members_of, tables.position
    if changed is None:
        changed = {source for source, feature in features.items() if old.get(source) != feature}
        changed |= old.keys() - features.keys()
    if too_many(len(changed), len(features)):
        return None
    near = set(changed)
    reach = MORE_WINDOW
    # Windows around where the changed stories were, in the topic lists that are not the same.
    if before is not None:
        for source in changed:
            for key in old[source][1] if source in old else ():
                listed = before.members_of[key]
                if members_of.get(key) is not listed:
                    i = before.position[key][source]
                    near.update(listed[max(0, i - reach): i + reach + 1])
    else:
        old_keys = set().union(*(old[source][1] for source in changed if source in old))
        old_members: dict[str, list[str]] = defaultdict(list)  # the previous topic lists, touched ones only
        for source in previous.order:
            for key in old[source][1] & old_keys:
                old_members[key].append(source)
        for listed in old_members.values():
            for i, source in enumerate(listed):
                if source in changed:
                    near.update(listed[max(0, i - reach): i + reach + 1])
    for source in changed:
        if source in features:
            for key in features[source][1]:
                members, i = members_of[key], position[key][source]
                near.update(members[max(0, i - reach): i + reach + 1])
    # A word's count before = now, minus the changed titles that have it now, plus the
    # changed titles that had it before (every other title is the same in both builds).
    delta: Counter = Counter()
    for source in changed:
        if source in features:
            delta.update(dict.fromkeys(tables.words[source], -1))
        if source in old:
            delta.update(dict.fromkeys(title_words(old[source][0]), 1))
    all_words = tables.all_words
    for word, difference in delta.items():
        now = all_words.get(word, ())
        if len(now) <= RARE_WORD_LIMIT or len(now) + difference <= RARE_WORD_LIMIT:
            near.update(now)
    # Removed stories (still in the last build's lists) have nothing to rank.
    return near & features.keys()


def _similar_titles(own_words: frozenset[str], by_word: dict[str, list[str]]) -> list[str]:
    """Articles sharing two of the title's rarest words (or its only one): a near-identical
    title shares its rare words, and one shared word alone is mostly coincidence."""
    rarest = sorted((w for w in own_words if w in by_word), key=lambda w: (len(by_word[w]), w))[:WORDS_LOOKED_UP]
    hits = Counter(other for word in rarest for other in by_word[word])
    needed = min(2, len(rarest))
    return [other for other, n in hits.items() if n >= needed]

"""MODEL: the tables "more on this topic" (related.py) ranks from: each story's title
words, topic keys, date and URL, the topic lists and an index of title words. Stories
are numbered by slot, a number a story keeps from one build to the next in a long-lived
process (serve, --watch): publishing or removing a story then changes its own entries and
its topics' lists, not the numbers of all the stories after it, and the next build's
tables are the last ones patched (patched_tables) instead of made anew."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress, count
from operator import attrgetter, is_not, itemgetter

from .models import Article, Topic

_WORD = re.compile(r"\w+")
_STOP_WORDS = frozenset(
    "about after all and are but can for from has have how into its more new not now out over "
    "than that the their this was what when why will with you your".split()
)
_source = attrgetter("source")


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


def too_many(changed: int, stories: int) -> bool:
    """More changed stories than working near them is worth: everything is computed."""
    return changed > max(50, stories // 20)


def story_feature(article: Article) -> tuple:
    """All that "more on" reads of a story: (title, topic keys, timestamp, web_url)."""
    return article.title, frozenset(map(str.casefold, article.topics)), article.published.timestamp(), article.web_url


@dataclass(frozen=True, slots=True)
class Tables:
    """"More on"'s tables over all the stories. Lists "by slot" are indexed by a story's
    slot; a removed story's slot stays empty (its source None) until the tables are
    made anew."""

    order: tuple[str, ...]  # the sources, in the order given (newest first)
    article_of: dict[str, Article]  # source -> the article, compared by identity next build
    slot_of: dict[str, int]  # source -> slot
    sources: list[str | None]  # by slot
    features: dict[str, tuple]  # source -> story_feature
    words: list[frozenset[str]]  # by slot: title words
    keys: list[frozenset[str]]  # by slot: case-folded topic names
    stamps: list[float]  # by slot: timestamps
    urls: list[str]  # by slot: web_url
    lists: dict[str, list[Article]]  # topic key -> the topic list members_of[key] was made from
    members_of: dict[str, list[int]]  # topic key -> slots, newest first
    position: dict[str, dict[int, int]]  # topic key -> {slot: place in members_of[key]}
    all_words: dict[str, list[int]]  # word -> slots of the titles that have it
    by_word: dict[str, list[int]]  # the same, for the rare words only


def make_tables(articles: Sequence[Article], groups: dict[Topic, list[Article]], topics: dict[str, Topic], rare: int) -> Tables:
    """Tables with slots 0, 1, 2… in the order of `articles`. rare: the most titles a
    word may be in to be in by_word."""
    order = tuple(map(_source, articles))
    features = list(map(story_feature, articles))
    slot_of = dict(zip(order, count()))
    words = list(map(title_words, map(itemgetter(0), features)))
    lists = {key: groups[topic] for key, topic in topics.items()}
    members_of = {key: list(map(slot_of.__getitem__, map(_source, listed))) for key, listed in lists.items()}
    all_words = word_index(words)
    return Tables(
        order, dict(zip(order, articles)), slot_of, list(order), dict(zip(order, features)), words,
        list(map(itemgetter(1), features)), list(map(itemgetter(2), features)), list(map(itemgetter(3), features)),
        lists, members_of, {key: dict(zip(members, count())) for key, members in members_of.items()},
        all_words, {word: slots for word, slots in all_words.items() if len(slots) <= rare},
    )


def word_index(words: Sequence[frozenset[str]]) -> dict[str, list[int]]:
    """Word -> slots of the titles that have it."""
    index: dict[str, list[int]] = defaultdict(list)
    for n, title in enumerate(words):
        for word in title:
            index[word].append(n)
    return index


def patched_tables(
    old: Tables, articles: Sequence[Article], groups: dict[Topic, list[Article]], topics: dict[str, Topic], rare: int
) -> tuple[Tables, set[str]] | None:
    """The tables make_tables would give, up to slot numbers, made from `old` (the last
    build's) by putting in the stories that are not the very same articles and taking out
    the removed ones; and the sources whose feature changed, appeared or disappeared. A
    topic's slots are taken over when its list is the very same object and no story
    entered, left or moved in it; else they are read from its list. None when too much
    changed (making the tables anew is then as cheap) or the input does not add up."""
    order = tuple(map(_source, articles))
    fresh = list(compress(articles, map(is_not, articles, map(old.article_of.get, order))))
    if too_many(len(fresh), len(order)):
        return None
    known = sum(a.source in old.slot_of for a in fresh)
    removed = old.slot_of.keys() - set(order) if len(order) - len(fresh) + known < len(old.slot_of) else set()
    article_of, slot_of, sources, features = dict(old.article_of), dict(old.slot_of), old.sources.copy(), dict(old.features)
    words, keys, stamps, urls = old.words.copy(), old.keys.copy(), old.stamps.copy(), old.urls.copy()
    all_words, by_word = dict(old.all_words), dict(old.by_word)
    changed: set[str] = set()
    touched: set[str] = set()  # topics a story entered, left or may have moved in

    def retitle(slot: int, now: frozenset[str]) -> None:
        for word in words[slot] ^ now:  # copies of the lists that change: `old` stays as it was
            slots = [m for m in all_words[word] if m != slot] if word in words[slot] else [*all_words.get(word, ()), slot]
            if slots:
                all_words[word] = slots
            else:
                del all_words[word]
            if slots and len(slots) <= rare:
                by_word[word] = slots
            else:
                by_word.pop(word, None)
        words[slot] = now

    for source in removed:
        slot = slot_of.pop(source)
        del article_of[source]
        touched |= features.pop(source)[1]
        retitle(slot, frozenset())
        sources[slot], keys[slot] = None, frozenset()
        changed.add(source)
    for article in fresh:
        source, feature = article.source, story_feature(article)
        article_of[source] = article
        slot = slot_of.get(source)
        if slot is None:
            slot = slot_of[source] = len(sources)
            sources.append(source)
            words.append(frozenset())
            keys.append(frozenset())
            stamps.append(0.0)
            urls.append("")
            touched |= feature[1]
        elif feature == features[source]:
            continue
        elif feature[1:] != features[source][1:]:  # topics, date or URL: its place in its topics' lists
            touched |= features[source][1] | feature[1]
        changed.add(source)
        features[source] = feature
        retitle(slot, title_words(feature[0]))
        keys[slot], stamps[slot], urls[slot] = feature[1], feature[2], feature[3]
    empty = len(sources) - len(slot_of)
    if too_many(len(changed), len(order)) or empty > max(64, len(order) // 8) or len(slot_of) != len(order):
        return None

    lists = {key: groups[topic] for key, topic in topics.items()}
    members_of, position = {}, {}
    for key, listed in lists.items():
        if listed is old.lists.get(key) and key not in touched:
            members_of[key], position[key] = old.members_of[key], old.position[key]
            continue
        members = list(map(slot_of.get, map(_source, listed)))
        if None in members:
            return None  # a list naming a story that is not there: as make_tables fails
        members_of[key], position[key] = members, dict(zip(members, count()))
    tables = Tables(
        order, article_of, slot_of, sources, features, words, keys, stamps, urls, lists, members_of, position, all_words, by_word
    )
    return tables, changed

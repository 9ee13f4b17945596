"""MODEL: the tables "more on this topic" (related.py) ranks from: each story's feature
and title words, the topic lists and an index of title words, all keyed by source. A
story published or removed then changes its own entries and its topics' lists, not the
keys of all the stories after it, and a long-lived process (serve, --watch) patches the
last build's tables (patched_tables) instead of making them anew."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress, count, islice
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
    """"More on"'s tables over all the stories, by source."""

    articles: tuple[Article, ...]  # newest first; the next build compares its own to them by identity
    order: tuple[str, ...]  # their sources
    features: dict[str, tuple]  # source -> story_feature
    words: dict[str, frozenset[str]]  # source -> title words
    lists: dict[str, list[Article]]  # topic key -> the topic list members_of[key] was made from
    members_of: dict[str, list[str]]  # topic key -> sources, newest first
    position: dict[str, dict[str, int]]  # topic key -> {source: place in members_of[key]}
    all_words: dict[str, list[str]]  # word -> sources of the titles that have it
    by_word: dict[str, list[str]]  # the same, for the rare words only


def make_tables(articles: Sequence[Article], groups: dict[Topic, list[Article]], topics: dict[str, Topic], rare: int) -> Tables:
    """rare: the most titles a word may be in to be in by_word."""
    articles = tuple(articles)
    order = tuple(map(_source, articles))
    features = dict(zip(order, map(story_feature, articles)))
    words = dict(zip(order, map(title_words, map(itemgetter(0), features.values()))))
    lists = {key: groups[topic] for key, topic in topics.items()}
    members_of = {key: list(map(_source, listed)) for key, listed in lists.items()}
    all_words = word_index(words)
    return Tables(
        articles, order, features, words, lists, members_of,
        {key: dict(zip(members, count())) for key, members in members_of.items()},
        all_words, {word: sources for word, sources in all_words.items() if len(sources) <= rare},
    )


def word_index(words: dict[str, frozenset[str]]) -> dict[str, list[str]]:
    """Word -> sources of the titles that have it."""
    index: dict[str, list[str]] = defaultdict(list)
    for source, title in words.items():
        for word in title:
            index[word].append(source)
    return index


def _same_ends(old: Sequence, new: Sequence) -> tuple[int, int]:
    """How many items at the start and at the end of `new` are the very same objects as
    in `old`, not overlapping: a C-level scan that stops at the first difference."""
    shortest = min(len(old), len(new))
    start = next(compress(count(), map(is_not, old, new)), shortest)
    ahead = shortest - start
    end = next(compress(count(), map(is_not, islice(reversed(old), ahead), islice(reversed(new), ahead))), ahead)
    return start, end


def patched_tables(
    old: Tables, articles: Sequence[Article], groups: dict[Topic, list[Article]], topics: dict[str, Topic], rare: int
) -> tuple[Tables, set[str]] | None:
    """The tables make_tables would give, made from `old` (the last build's): the
    articles that are not the very same objects are put in (or taken out), and a
    topic's list is read again unless it is the very same list and no story entered,
    left or moved in it (its places are made again only if it names other stories or
    in another order). Also returns the sources whose feature changed, appeared or
    disappeared. None when too much changed (making the tables anew is then as cheap)
    or the input does not add up."""
    articles = tuple(articles)
    start, end = _same_ends(old.articles, articles)
    between = articles[start: len(articles) - end]
    was = {a.source: a for a in old.articles[start: len(old.articles) - end]}
    fresh = [a for a in between if was.get(a.source) is not a]
    if too_many(len(fresh), len(articles)):
        return None
    removed = was.keys() - map(_source, between)
    order = old.order[:start] + tuple(map(_source, between)) + old.order[len(old.order) - end:]
    features, words = dict(old.features), dict(old.words)
    all_words, by_word = dict(old.all_words), dict(old.by_word)
    changed: set[str] = set()
    touched: set[str] = set()  # topics a story entered, left or may have moved in

    def index_words(source: str, before: frozenset[str], now: frozenset[str]) -> None:
        for word in before ^ now:  # copies of the lists that change: `old` stays as it was
            sources = [s for s in all_words[word] if s != source] if word in before else [*all_words.get(word, ()), source]
            if sources:
                all_words[word] = sources
            else:
                del all_words[word]
            if sources and len(sources) <= rare:
                by_word[word] = sources
            else:
                by_word.pop(word, None)

    for source in removed:
        touched |= features.pop(source)[1]
        index_words(source, words.pop(source), frozenset())
        changed.add(source)
    for article in fresh:
        source, feature = article.source, story_feature(article)
        known = features.get(source)
        if known == feature:
            continue
        if known is None:
            touched |= feature[1]
        elif known[1:] != feature[1:]:  # topics, date or URL: its place in its topics' lists
            touched |= known[1] | feature[1]
        changed.add(source)
        features[source], now = feature, title_words(feature[0])
        index_words(source, words.get(source, frozenset()), now)
        words[source] = now
    if too_many(len(changed), len(order)) or len(features) != len(order):
        return None

    lists = {key: groups[topic] for key, topic in topics.items()}
    members_of, position = {}, {}
    for key, listed in lists.items():
        if listed is old.lists.get(key) and key not in touched:
            members_of[key], position[key] = old.members_of[key], old.position[key]
            continue
        members = list(map(_source, listed))
        if members == old.members_of.get(key):  # a new list of the same stories (a plan that grouped anew)
            members_of[key], position[key] = old.members_of[key], old.position[key]
        else:
            members_of[key], position[key] = members, dict(zip(members, count()))
    return Tables(articles, order, features, words, lists, members_of, position, all_words, by_word), changed

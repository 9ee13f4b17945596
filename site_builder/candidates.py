"""MODEL: the review queue: stories waiting for an editor's choice (drafts not rejected),
sorted and filtered for the desk and `site-builder review`. Pure functions, no I/O.

A desk asks for the same candidates again and again with other filters, so what every
filter needs of a story (its folded search text, topic keys, source key, sort keys) is
worked out once per candidate tuple and kept beside it (see _index): filtering 10,000
candidates is then a few substring tests and comparisons per story.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain
from dataclasses import dataclass
from functools import cached_property

from .models import Article
from .ranking import newest_first

SORTS = ("date", "quality", "heat")


def candidates(articles: Iterable[Article | None]) -> tuple[Article, ...]:
    """Drafts that are not rejected, newest first (None entries, files that gave no
    article, are skipped). A site's: candidates(model.selection.unique), one per URL."""
    return tuple(newest_first(a for a in articles if a is not None and a.draft and not a.rejected))


def source_key(a: Article) -> str:
    """The source a story is filtered by: its provider's domain, or the provider's name
    when it has no domain; "" when it names no provider."""
    provider = a.provider
    if provider is None:
        return ""
    return provider.domain or provider.name


@dataclass(frozen=True)
class Filter:
    sort: str = "date"  # "date" (newest first) | "quality" | "heat" (highest first, None last, then newest)
    topic: str = ""  # case-insensitive topic name
    source: str = ""  # provider domain, or provider name when it has no domain (source_key)
    min_quality: int | None = None  # a story without a quality is left out when set
    text: str = ""  # case-insensitive substring of title, excerpt, provider name, or file path


@dataclass(frozen=True)
class Queue:
    items: tuple[Article, ...]  # the filtered candidates, sorted
    total: int  # all candidates, before filtering
    topics: tuple[tuple[str, int], ...]  # (topic, how many of the filtered items carry it), most first
    sources: tuple[tuple[str, int], ...]  # (source key as Filter.source takes it, count), most first


def queue(cands: Sequence[Article], f: Filter) -> Queue:
    """The candidates `f` keeps, in its order, with counts per topic and per source of
    what it keeps (ties by name). ValueError for an unknown sort."""
    if f.sort not in SORTS:
        raise ValueError(f"unknown sort {f.sort!r}; use one of {', '.join(SORTS)}")
    index = _index(cands)
    everything = not (f.topic.strip() or f.source.strip() or f.min_quality is not None or f.text.strip())
    if everything and f.sort in index.unfiltered:
        return index.unfiltered[f.sort]
    kept = index.order(f.sort)  # positions in newest-first order, in the sort's order
    if f.topic.strip():
        topic, topic_keys = _fold(f.topic), index.topic_keys
        kept = [n for n in kept if topic in topic_keys[n]]
    if f.source.strip():
        source, source_keys = f.source.strip().casefold(), index.source_keys
        kept = [n for n in kept if source_keys[n] == source]
    if f.min_quality is not None:
        floor, quality = f.min_quality, index.quality
        kept = [n for n in kept if quality[n] is not None and quality[n] >= floor]
    if f.text.strip():
        text, haystacks = f.text.strip().casefold(), index.haystacks
        # A NUL (the separator of the fields) in the text matches nothing.
        kept = [n for n in kept if text in haystacks[n]] if "\0" not in text else []
    items = tuple(map(index.articles.__getitem__, kept))
    topic_counts = Counter(chain.from_iterable(map(index.topic_keys.__getitem__, kept)))
    source_counts = Counter(map(index.source_names.__getitem__, kept))
    source_counts.pop("", None)  # stories that name no provider
    topics = sorted(((index.topic_names[k], c) for k, c in topic_counts.items()), key=_most_first)
    result = Queue(items, len(index.articles), tuple(topics), tuple(sorted(source_counts.items(), key=_most_first)))
    if everything:
        index.unfiltered[f.sort] = result
    return result


def _most_first(pair: tuple[str, int]) -> tuple:
    return (-pair[1], pair[0].casefold(), pair[0])


def _fold(name: str) -> str:
    """A topic's identity as topics.py keys it: spaces collapsed, case folded."""
    return " ".join(name.split()).casefold()


class _Index:
    """What the filters need of each candidate, by its position in newest-first order."""

    def __init__(self, cands: Sequence[Article]):
        self.cands = cands  # held, so the id it is cached under is never another object's
        articles = self.articles = tuple(newest_first(cands))
        self.quality = [a.quality for a in articles]
        self.heat = [a.heat for a in articles]
        self.source_names = [source_key(a) for a in articles]
        self.source_keys = [name.casefold() for name in self.source_names]
        self.topic_names: dict[str, str] = {}  # key -> the spelling of the newest story using it
        self.topic_keys: list[frozenset[str]] = []
        for a in articles:
            keys = []
            for name in a.topics:
                key = _fold(name)
                self.topic_names.setdefault(key, name)
                keys.append(key)
            self.topic_keys.append(frozenset(keys))
        self._orders: dict[str, list[int]] = {"date": list(range(len(articles)))}
        self.unfiltered: dict[str, Queue] = {}  # the queue per sort when nothing is filtered

    @cached_property
    def haystacks(self) -> list[str]:
        """The folded text a search looks in; NUL between the fields, so that a search
        never matches across two of them. Made when first searched."""
        return [
            "\0".join((a.title, a.excerpt, a.provider.name if a.provider else "", a.source)).casefold()
            for a in self.articles
        ]

    def order(self, sort: str) -> list[int]:
        """Positions sorted by `sort`: highest score first, stories without one last, and
        newest first among equals (the sort is stable over newest-first positions)."""
        if sort not in self._orders:
            scores = self.quality if sort == "quality" else self.heat
            self._orders[sort] = sorted(self._orders["date"], key=lambda n: (scores[n] is None, -(scores[n] or 0)))
        return self._orders[sort]


_CACHE: list[_Index] = []  # the last few candidate tuples' indexes, most recent last
_CACHE_SIZE = 4
_LOCK = threading.Lock()  # the desk may serve requests from several threads


def _index(cands: Sequence[Article]) -> _Index:
    with _LOCK:
        for index in _CACHE:
            if index.cands is cands:
                return index
    index = _Index(cands)
    if isinstance(cands, tuple):  # immutable: safe to reuse for the same object
        with _LOCK:
            _CACHE.append(index)
            del _CACHE[:-_CACHE_SIZE]
    return index

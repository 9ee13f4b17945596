"""MODEL: grouping: topics (names, slugs), stories by topic, by provider and by month,
and pagination sizes (the pages themselves are cut in routes). Pure, once per build."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .models import Article, Topic
from .slugs import slugify


def build_topics(articles: Iterable[Article]) -> dict[str, Topic]:
    """Topics keyed by identity (case-folded name), each with a unique slug.

    The display name is the most used spelling (ties: the alphabetically first). Slugs
    that collide ("C++" and "C" both would be "c" without symbol words) are made unique
    by suffixes assigned in the order of the topics' keys, so they are stable.
    """
    spellings: dict[str, Counter] = defaultdict(Counter)
    for article in articles:
        for name in article.topics:
            spellings[name.casefold()][name] += 1
    return topics_named({key: most_used(spellings[key]) for key in spellings})


def most_used(names: Counter) -> str:
    """The most used of the names counted (ties: the alphabetically first)."""
    return min(names.items(), key=lambda item: (-item[1], item[0]))[0]


def topics_named(names: dict[str, str], known: dict[str, Topic] | None = None) -> dict[str, Topic]:
    """The topics of these keys (case-folded names) and display names, in the order of
    their keys, with their slugs (see build_topics). known: Topics to take over where
    one is equal to the one made here."""
    topics: dict[str, Topic] = {}
    taken: set[str] = set()
    for key in sorted(names):
        name = names[key]
        base = slugify(name, fallback="topic")
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add(slug)
        topic = Topic(name=name, slug=slug, key=key)
        old = known.get(key) if known else None
        topics[key] = old if old == topic else topic
    return topics


def group_by_topic(articles: Sequence[Article], topics: dict[str, Topic]) -> dict[Topic, list[Article]]:
    """Each topic's articles, newest first (the input must already be newest first)."""
    groups: dict[Topic, list[Article]] = {topic: [] for topic in topics.values()}
    for article in articles:
        for name in article.topics:
            groups[topics[name.casefold()]].append(article)
    return groups


@dataclass(frozen=True, slots=True)
class Pagination:
    items: tuple
    number: int  # 1-based
    total: int  # pages
    count: int  # items on all pages

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.total


def group_by_provider(articles: Sequence[Article]) -> dict[str, tuple[str, list[Article]]]:
    """Domain -> (display name, its articles newest first). The name is the most used one."""
    names: dict[str, Counter] = defaultdict(Counter)
    members: dict[str, list[Article]] = defaultdict(list)
    for article in articles:
        if article.provider and article.provider.domain:
            names[article.provider.domain][article.provider.name] += 1
            members[article.provider.domain].append(article)
    return {domain: (most_used(names[domain]), members[domain]) for domain in sorted(members)}


def group_by_month(articles: Sequence[Article], tz) -> dict[tuple[int, int], list[Article]]:
    """(year, month) in the site's time zone -> articles newest first; newest month first."""
    months: dict[tuple[int, int], list[Article]] = defaultdict(list)
    for article in articles:
        months[month_of(article, tz)].append(article)
    return dict(sorted(months.items(), reverse=True))


def month_of(article: Article, tz) -> tuple[int, int]:
    """(year, month) of a story's date in the site's time zone."""
    local = article.published.astimezone(tz)
    return local.year, local.month

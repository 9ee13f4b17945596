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
    topics: dict[str, Topic] = {}
    taken: set[str] = set()
    for key in sorted(spellings):
        name = min(spellings[key].items(), key=lambda item: (-item[1], item[0]))[0]
        base = slugify(name, fallback="topic")
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add(slug)
        topics[key] = Topic(name=name, slug=slug, key=key)
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
    return {
        domain: (min(names[domain].items(), key=lambda item: (-item[1], item[0]))[0], members[domain])
        for domain in sorted(members)
    }


def group_by_month(articles: Sequence[Article], tz) -> dict[tuple[int, int], list[Article]]:
    """(year, month) in the site's time zone -> articles newest first; newest month first."""
    months: dict[tuple[int, int], list[Article]] = defaultdict(list)
    for article in articles:
        local = article.published.astimezone(tz)
        months[(local.year, local.month)].append(article)
    return dict(sorted(months.items(), reverse=True))

"""PLAN: the URL scheme of stories and listings: permalinks from site.toml's pattern,
numbered listing pages, and clashes settled by date and URL, never by file name."""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable
from itertools import compress, repeat
from typing import TYPE_CHECKING

from .config import SiteConfig
from .models import Article
from .slugs import slugify

if TYPE_CHECKING:
    from .plan_reuse import StoryKeys


def home_path(number: int) -> str:
    return "/" if number == 1 else f"/page/{number}/"


def numbered(first: str) -> Callable[[int], str]:
    return lambda n: first if n == 1 else f"{first}page/{n}/"


def permalink_settings(config: SiteConfig) -> tuple:
    return config.permalink, config.timezone


def slug_of(article: Article) -> str:
    return article.slug or slugify(article.title)


def permalink(article: Article, slug: str, config: SiteConfig) -> str:
    local = article.published.astimezone(config.tz)
    return config.permalink.format(slug=slug, year=f"{local.year:04d}", month=f"{local.month:02d}", day=f"{local.day:02d}")


def article_paths(keys: dict[str, StoryKeys], config: SiteConfig, taken: set[str]) -> dict[str, str]:
    """Permalink per article source. Clashes get -2, -3... in (date, URL) order, so the
    result depends only on the articles, never on file names or reading order."""
    bases = dict(zip(keys, map(operator.attrgetter("base_path"), keys.values())))
    counts = Counter(bases.values())
    if len(counts) == len(bases) and taken.isdisjoint(counts):
        return bases
    # C loops: the paths more than one story wants, and the stories that want one of them.
    shared = set(compress(counts, map(operator.lt, repeat(1), counts.values())))
    clash = shared.union(taken.intersection(counts))
    clashing = list(compress(keys.values(), map(clash.__contains__, bases.values())))
    # Only the clashing stories need the loop, in their order, unless one of them would
    # take another story's own path; then every story goes through it.
    unique = counts.keys() - shared - taken
    settled = _settle(clashing, config, set(taken).union(unique), unique)
    if settled is None:
        return _settle(list(keys.values()), config, set(taken), frozenset())
    bases.update(settled)
    return bases


def _settle(stories: list[StoryKeys], config: SiteConfig, used: set[str], others: frozenset[str] | set[str]) -> dict[str, str] | None:
    """Each story's path in (date, URL) order: its own, or the first free -2, -3...
    None when one would have tried a path in `others` (the caller's reason to go back
    to settling every story)."""
    paths: dict[str, str] = {}
    for story in sorted(stories, key=lambda k: k.order):
        path, n = story.base_path, 2
        while path in used:
            path, n = permalink(story.article, f"{slug_of(story.article)}-{n}", config), n + 1
            if path in others:
                return None
        used.add(path)
        paths[story.article.source] = path
    return paths

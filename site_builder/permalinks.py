"""PLAN: the URL scheme of stories and listings: permalinks from site.toml's pattern,
numbered listing pages, and clashes settled by date and URL, never by file name."""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class PathMemo:
    """A plan's permalinks, with the set of them, the listings' paths they were settled
    against and the base paths that clashed (wanted by two stories, or a listing's): the
    next plan patches them for the stories that came, went or changed (patched_paths)."""

    paths: dict[str, str]
    used: set[str] | frozenset[str]
    taken: frozenset[str]
    clashed: frozenset[str]  # base paths
    settled: frozenset[str]  # the stories that wanted one of them


def paths_with_memo(
    keys: dict[str, StoryKeys], config: SiteConfig, taken: frozenset[str], last: PathMemo | None, touched: Iterable[str],
) -> tuple[dict[str, str], PathMemo | None]:
    """article_paths, and what the next plan patches them from (None when every story
    had to be settled in order). last: the last plan's; touched: the stories whose keys
    came, went or changed since."""
    patched = patched_paths(keys, taken, last, touched)
    if patched is not None:
        return patched.paths, patched
    paths, clashing = _article_paths(keys, config, taken)
    if clashing is None:
        return paths, None
    return paths, PathMemo(
        paths, frozenset(paths.values()), taken, frozenset(story.base_path for story in clashing),
        frozenset(story.article.source for story in clashing),
    )


def patched_paths(keys: dict[str, StoryKeys], taken: frozenset[str], last: PathMemo | None, touched: Iterable[str]) -> PathMemo | None:
    """`last` for the stories in `touched` (the same listings' paths), when none of them
    had or wants a base path that clashed and each wants one no other story has: then
    each takes its own, as article_paths would give it, for the cost of the stories
    touched (a publish: one, not 10,000). None otherwise. (A story's own path that is a
    "-3" no clashing story has reached yet is one article_paths leaves it too.)"""
    if last is None or last.taken is not taken:
        return None
    touched = list(touched)
    paths, used, clashed = dict(last.paths), set(last.used), last.clashed
    for source in touched:  # all out first: two stories may swap paths
        if source in last.settled:
            return None  # a clash's stories are settled together
        old = paths.pop(source, None)
        if old is not None:
            used.discard(old)
    for source in touched:
        story = keys.get(source)
        if story is None:
            continue  # it went
        if story.base_path in used or story.base_path in taken or story.base_path in clashed:
            return None
        used.add(story.base_path)
        paths[source] = story.base_path
    return PathMemo(paths, used, taken, clashed, last.settled)


def article_paths(keys: dict[str, StoryKeys], config: SiteConfig, taken: set[str]) -> dict[str, str]:
    """Permalink per article source. Clashes get -2, -3... in (date, URL) order, so the
    result depends only on the articles, never on file names or reading order."""
    return _article_paths(keys, config, taken)[0]


def _article_paths(
    keys: dict[str, StoryKeys], config: SiteConfig, taken: set[str]
) -> tuple[dict[str, str], list[StoryKeys] | None]:
    """article_paths, and the stories whose base path clashed (None: every story was
    settled in order, whose path may then not be its base path)."""
    bases = dict(zip(keys, map(operator.attrgetter("base_path"), keys.values())))
    counts = Counter(bases.values())
    if len(counts) == len(bases) and taken.isdisjoint(counts):
        return bases, []
    # C loops: the paths more than one story wants, and the stories that want one of them.
    shared = set(compress(counts, map(operator.lt, repeat(1), counts.values())))
    clash = shared.union(taken.intersection(counts))
    clashing = list(compress(keys.values(), map(clash.__contains__, bases.values())))
    # Only the clashing stories need the loop, in their order, unless one of them would
    # take another story's own path; then every story goes through it.
    unique = counts.keys() - shared - taken
    settled = _settle(clashing, config, set(taken).union(unique), unique)
    if settled is None:
        return _settle(list(keys.values()), config, set(taken), frozenset()), None
    bases.update(settled)
    return bases, clashing


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

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
class OwnPaths:
    """A plan's permalinks when every story has its own base path (no clash to settle),
    with the set of them and the listings' paths they were checked against: the next plan
    patches them for the stories that came, went or changed (patched_paths)."""

    paths: dict[str, str]
    used: set[str] | frozenset[str]
    taken: frozenset[str]


def paths_with_memo(
    keys: dict[str, StoryKeys], config: SiteConfig, taken: frozenset[str], last: OwnPaths | None, touched: Iterable[str],
) -> tuple[dict[str, str], OwnPaths | None]:
    """article_paths, and what the next plan patches them from. last: the last plan's,
    when it had one; touched: the stories whose keys came, went or changed since."""
    patched = patched_paths(keys, taken, last, touched)
    if patched is not None:
        return patched.paths, patched
    paths = article_paths(keys, config, taken)
    used = frozenset(paths.values())
    own = all(paths[source] == story.base_path for source, story in keys.items()) if len(used) == len(paths) else False
    return paths, OwnPaths(paths, used, taken) if own and taken.isdisjoint(used) else None


def patched_paths(keys: dict[str, StoryKeys], taken: frozenset[str], last: OwnPaths | None, touched: Iterable[str]) -> OwnPaths | None:
    """`last` for the stories in `touched` (the same listings' paths), when each of
    them still gets its own base path: the same as article_paths, for the cost of the
    stories touched (a publish: one, not 10,000). None when a path would clash."""
    if last is None or last.taken is not taken:
        return None
    touched = list(touched)
    paths, used = dict(last.paths), set(last.used)
    for source in touched:  # all out first: two stories may swap paths
        old = paths.pop(source, None)
        if old is not None:
            used.discard(old)
    for source in touched:
        story = keys.get(source)
        if story is None:
            continue  # it went
        if story.base_path in used or story.base_path in taken:
            return None
        used.add(story.base_path)
        paths[source] = story.base_path
    return OwnPaths(paths, used, taken)


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

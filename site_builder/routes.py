"""PLAN: the site's one URL scheme. Turns the model into pages: (path, template, context).

Everything a template shows is decided here, once per build: which stories, in which
order, on which page, linking where. Two pages never share an output path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .config import SiteConfig
from .models import Article, Provider, Topic
from .topics import (
    build_topics,
    by_url,
    group_by_topic,
    more_on_topics,
    normalize_url,
    paginate,
)


class PlanError(Exception):
    """Two sources want the same output path."""


@dataclass(frozen=True)
class TopicRef:
    name: str
    path: str


@dataclass(frozen=True)
class RelatedLink:
    title: str
    href: str  # our own permalink path when the story is on this site, else its webUrl
    internal: bool
    provider: Provider | None
    published: datetime | None


@dataclass(frozen=True)
class Entry:
    """An article as every page shows it: the article plus the links decided for it."""

    article: Article
    path: str
    topics: tuple[TopicRef, ...]


@dataclass(frozen=True)
class Page:
    path: str  # URL path below the base path: "/", "/topics/ai/page/2/", "/404.html"
    template: str
    context: dict = field(hash=False)
    sources: tuple[str, ...] = ()  # content files this page shows directly

    @property
    def output(self) -> str:
        """File path relative to the output folder."""
        rel = self.path.lstrip("/")
        return rel + "index.html" if rel.endswith("/") or not rel else rel


@dataclass(frozen=True)
class SitePlan:
    pages: tuple[Page, ...]
    entries: tuple[Entry, ...]  # newest first
    topics: tuple[tuple[TopicRef, int], ...]  # every topic with its count, by name
    nav_topics: tuple[TopicRef, ...]  # the busiest topics, for the site's navigation

NAV_TOPICS = 5


def home_path(number: int) -> str:
    return "/" if number == 1 else f"/page/{number}/"


def topic_path(topic: Topic, number: int = 1) -> str:
    return f"/topics/{topic.slug}/" if number == 1 else f"/topics/{topic.slug}/page/{number}/"


def plan_site(articles: Sequence[Article], config: SiteConfig) -> SitePlan:
    """`articles` are the ones to publish, newest first."""
    topics = build_topics(articles)
    groups = group_by_topic(articles, topics)
    refs = {key: TopicRef(t.name, topic_path(t)) for key, t in topics.items()}

    pages: list[Page] = []
    entries = [
        Entry(a, "", tuple(refs[name.casefold()] for name in a.topics)) for a in articles
    ]
    # Listing paths are fixed; article permalinks are made unique around them.
    listing_pages = _listing_pages(entries, groups, topics, config)
    taken = {page.path for page in listing_pages} | {"/404.html"}
    paths = _article_paths(articles, config, taken)
    entries = [Entry(e.article, paths[e.article.source], e.topics) for e in entries]
    by_source = {e.article.source: e for e in entries}
    listing_pages = _listing_pages(entries, groups, topics, config)

    on_site = by_url(articles)
    more = more_on_topics(articles, groups, topics)
    for entry in entries:
        article = entry.article
        pages.append(
            Page(
                entry.path,
                "article.html",
                {
                    "entry": entry,
                    "title": article.title,
                    "related": tuple(_related_link(r, on_site, paths) for r in article.related),
                    "more": tuple(by_source[a.source] for a in more[article.source]),
                    "more_topic": _most_shared_topic(entry, [by_source[a.source] for a in more[article.source]]),
                },
                (article.source,),
            )
        )
    topic_list = tuple(
        sorted(((refs[t.key], len(groups[t])) for t in topics.values()), key=lambda p: p[0].name.casefold())
    )
    pages.extend(listing_pages)
    pages.append(Page("/topics/", "topics.html", {"title": "Topics", "topics": topic_list}))
    pages.append(Page("/404.html", "404.html", {"title": "Page not found"}))
    _refuse_shared_paths(pages)
    busiest = sorted(topic_list, key=lambda pair: (-pair[1], pair[0].name.casefold()))
    return SitePlan(tuple(pages), tuple(entries), topic_list, tuple(ref for ref, _ in busiest[:NAV_TOPICS]))


def _most_shared_topic(entry: Entry, others: list[Entry]) -> str:
    """The heading for "More on ...": the story's topic that most of the others share."""
    if not entry.topics:
        return ""
    return max(entry.topics, key=lambda ref: sum(ref in other.topics for other in others)).name


def _listing_pages(entries, groups, topics, config) -> list[Page]:
    by_source = {e.article.source: e for e in entries}
    pages = _paginated(entries, config.paginate, home_path, "index.html", {"title": ""})
    for topic in topics.values():
        members = [by_source[a.source] for a in groups[topic]]
        pages += _paginated(
            members,
            config.paginate,
            lambda n, t=topic: topic_path(t, n),
            "topic.html",
            {"title": topic.name, "topic": TopicRef(topic.name, topic_path(topic))},
        )
    return pages


def _paginated(entries, per_page, path_of, template, extra) -> list[Page]:
    pages = []
    for pagination in paginate(entries, per_page):
        n = pagination.number
        pages.append(
            Page(
                path_of(n),
                template,
                {
                    **extra,
                    "entries": pagination.items,
                    "pagination": pagination,
                    "prev_path": path_of(n - 1) if pagination.has_prev else None,
                    "next_path": path_of(n + 1) if pagination.has_next else None,
                },
                tuple(e.article.source for e in pagination.items),
            )
        )
    return pages


def _article_paths(articles: Sequence[Article], config: SiteConfig, taken: set[str]) -> dict[str, str]:
    """Permalink per article source. Clashes get -2, -3... in (date, URL) order, so the
    result depends only on the articles, never on file names or reading order."""
    from .slugs import slugify

    tz = config.tz
    ordered = sorted(articles, key=lambda a: (a.published.timestamp(), a.web_url, a.source))
    paths: dict[str, str] = {}
    used = set(taken)
    for article in ordered:
        local = article.published.astimezone(tz)
        slug = article.slug or slugify(article.title)
        fields = {"year": f"{local.year:04d}", "month": f"{local.month:02d}", "day": f"{local.day:02d}"}
        path, n = config.permalink.format(slug=slug, **fields), 2
        while path in used:
            path, n = config.permalink.format(slug=f"{slug}-{n}", **fields), n + 1
        used.add(path)
        paths[article.source] = path
    return paths


def _related_link(story, on_site: dict, paths: dict[str, str]) -> RelatedLink:
    ours = on_site.get(normalize_url(story.url))
    if ours is not None:
        return RelatedLink(story.title, paths[ours.source], True, story.provider, story.published)
    return RelatedLink(story.title, story.url, False, story.provider, story.published)


def _refuse_shared_paths(pages: Sequence[Page]) -> None:
    owners: dict[str, Page] = {}
    for page in pages:
        if page.output in owners:
            first = owners[page.output]
            raise PlanError(
                f"two pages would be written to {page.output}: "
                f"{_describe(first)} and {_describe(page)}"
            )
        owners[page.output] = page


def _describe(page: Page) -> str:
    return page.sources[0] if page.template == "article.html" else f"the {page.template} page"

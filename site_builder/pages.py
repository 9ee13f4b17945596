"""PLAN: what a plan is made of: pages (path, template, context) and the entries, refs and
links their templates show. Frozen values; routes.py makes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from .models import Article, Provider

if TYPE_CHECKING:
    from .plan_reuse import PlanMemo
    from .related import MoreOnMemo


# Pages rendered by feeds.py, not Jinja.
ATOM, JSON_FEED, SITEMAP, SITEMAP_INDEX = "feed:atom", "feed:json", "sitemap", "sitemap:index"


ARTICLE = "article.html"  # a story's own page


class PlanError(Exception):
    """Two sources want the same output path."""


@dataclass(frozen=True, slots=True)
class TopicRef:
    name: str
    path: str


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A provider as the site links it: its page of stories."""

    name: str
    domain: str
    path: str | None  # None when the provider has no domain, hence no page


@dataclass(frozen=True, slots=True)
class RelatedLink:
    title: str
    href: str  # our own permalink path when the story is on this site, else its webUrl
    internal: bool
    provider: Provider | None
    published: datetime | None


@dataclass(frozen=True, slots=True)
class LocalImage:
    """A story's lead image as the site serves it (`images = "local"`): WebP renditions
    under /images/, or none when it could not be had (`missing`: the card's placeholder)."""

    srcset: tuple[tuple[str, int], ...]  # (site path, width), narrowest first
    width: int = 0  # of the narrowest, the one `src` names
    height: int = 0

    @property
    def src(self) -> str:
        return self.srcset[0][0] if self.srcset else ""

    @property
    def missing(self) -> bool:
        return not self.srcset


UNAVAILABLE = LocalImage(())  # an image that cannot be had: the card shows its placeholder


@dataclass(frozen=True, slots=True, eq=False)
class Entry:
    """An article as every page shows it: the article plus the links decided for it.
    Compared by identity: routes._entries keeps the last plan's Entry for the very same article, and
    two stories equal by value may still print differently (12:00+02:00 is 10:00Z)."""

    article: Article
    path: str
    topics: tuple[TopicRef, ...]
    source: SourceRef | None
    image: LocalImage | None = None  # None: the article's own image URL, if any, is shown


@dataclass(frozen=True, slots=True)
class Lead:
    """A leading story of a home or topic listing's first page, with its cluster: its
    first few related links (routes.CLUSTER), resolved as on its own page: to our
    permalink when the related story is on the site."""

    entry: Entry
    cluster: tuple[RelatedLink, ...]


@dataclass(frozen=True, slots=True)
class UrlList:
    """A sitemap's (path, lastmod) pairs, of pages or of a sitemap index's parts: one
    value, so the fingerprint reads it in one repr rather than page by page, a large share
    of a one-edit build otherwise (docs/performance.md, "Sitemap by code")."""

    items: tuple[tuple[str, datetime | None], ...]


@dataclass(frozen=True, slots=True)
class FeedLink:
    title: str
    path: str
    type: str  # MIME type for <link rel="alternate">


@dataclass(frozen=True, slots=True)
class Page:
    path: str  # URL path below the base path: "/", "/topics/ai/page/2/", "/feed.xml"
    template: str  # a Jinja template name, or ATOM / JSON_FEED / SITEMAP / SITEMAP_INDEX
    context: dict = field(hash=False)
    sources: tuple[str, ...] = ()  # content files this page shows directly
    lastmod: datetime | None = None  # newest story shown, for the sitemap
    # File path relative to the output folder, and whether it is HTML: made once, they are
    # read several times per build.
    output: str = field(init=False, compare=False, repr=False)
    is_html: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        rel = self.path.lstrip("/")
        output = rel + "index.html" if rel.endswith("/") or not rel else rel
        object.__setattr__(self, "output", output)
        object.__setattr__(self, "is_html", output.endswith(".html"))


@dataclass(frozen=True, slots=True)
class SitePlan:
    pages: tuple[Page, ...]
    entries: tuple[Entry, ...]  # newest first
    topics: tuple[tuple[TopicRef, int], ...]  # every topic with its count, by name
    nav_topics: tuple[TopicRef, ...]  # the busiest topics, for the site's navigation
    feeds: tuple[FeedLink, ...]  # the site-wide feeds every page links
    more_on: MoreOnMemo | None = None  # for the next build's plan_site(previous=...)
    memo: PlanMemo | None = None  # for the next build's plan_site(reuse=...)

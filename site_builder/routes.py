"""PLAN: the site's one URL scheme. Turns the model into pages: (path, template, context).

Everything a template shows is decided here, once per build: which stories, in which
order, on which page, linking where. Two pages never share an output path.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import compress

from .config import SiteConfig
from .models import Article, Provider
from .slugs import slugify
from .topics import (
    MoreOnMemo,
    Pagination,
    Topic,
    build_topics,
    group_by_month,
    group_by_provider,
    group_by_topic,
    more_on_with_memo,
    normalize_url,
    top_stories,
    trending,
)

FEED_SIZE = 50
NAV_TOPICS = 5
# Pages rendered by feeds.py, not Jinja.
ATOM, JSON_FEED, SITEMAP, SITEMAP_INDEX = "feed:atom", "feed:json", "sitemap", "sitemap:index"
# sitemaps.org allows 50,000 URLs in one sitemap file (100,000 stories make 113,000 pages):
# a larger site's are split into /sitemap-1.xml, /sitemap-2.xml..., and /sitemap.xml, the
# file robots.txt names, is then the sitemap index listing them.
SITEMAP_LIMIT = 50_000
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


@dataclass(frozen=True, slots=True, eq=False)
class Entry:
    """An article as every page shows it: the article plus the links decided for it.
    Compared by identity: _entries keeps the last plan's Entry for the very same article, and
    two stories equal by value may still print differently (12:00+02:00 is 10:00Z)."""

    article: Article
    path: str
    topics: tuple[TopicRef, ...]
    source: SourceRef | None


@dataclass(frozen=True, slots=True)
class UrlList:
    """A sitemap's (path, lastmod) pairs, of pages or of a sitemap index's parts: one
    value, so the fingerprint reads it in one repr rather than page by page (at 10,000
    stories that was a sixth of a one-edit build)."""

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
    # File path relative to the output folder: made once, it is read several times per build.
    output: str = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        rel = self.path.lstrip("/")
        object.__setattr__(self, "output", rel + "index.html" if rel.endswith("/") or not rel else rel)

    @property
    def is_html(self) -> bool:
        return self.output.endswith(".html")


@dataclass(frozen=True, slots=True)
class SitePlan:
    pages: tuple[Page, ...]
    entries: tuple[Entry, ...]  # newest first
    topics: tuple[tuple[TopicRef, int], ...]  # every topic with its count, by name
    nav_topics: tuple[TopicRef, ...]  # the busiest topics, for the site's navigation
    feeds: tuple[FeedLink, ...]  # the site-wide feeds every page links
    more_on: MoreOnMemo | None = None  # for the next build's plan_site(previous=...)
    memo: PlanMemo | None = None  # for the next build's plan_site(reuse=...)


@dataclass(frozen=True, slots=True)
class StoryKeys:
    """What the plan derives from one article alone: computed again only for an article
    that is not the very same object as in the last plan (a file that changed)."""

    article: Article
    url: str  # its normalized webUrl
    order: tuple  # (timestamp, webUrl, source): the order in which permalink clashes are settled
    base_path: str  # its permalink, unless it clashes
    related_urls: tuple[str, ...]  # its related stories' normalized webUrls


@dataclass(frozen=True, slots=True)
class Groups:
    """The stories grouped by topic, provider and month, and the home page's strips.
    The next plan takes them over when the stories are the same, in the same order, and
    no changed story changed a field they read (_grouping). The lists may then
    hold an older copy of a changed story: only its source is read from them."""

    order: tuple[str, ...]  # the sources of the stories, newest first
    positions: dict[str, int]  # source -> its place in `order`
    settings: tuple  # (time zone, trending, top_stories)
    topics: dict[str, Topic]
    by_topic: dict[Topic, list[Article]]
    providers: dict[str, tuple[str, list[Article]]]
    months: dict[tuple[int, int], list[Article]]
    trending: tuple[str, ...]  # sources
    top_stories: tuple[str, ...]  # sources


@dataclass(frozen=True, slots=True)
class PlanMemo:
    """What a plan leaves for the next one in the same process (serve, --watch)."""

    stories: dict[str, StoryKeys]  # by source
    targets: dict[str, str]  # normalized webUrl of every story on the site -> its permalink
    groups: Groups | None = None
    config: SiteConfig | None = None
    entries: dict[str, Entry] = field(default_factory=dict)  # by source
    refs: dict = field(default_factory=dict)  # the TopicRefs and SourceRefs the plan made
    linked_from: dict[str, tuple[str, ...]] | None = None  # related URL -> sources linking it (see _linked_from)


def home_path(number: int) -> str:
    return "/" if number == 1 else f"/page/{number}/"


def _numbered(first: str) -> Callable[[int], str]:
    return lambda n: first if n == 1 else f"{first}page/{n}/"


@dataclass(frozen=True, slots=True)
class _Listing:
    """A paginated list of stories, planned before permalinks exist (their paths only
    depend on the number of stories), turned into pages once they do."""

    path_of: Callable[[int], str]
    template: str
    members: Sequence[Article]
    context: dict = field(hash=False)

    def paths(self, per_page: int) -> list[str]:
        return [self.path_of(n) for n in range(1, _page_count(len(self.members), per_page) + 1)]


def _page_count(items: int, per_page: int) -> int:
    return max(1, -(-items // per_page))  # an empty list still has its (empty) page


SITE_FEEDS = (
    FeedLink("Latest stories (Atom)", "/feed.xml", "application/atom+xml"),
    FeedLink("Latest stories (JSON Feed)", "/feed.json", "application/feed+json"),
)


def plan_site(
    articles: Sequence[Article], config: SiteConfig, previous: MoreOnMemo | None = None, reuse: SitePlan | None = None
) -> SitePlan:
    """`articles` are the ones to publish, newest first. The plan is the same with or
    without the last build's results, which only save work: `previous` (its
    `SitePlan.more_on`, also kept on disk) lets "more on" be recomputed only near what
    changed; `reuse` (its whole plan, kept in memory by serve) lets pages equal to one it
    had be that same object, whose fingerprint is then already known."""
    same = _Reuse(reuse)
    keys, changed = _story_keys(articles, config, same.memo)
    groups = _groups(articles, keys, changed, config, same.memo)
    topics, by_topic, providers, months = groups.topics, groups.by_topic, groups.providers, groups.months

    topic_refs = {key: same.ref(TopicRef(t.name, f"/topics/{t.slug}/")) for key, t in topics.items()}
    source_refs = {domain: same.ref(SourceRef(name, domain, f"/sources/{domain}/")) for domain, (name, _) in providers.items()}
    # A provider without a domain has no page: its ref is made here too, once per plan, so
    # that every ref reaches the next plan even when _entries keeps an entry unlooked-at.
    nameless = {a.provider.name for a in articles if a.provider is not None and not a.provider.domain}
    bare_refs = {name: same.ref(SourceRef(name, "", None)) for name in sorted(nameless)}

    listings = [_Listing(home_path, "index.html", articles, {"title": "", "trending": (), "top_stories": ()})]
    for topic, members in by_topic.items():
        ref = topic_refs[topic.key]
        feed = FeedLink(f"{topic.name} (Atom)", f"{ref.path}feed.xml", "application/atom+xml")
        listings.append(_Listing(_numbered(ref.path), "topic.html", members, {"title": topic.name, "topic": ref, "topic_feed": feed}))
    for domain, (name, members) in providers.items():
        listings.append(_Listing(_numbered(source_refs[domain].path), "source.html", members, {"title": name, "source": source_refs[domain]}))
    for (year, month), members in months.items():
        label = datetime(year, month, 1).strftime("%B %Y")
        listings.append(_Listing(_numbered(f"/archive/{year:04d}/{month:02d}/"), "month.html", members, {"title": label}))

    fixed = {"/404.html", "/search/", "/topics/", "/archive/", "/feed.xml", "/feed.json", "/sitemap.xml", "/robots.txt"}
    taken = fixed | {path for listing in listings for path in listing.paths(config.paginate)}
    paths = _article_paths(keys, config, taken)

    # The same stories in the same groups, with the same settings: a page that lists no
    # story whose Entry was replaced is the last plan's page.
    same.stable = groups is same.memo.groups and config == same.memo.config
    entries, replaced = _entries(articles, paths, topic_refs, source_refs, bare_refs, same)
    by_source = {e.article.source: e for e in entries}
    more, more_memo = more_on_with_memo(articles, by_topic, topics, previous)
    linked_from = _linked_from(keys, changed, same)
    pages, targets = _article_pages(entries, by_source, keys, more, paths, same, replaced, groups, linked_from)
    home = len(pages)  # the home listing comes first
    for listing in listings:
        pages += _paginated(listing, by_source, config.paginate, same, replaced)
    newest = articles[0].published if articles else None
    pages[home] = _with_strips(pages[home], groups, by_source)

    topic_list = tuple(
        sorted(((topic_refs[t.key], len(by_topic[t])) for t in topics.values()), key=lambda p: p[0].name.casefold())
    )
    pages.append(Page("/topics/", "topics.html", {"title": "Topics", "topics": topic_list}, lastmod=newest))
    pages.append(Page("/archive/", "archive.html", {"title": "Archive", "months": _month_index(months)}, lastmod=newest))
    if config.search:
        pages.append(Page("/search/", "search.html", {"title": "Search"}, lastmod=newest))  # its index changes with the stories
    pages.append(Page("/404.html", "404.html", {"title": "Page not found"}))
    pages += _feed_pages(entries, topics, by_topic, topic_refs, by_source, config)
    if config.base_url:  # a sitemap must list absolute URLs; without base_url there is none
        pages += _sitemap_pages(tuple((p.path, p.lastmod) for p in pages if p.is_html and p.path != "/404.html"))
    pages.append(Page("/robots.txt", "robots.txt", {}))
    _refuse_shared_paths(pages)
    pages = [same.page(page) for page in pages]

    busiest = sorted(topic_list, key=lambda pair: (-pair[1], pair[0].name.casefold()))
    nav_topics = tuple(ref for ref, _ in busiest[:NAV_TOPICS])
    memo = PlanMemo(keys, targets, groups, config, by_source, same.used, linked_from)
    return SitePlan(tuple(pages), entries, topic_list, nav_topics, SITE_FEEDS, more_memo, memo)


def _sitemap_pages(urls: tuple[tuple[str, datetime | None], ...]) -> list[Page]:
    """/sitemap.xml; past SITEMAP_LIMIT URLs, the parts and the index at /sitemap.xml
    (each part's lastmod: the newest of its pages')."""
    if len(urls) <= SITEMAP_LIMIT:
        return [Page("/sitemap.xml", SITEMAP, {"urls": UrlList(urls)})]
    chunks = [urls[start : start + SITEMAP_LIMIT] for start in range(0, len(urls), SITEMAP_LIMIT)]
    parts = [Page(f"/sitemap-{n}.xml", SITEMAP, {"urls": UrlList(chunk)}) for n, chunk in enumerate(chunks, 1)]
    newest = [max((lastmod for _, lastmod in chunk if lastmod), default=None) for chunk in chunks]
    return [*parts, Page("/sitemap.xml", SITEMAP_INDEX, {"urls": UrlList(tuple(zip((p.path for p in parts), newest)))})]


def _source_of(article: Article, source_refs: dict[str, SourceRef], bare_refs: dict[str, SourceRef]) -> SourceRef | None:
    provider = article.provider
    if provider is None:
        return None
    return source_refs[provider.domain] if provider.domain else bare_refs[provider.name]


class _Reuse:
    """The previous plan's objects, taken over where the new plan has an equal one: an
    unchanged page is then the very same object, and the fingerprinter knows it (see
    Fingerprinter's `previous`). Equality decides, except where the plans are `stable`
    (see plan_site): there a page that shows no replaced entry is taken without a
    comparison, as the new one would equal it. The plan is the same either way."""

    def __init__(self, plan: SitePlan | None):
        self.memo = PlanMemo({}, {}) if plan is None or plan.memo is None else plan.memo
        self._refs = self.memo.refs
        # The last plan's pages: by path, and those of its entries (the first ones), in order.
        self.pages = {page.path: page for page in plan.pages} if plan is not None else {}
        self.article_pages = plan.pages[: len(plan.entries)] if plan is not None else ()
        self.entries = plan.entries if plan is not None else ()  # the last plan's, newest first
        self.more = plan.more_on.result if plan is not None and plan.more_on is not None else {}
        self.used: dict = {}  # the refs this plan uses, for the next one
        self.stable = False  # set by plan_site, which says what it means

    def ref(self, value):
        """One object per distinct ref (Entry and _most_shared_topic compare them by
        identity): the last plan's, else the first made in this one."""
        ref = self.used.get(value)
        if ref is None:
            ref = self.used[value] = self._refs.get(value, value)
        return ref

    def page(self, page: Page) -> Page:
        old = self.pages.get(page.path)
        return old if old is not None and (old is page or old == page) else page

    def listing_page(self, path: str, template: str, replaced: set[Entry]) -> Page | None:
        """The previous page at `path`, when the plans are `stable` and it lists no
        replaced entry: the page this plan would make equals it."""
        if not self.stable:
            return None
        old = self.pages.get(path)
        if old is None or old.template != template or not replaced.isdisjoint(old.context["entries"]):
            return None
        return old


def _entries(articles, paths, topic_refs, source_refs, bare_refs, same: _Reuse) -> tuple[tuple[Entry, ...], set[Entry]]:
    """Every story's Entry (the last plan's, for the very same article at the same path
    with the same refs), and the last plan's entries that were replaced. When the plans
    are `stable`, the refs are the very same objects as before, so they are not looked up."""
    entries, replaced = [], set()
    known = same.memo.entries
    for a in articles:
        path = paths[a.source]
        old = known.get(a.source)
        kept = old is not None and old.article is a and old.path == path
        if kept and same.stable:
            entries.append(old)
            continue
        topics, source = tuple(topic_refs[name.casefold()] for name in a.topics), _source_of(a, source_refs, bare_refs)
        if kept and old.topics == topics and old.source is source:
            entries.append(old)
            continue
        entries.append(Entry(a, path, topics, source))
        if old is not None:
            replaced.add(old)
    return tuple(entries), replaced


def _article_pages(
    entries, by_source, keys: dict[str, StoryKeys], more, paths, same: _Reuse, replaced: set[Entry],
    groups: Groups, linked_from: dict[str, tuple[str, ...]] | None,
) -> tuple[list[Page], dict[str, str]]:
    """The story pages, in the order of `entries`, and the permalink of every story by its
    normalized webUrl. linked_from: see _linked_from (None unless the plans are `stable`)."""
    targets = {k.url: paths[k.article.source] for k in keys.values()}  # the last story per URL wins
    # URLs whose link target is not what it was: the only related links that can differ.
    moved = {url for url, _ in same.memo.targets.items() ^ targets.items()} if same.memo.targets else set()
    replaced_sources = {e.article.source for e in replaced}
    last_more = same.more

    def page_of(entry: Entry, old: Page | None) -> Page:
        """old: the last plan's page of this very entry (same story, path, topics and
        source). If it also showed the same "more on" and related links, it equals the page
        that would be built: everything else on it (title, date, the "More on" heading) follows."""
        article = entry.article
        source = article.source
        story = keys[source]
        if old is not None and moved.isdisjoint(story.related_urls):
            # The old page's "more" are the last plan's entries of last_more[source]: the
            # same sources, none replaced, are the very same entries.
            shown, before = more[source], last_more.get(source)
            if (shown is before or shown == before) and replaced_sources.isdisjoint(shown):
                return old
            related = old.context["related"]  # the same article, each link to the same place
        else:
            related = tuple(_related_link(r, targets.get(url)) for r, url in zip(article.related, story.related_urls))
        others = tuple(map(by_source.__getitem__, more[source]))
        if old is not None and old.context["more"] == others and old.context["related"] == related:
            return old
        context = {"entry": entry, "title": article.title, "related": related, "more": others}
        context["more_topic"] = _most_shared_topic(entry, others)
        return Page(entry.path, ARTICLE, context, (source,), article.published)

    last_pages, last_entries = same.article_pages, same.entries
    if same.stable:  # the same stories in the same order as the last plan's
        # The same stories in the same order: the last plan's pages, but where page_of
        # might decide otherwise (found in C loops over the stories, not Python ones).
        pages = list(last_pages)
        linking = {source for url in moved for source in linked_from.get(url, ())}
        changed = _maybe_changed(entries, last_entries, groups.order, more, last_more, replaced_sources)
        for n in sorted(changed.union(map(groups.positions.__getitem__, linking))):
            entry = entries[n]
            pages[n] = page_of(entry, last_pages[n] if last_entries[n] is entry else None)
        return pages, targets
    by_path = same.pages
    pages = []
    for entry in entries:
        old = by_path.get(entry.path)
        pages.append(page_of(entry, old if old is not None and old.context.get("entry") is entry else None))
    return pages, targets


def _maybe_changed(entries, last_entries, order, more, last_more, replaced_sources) -> set[int]:
    """Positions of the stories whose page page_of may not take over, but for a related
    link that moved: a new Entry, or "more on" stories that are not the very same tuple
    as the last plan's, or that show a replaced story."""
    every = range(len(entries))
    shown = list(map(more.__getitem__, order))
    found = set(compress(every, map(operator.is_not, entries, last_entries)))
    found.update(compress(every, map(operator.is_not, shown, map(last_more.get, order))))
    if replaced_sources:
        found.update(compress(every, map(operator.not_, map(replaced_sources.isdisjoint, shown))))
    return found


def _linked_from(keys: dict[str, StoryKeys], changed: list[str], same: _Reuse) -> dict[str, tuple[str, ...]] | None:
    """Related URL -> the stories linking to it, which only a `stable` plan reads: the
    last plan's, with the changed stories' links put right (a copy: the last plan's
    stays as it was), or made whole the first time. None for a plan that is not stable
    (a one-off build never needs it)."""
    if not same.stable:
        return None
    previous = same.memo
    if previous.linked_from is None:
        index: dict[str, list[str]] = {}
        for story in keys.values():
            for url in story.related_urls:
                index.setdefault(url, []).append(story.article.source)
        return {url: tuple(sources) for url, sources in index.items()}
    linked = dict(previous.linked_from)
    for source in changed:
        old, new = previous.stories[source].related_urls, keys[source].related_urls
        for url in set(old) - set(new):
            linked[url] = tuple(s for s in linked[url] if s != source)
        for url in set(new) - set(old):
            linked[url] = (*linked.get(url, ()), source)
    return linked


def _paginated(listing: _Listing, by_source, per_page: int, same: _Reuse, replaced: set[Entry]) -> list[Page]:
    """The listing's pages; when the plans are `stable`, a page of the last plan's that
    lists no replaced entry is taken over whole."""
    pages = []
    path_of, members = listing.path_of, listing.members
    total = _page_count(len(members), per_page)
    for n in range(1, total + 1):
        old = same.listing_page(path_of(n), listing.template, replaced)
        if old is not None:
            pages.append(old)
            continue
        shown = tuple(by_source[a.source] for a in members[(n - 1) * per_page : n * per_page])
        pagination = Pagination(shown, n, total, len(members))
        pages.append(
            Page(
                path_of(n),
                listing.template,
                {
                    **listing.context,
                    "entries": pagination.items,
                    "pagination": pagination,
                    "prev_path": path_of(n - 1) if pagination.has_prev else None,
                    "next_path": path_of(n + 1) if pagination.has_next else None,
                },
                tuple(e.article.source for e in pagination.items),
                pagination.items[0].article.published if pagination.items else None,
            )
        )
    return pages


def _with_strips(page: Page, groups: Groups, by_source) -> Page:
    """The first home page with its "Trending" and "Top stories" strips (either may be
    empty: off in site.toml, or no story has heat / quality)."""
    context = {
        **page.context,
        "trending": tuple(map(by_source.__getitem__, groups.trending)),
        "top_stories": tuple(map(by_source.__getitem__, groups.top_stories)),
    }
    return replace(page, context=context)


def _feed_pages(entries, topics, by_topic, topic_refs, by_source, config) -> list[Page]:
    latest = entries[:FEED_SIZE]
    newest = latest[0].article.published if latest else None
    site = {"title": config.title, "alternate": "/", "entries": latest, "updated": newest}
    pages = [
        Page("/feed.xml", ATOM, {**site, "self": "/feed.xml"}, lastmod=newest),
        Page("/feed.json", JSON_FEED, {**site, "self": "/feed.json"}, lastmod=newest),
    ]
    for topic, members in by_topic.items():
        ref = topic_refs[topic.key]
        shown = tuple(by_source[a.source] for a in members[:FEED_SIZE])
        pages.append(
            Page(
                f"{ref.path}feed.xml",
                ATOM,
                {
                    "title": f"{topic.name} · {config.title}",
                    "alternate": ref.path,
                    "self": f"{ref.path}feed.xml",
                    "entries": shown,
                    "updated": shown[0].article.published,
                },
                lastmod=shown[0].article.published,
            )
        )
    return pages


def _month_index(months) -> tuple[tuple[int, tuple[tuple[str, str, int], ...]], ...]:
    """((year, ((month name, path, count), ...)), ...), newest first."""
    years: dict[int, list] = {}
    for (year, month), members in months.items():
        years.setdefault(year, []).append(
            (datetime(year, month, 1).strftime("%B"), f"/archive/{year:04d}/{month:02d}/", len(members))
        )
    return tuple((year, tuple(items)) for year, items in years.items())


def _most_shared_topic(entry: Entry, others: list[Entry]) -> str:
    """The heading for "More on ...": the story's topic that most of the others share
    ("this story" when they were found by their titles alone)."""
    # TopicRefs are shared objects, one per topic: count them by identity.
    shown: dict[int, int] = {}
    for other in others:
        for ref in other.topics:
            shown[id(ref)] = shown.get(id(ref), 0) + 1
    counts = [(shown.get(id(ref), 0), -i, ref.name) for i, ref in enumerate(entry.topics)]
    best = max(counts, default=(0, 0, ""))
    return best[2] if best[0] else "this story"


def _permalink_settings(config: SiteConfig) -> tuple:
    return config.permalink, config.timezone


def _story_keys(articles: Sequence[Article], config: SiteConfig, previous: PlanMemo) -> tuple[dict[str, StoryKeys], list[str]]:
    """Each article's StoryKeys: the last plan's where it is the very same article. Also
    returns the sources whose keys were made anew."""
    same_links = previous.config is not None and _permalink_settings(previous.config) == _permalink_settings(config)
    known = previous.stories if same_links else {}
    keys, changed = {}, []
    for article in articles:
        story = known.get(article.source)
        if story is None or story.article is not article:
            story = StoryKeys(
                article,
                normalize_url(article.web_url),
                (article.published.timestamp(), article.web_url, article.source),
                _permalink(article, _slug(article), config),
                tuple(normalize_url(r.url) for r in article.related),
            )
            changed.append(article.source)
        keys[article.source] = story
    return keys, changed


def _grouping(article: Article) -> tuple:
    """Every field of a story that Groups read."""
    return article.published, article.web_url, article.topics, article.provider, article.heat, article.quality


def _groups(articles: Sequence[Article], keys: dict[str, StoryKeys], changed: list[str], config: SiteConfig, previous: PlanMemo) -> Groups:
    order = tuple(a.source for a in articles)
    settings = (config.timezone, config.trending, config.top_stories)
    old, before = previous.groups, previous.stories
    if old is not None and old.settings == settings and old.order == order and all(
        source in before and _grouping(before[source].article) == _grouping(keys[source].article) for source in changed
    ):
        return old
    topics = build_topics(articles)
    # Trending ages are counted from the newest story, not the clock: the same files
    # always build the same site, so a rebuild can skip what did not change.
    hot = trending(articles, articles[0].published, config.trending) if articles else []
    return Groups(
        order, {source: n for n, source in enumerate(order)}, settings, topics, group_by_topic(articles, topics), group_by_provider(articles),
        group_by_month(articles, config.tz), tuple(a.source for a in hot),
        tuple(a.source for a in top_stories(articles, config.top_stories)),
    )


def _slug(article: Article) -> str:
    return article.slug or slugify(article.title)


def _permalink(article: Article, slug: str, config: SiteConfig) -> str:
    local = article.published.astimezone(config.tz)
    return config.permalink.format(slug=slug, year=f"{local.year:04d}", month=f"{local.month:02d}", day=f"{local.day:02d}")


def _article_paths(keys: dict[str, StoryKeys], config: SiteConfig, taken: set[str]) -> dict[str, str]:
    """Permalink per article source. Clashes get -2, -3... in (date, URL) order, so the
    result depends only on the articles, never on file names or reading order."""
    paths: dict[str, str] = {}
    used = set(taken)
    for story in sorted(keys.values(), key=lambda k: k.order):
        path, n = story.base_path, 2
        while path in used:
            path, n = _permalink(story.article, f"{_slug(story.article)}-{n}", config), n + 1
        used.add(path)
        paths[story.article.source] = path
    return paths


def _related_link(story, permalink: str | None) -> RelatedLink:
    """permalink: ours, when the story is on this site."""
    if permalink is not None:
        return RelatedLink(story.title, permalink, True, story.provider, story.published)
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
    return page.sources[0] if page.template == ARTICLE else f"the {page.template} page"

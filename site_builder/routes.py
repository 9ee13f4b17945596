"""PLAN: turns the model into pages: (path, template, context).

Everything a template shows is decided here, once per build: which stories, in which
order, on which page, linking where. Two pages never share an output path.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import compress, repeat

from .config import SiteConfig
from .models import Article
from .pages import (
    ARTICLE, ATOM, JSON_FEED, SITEMAP, SITEMAP_INDEX, Entry, FeedLink, Lead, LocalImage, Page, PlanError, RelatedLink,
    SitePlan, SourceRef, TopicRef, UrlList,
)
from .permalinks import home_path, numbered, paths_with_memo
from .plan_reuse import (
    Groups, PlanMemo, Reuse, StoryKeys, gone_sources, linked_from_index, nameless_providers, plan_groups, story_keys,
)
from .related import MoreOnMemo, more_on_with_memo
from .topics import Pagination

FEED_SIZE = 50
NAV_TOPICS = 5
# sitemaps.org allows 50,000 URLs in one sitemap file (100,000 stories make 113,000 pages):
# a larger site's are split into /sitemap-1.xml, /sitemap-2.xml..., and /sitemap.xml, the
# file robots.txt names, is then the sitemap index listing them.
SITEMAP_LIMIT = 50_000
# The first page of the home and topic listings opens with its LEADING newest stories
# drawn large (the first with its image), each with up to CLUSTER related links.
LEADING = 4
CLUSTER = 3


@dataclass(frozen=True, slots=True)
class _Listing:
    """A paginated list of stories, planned before permalinks exist (their paths only
    depend on the number of stories), turned into pages once they do."""

    path_of: Callable[[int], str]
    template: str
    members: Sequence[Article]
    context: dict = field(hash=False)
    leads: bool = False  # its first page opens with leading stories and their clusters

    def paths(self, per_page: int) -> list[str]:
        return [self.path_of(n) for n in range(1, _page_count(len(self.members), per_page) + 1)]


def _page_count(items: int, per_page: int) -> int:
    return max(1, -(-items // per_page))  # an empty list still has its (empty) page


SITE_FEEDS = (
    FeedLink("Latest stories (Atom)", "/feed.xml", "application/atom+xml"),
    FeedLink("Latest stories (JSON Feed)", "/feed.json", "application/feed+json"),
)


def plan_site(
    articles: Sequence[Article], config: SiteConfig, previous: MoreOnMemo | None = None, reuse: SitePlan | None = None,
    images: Mapping[str, LocalImage] | None = None,
) -> SitePlan:
    """`articles` are the ones to publish, newest first. `images` (with `images = "local"`):
    how each lead image URL is shown, decided by the image stage (images.py); a URL it does
    not name shows the publisher's image. The plan is the same with or
    without the last build's results, which only save work: `previous` (its
    `SitePlan.more_on`, also kept on disk) lets "more on" be recomputed only near what
    changed; `reuse` (its whole plan, kept in memory by serve) lets pages equal to one it
    had be that same object, whose fingerprint is then already known."""
    same = Reuse(reuse)
    # Made with the same settings as the last plan: what did not change can be taken over.
    same.follows = config == same.memo.config
    order = tuple(map(_SOURCE, articles))
    keys, changed = story_keys(articles, config, same.memo, order)
    groups = plan_groups(articles, keys, changed, config, same.memo, order)
    same.same_groups = groups is same.memo.groups
    topics, by_topic, providers, months = groups.topics, groups.by_topic, groups.providers, groups.months

    topic_refs = {key: same.ref(TopicRef(t.name, f"/topics/{t.slug}/")) for key, t in topics.items()}
    source_refs = {domain: same.ref(SourceRef(name, domain, f"/sources/{domain}/")) for domain, (name, _) in providers.items()}
    # A provider without a domain has no page: its ref is made here too, once per plan, so
    # that every ref reaches the next plan even when _entries keeps an entry unlooked-at.
    nameless = nameless_providers(keys, changed, same.memo)
    bare_refs = {name: same.ref(SourceRef(name, "", None)) for name in sorted(nameless)}

    listings = [_Listing(home_path, "index.html", articles, {"title": "", "trending": (), "top_stories": ()}, True)]
    for topic, members in by_topic.items():
        ref = topic_refs[topic.key]
        feed = FeedLink(f"{topic.name} (Atom)", f"{ref.path}feed.xml", "application/atom+xml")
        listings.append(_Listing(numbered(ref.path), "topic.html", members, {"title": topic.name, "topic": ref, "topic_feed": feed}, True))
    for domain, (name, members) in providers.items():
        listings.append(_Listing(numbered(source_refs[domain].path), "source.html", members, {"title": name, "source": source_refs[domain]}))
    for (year, month), members in months.items():
        label = datetime(year, month, 1).strftime("%B %Y")
        listings.append(_Listing(numbered(f"/archive/{year:04d}/{month:02d}/"), "month.html", members, {"title": label}))

    taken = _listing_paths(listings, config.paginate, same)
    touched = (*changed, *gone_sources(same.memo.stories, keys, changed))  # whose keys came, went or changed
    paths, own_paths = paths_with_memo(keys, config, taken[1], same.memo.own_paths if same.follows else None, touched)

    entries, replaced, renewed = _entries(articles, groups.order, paths, topic_refs, source_refs, bare_refs, same, images or {})
    by_source = dict(zip(groups.order, entries))  # the order of `articles`
    more, more_memo = more_on_with_memo(articles, by_topic, topics, previous)
    linked_from = linked_from_index(keys, changed, same)
    pages, targets = _article_pages(entries, renewed, by_source, keys, changed, more, paths, same, replaced, groups, linked_from)
    home = len(pages)  # the home listing comes first
    story_pages = pages[:home]  # in the order of entries, as groups.positions counts them

    def cluster(source: str) -> tuple[RelatedLink, ...]:
        return story_pages[groups.positions[source]].context["related"][:CLUSTER]

    spans = []  # each listing's first path, stories, and place in `pages`
    for listing in listings:
        start = len(pages)
        home_entries = entries if listing.members is articles else None  # the home listing shows every entry
        pages += _paginated(listing, by_source, config.paginate, same, replaced, cluster, home_entries)
        spans.append((listing.path_of(1), listing.members, start, len(pages)))
    newest = articles[0].published if articles else None
    pages[home] = _with_strips(pages[home], groups, by_source)

    topic_list = tuple(
        sorted(((topic_refs[t.key], len(by_topic[t])) for t in topics.values()), key=lambda p: p[0].name.casefold())
    )
    pages.append(Page("/topics/", "topics.html", {"title": "Topics", "topics": topic_list}, lastmod=newest))
    pages.append(Page("/archive/", "archive.html", {"title": "Archive", "months": _month_index(months)}, lastmod=newest))
    if config.search:
        pages.append(Page("/search/", "search.html", {"title": "Search"}, lastmod=newest))  # its index changes with the stories
    # The sitemap lists every HTML page so far: the 404 page and the feeds that follow are not listed.
    urls = tuple(map(_PATH_AND_LASTMOD, compress(pages, map(_IS_HTML, pages)))) if config.base_url else ()
    pages.append(Page("/404.html", "404.html", {"title": "Page not found"}))
    pages += _feed_pages(entries, topics, by_topic, topic_refs, by_source, config)
    if config.base_url:  # a sitemap must list absolute URLs; without base_url there is none
        pages += _sitemap_pages(urls)
    pages.append(Page("/robots.txt", "robots.txt", {}))
    _refuse_shared_paths(pages)
    by_path, page_ids = same.settle(pages)  # pages made anew that equal the last plan's are that page

    listed = {first: (members, tuple(pages[start:stop])) for first, members, start, stop in spans}
    busiest = sorted(topic_list, key=lambda pair: (-pair[1], pair[0].name.casefold()))
    nav_topics = tuple(ref for ref, _ in busiest[:NAV_TOPICS])
    memo = PlanMemo(
        keys, targets, groups, config, by_source, same.used, linked_from, dict(zip(groups.order, story_pages)), listed, taken,
        images or {}, nameless, by_path, page_ids, own_paths,
    )
    return SitePlan(tuple(pages), entries, topic_list, nav_topics, SITE_FEEDS, more_memo, memo)


_URL, _IS_HTML = operator.attrgetter("url"), operator.attrgetter("is_html")
_ARTICLE, _PATH = operator.attrgetter("article"), operator.attrgetter("path")
_NO_ENTRY = Entry(None, None, (), None)  # a story the last plan did not have
_SOURCE = operator.attrgetter("source")
_SOURCE_OF_ENTRY = operator.attrgetter("article.source")
_PATH_AND_LASTMOD = operator.attrgetter("path", "lastmod")
FIXED_PATHS = frozenset({"/404.html", "/search/", "/topics/", "/archive/", "/feed.xml", "/feed.json", "/sitemap.xml", "/robots.txt"})


def _listing_paths(listings: list[_Listing], per_page: int, same: Reuse) -> tuple[tuple, frozenset[str]]:
    """Every path the listings and the fixed pages take (no story may take one), with
    what it depends on: each listing's first path and number of pages. The last plan's,
    when that is the same (a publish adds a page to a listing once in `paginate` times)."""
    shape = (per_page, tuple((listing.path_of(1), _page_count(len(listing.members), per_page)) for listing in listings))
    last = same.memo.taken
    if last is not None and last[0] == shape:
        return last
    return shape, FIXED_PATHS.union(path for listing in listings for path in listing.paths(per_page))


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


def _entries(articles, order, paths, topic_refs, source_refs, bare_refs, same: Reuse, images) -> tuple[tuple[Entry, ...], set[Entry], set[int]]:
    """Every story's Entry (the last plan's, for the very same article at the same path
    with the same refs and image), the last plan's entries that were replaced, and the
    positions of the entries that are not the last plan's. When the refs are the very
    same objects as before (`refs_kept`), they are not looked up. order: the sources of `articles`."""
    replaced: set[Entry] = set()
    known, refs_kept = same.memo.entries, same.refs_kept

    def entry_of(a: Article, old: Entry | None) -> Entry:
        path = paths[a.source]
        image = images.get(a.images[0].url) if images and a.images else None
        kept = old is not None and old.article is a and old.path == path and old.image == image
        if kept and refs_kept:
            return old
        topics, source = tuple(topic_refs[name.casefold()] for name in a.topics), _source_of(a, source_refs, bare_refs)
        if kept and old.topics == topics and old.source is source:
            return old
        if old is not None:
            replaced.add(old)
        return Entry(a, path, topics, source, image)

    if not (refs_kept and images == same.memo.images):
        olds = list(map(known.get, order))
        entries = tuple(map(entry_of, articles, olds))
        return entries, replaced, set(compress(range(len(entries)), map(operator.is_not, entries, olds)))
    # With the same refs and images, only a story that is not the very same article or has
    # moved can differ from the last plan's Entry: those are found in C loops.
    entries = list(map(known.get, order, repeat(_NO_ENTRY)))
    other = map(operator.is_not, map(_ARTICLE, entries), articles)
    moved = map(operator.ne, map(_PATH, entries), map(paths.__getitem__, order))
    renewed = set()
    for n in compress(range(len(entries)), map(operator.or_, other, moved)):
        old = entries[n]
        entries[n] = entry_of(articles[n], None if old is _NO_ENTRY else old)
        if entries[n] is not old:
            renewed.add(n)
    return tuple(entries), replaced, renewed


def _article_pages(
    entries, renewed: set[int], by_source, keys: dict[str, StoryKeys], changed: list[str], more, paths, same: Reuse,
    replaced: set[Entry], groups: Groups, linked_from: dict[str, tuple[str, ...]] | None,
) -> tuple[list[Page], dict[str, str]]:
    """The story pages, in the order of `entries`, and the permalink of every story by its
    normalized webUrl. renewed: the positions of the entries that are not the last plan's;
    changed: the stories whose keys are new (story_keys). linked_from: see linked_from_index
    (None unless the plan `follows` the last)."""
    targets = dict(zip(map(_URL, keys.values()), map(paths.__getitem__, keys)))  # the last story per URL wins
    # URLs whose link target is not what it was: the only related links that can differ.
    last_targets = same.memo.targets
    moved = set()
    if last_targets:  # C loops: a URL whose target differs, is new, or went
        moved.update(compress(targets, map(operator.ne, map(last_targets.get, targets), targets.values())))
        # A URL that went was a changed story's, or one that went: no other story's changed.
        last_keys = same.memo.stories
        for source in (*changed, *gone_sources(last_keys, keys, changed)):
            if source in last_keys and last_keys[source].url not in targets:
                moved.add(last_keys[source].url)
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

    if same.follows:
        # The last plan's page of each story, but where page_of might decide otherwise
        # (found in C loops over the stories, not Python ones).
        order = groups.order
        pages = list(map(same.memo.story_pages.get, order))
        linking = {source for url in moved for source in linked_from.get(url, ())}
        redo = _maybe_changed(renewed, order, more, last_more, replaced_sources)
        last_entries = same.memo.entries
        for n in sorted(redo.union(map(groups.positions.__getitem__, linking))):
            entry = entries[n]
            pages[n] = page_of(entry, pages[n] if last_entries.get(order[n]) is entry else None)
        return pages, targets
    by_path = same.pages
    pages = []
    for entry in entries:
        old = by_path.get(entry.path)
        pages.append(page_of(entry, old if old is not None and old.context.get("entry") is entry else None))
    return pages, targets


def _maybe_changed(renewed: set[int], order, more, last_more, replaced_sources) -> set[int]:
    """Positions of the stories whose page page_of may not take over, but for a related
    link that moved: not the last plan's Entry (renewed), or "more on" stories that are
    not the very same tuple as the last plan's, or that show a replaced story."""
    every = range(len(order))
    shown = list(map(more.__getitem__, order))
    found = set(renewed)
    found.update(compress(every, map(operator.is_not, shown, map(last_more.get, order))))
    if replaced_sources:
        found.update(compress(every, map(operator.not_, map(replaced_sources.isdisjoint, shown))))
    return found


def _paginated(
    listing: _Listing, by_source, per_page: int, same: Reuse, replaced: set[Entry], cluster, listed: tuple[Entry, ...] | None,
) -> list[Page]:
    """The listing's pages; when it lists the same stories as in the last plan, a page of
    the last plan's that lists no replaced entry (and the same clusters, which follow
    other stories' moves) is taken over whole. cluster: a story's cluster by its source;
    listed: the entries of its stories, if at hand."""
    path_of, members = listing.path_of, listing.members
    total = _page_count(len(members), per_page)
    olds = same.listing_pages(path_of(1), listing.template, members)

    def leading_of(n: int) -> tuple[Lead, ...]:
        first = members[: min(LEADING, per_page)] if listing.leads and n == 1 else ()
        return tuple(Lead(by_source[a.source], cluster(a.source)) for a in first)

    def page(n: int, leading: tuple[Lead, ...]) -> Page:
        nonlocal listed
        if listed is None:  # the listing's entries, in one C loop
            listed = tuple(map(by_source.__getitem__, map(_SOURCE, members)))
        pagination = Pagination(listed[(n - 1) * per_page : n * per_page], n, total, len(members))
        extra = {"leading": leading} if listing.leads else {}
        return Page(
            path_of(n),
            listing.template,
            {
                **listing.context,
                **extra,
                "entries": pagination.items,
                "pagination": pagination,
                "prev_path": path_of(n - 1) if pagination.has_prev else None,
                "next_path": path_of(n + 1) if pagination.has_next else None,
            },
            tuple(map(_SOURCE_OF_ENTRY, pagination.items)),
            pagination.items[0].article.published if pagination.items else None,
        )

    if olds is not None and not replaced:
        # Every page lists what it did; only the first page's leading stories may differ.
        pages = list(olds)
        if listing.leads:
            leading = leading_of(1)
            if pages[0].context.get("leading", ()) != leading:
                pages[0] = page(1, leading)
        return pages
    pages = []
    for n in range(1, total + 1):
        leading = leading_of(n)
        old = olds[n - 1] if olds is not None else None
        if old is not None and replaced.isdisjoint(old.context["entries"]) and old.context.get("leading", ()) == leading:
            pages.append(old)
        else:
            pages.append(page(n, leading))
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


def _related_link(story, permalink: str | None) -> RelatedLink:
    """permalink: ours, when the story is on this site."""
    if permalink is not None:
        return RelatedLink(story.title, permalink, True, story.provider, story.published)
    return RelatedLink(story.title, story.url, False, story.provider, story.published)


def _refuse_shared_paths(pages: Sequence[Page]) -> None:
    if len(set(map(operator.attrgetter("output"), pages))) == len(pages):
        return  # none shared (a C loop): the loop below names the two that are
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

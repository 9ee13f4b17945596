"""PLAN: what one plan hands the next in a long-lived process (serve, --watch): each
story's keys, the groups and the pages, taken over where nothing they read changed, so
an unchanged page is the very same object and its fingerprint is already known. The
plan is the same with or without them."""

from __future__ import annotations

import operator
from bisect import insort
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat

from .config import SiteConfig
from .identity import normalize_url
from .models import Article, Topic
from .pages import Entry, Page, SitePlan
from .permalinks import PathMemo, permalink, permalink_settings, slug_of
from .ranking import top_stories, trending
from .topics import build_topics, group_by_month, group_by_provider, group_by_topic, month_of, most_used, topics_named

PATCH_LIMIT = 50  # stories that came, went or moved that the last Groups are patched for


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
    linked_from: dict[str, tuple[str, ...]] | None = None  # related URL -> sources linking it (see linked_from_index)
    story_pages: dict[str, Page] = field(default_factory=dict)  # by source
    # A listing's first path -> its stories and its pages (as the plan has them).
    listings: dict[str, tuple[Sequence[Article], tuple[Page, ...]]] = field(default_factory=dict)
    taken: tuple[tuple, frozenset[str]] | None = None  # routes._listing_paths
    images: Mapping | None = None  # the lead images the entries show (plan_site's `images`)
    nameless: Counter | None = None  # see nameless_providers
    by_path: dict[str, Page] | None = None  # the plan's pages by path (Reuse.settle)
    page_ids: set[int] | None = None  # their ids
    own_paths: PathMemo | None = None  # the permalinks, for the next plan (permalinks.patched_paths)


_NO_KEYS = StoryKeys(None, "", (), "", ())  # a story the last plan did not have: its article is no article
_SOURCE, _ARTICLE, _PATH = operator.attrgetter("source"), operator.attrgetter("article"), operator.attrgetter("path")


class Reuse:
    """The previous plan's objects, taken over where the new plan has an equal one: an
    unchanged page is then the very same object, and the fingerprinter knows it (see
    Fingerprinter's `previous`). Equality decides, except where the plan `follows` the
    last (made with the same settings: plan_site sets it): there a page that shows
    nothing replaced is taken without a comparison, as the new one would equal it. The
    plan is the same either way."""

    def __init__(self, plan: SitePlan | None):
        self.memo = PlanMemo({}, {}) if plan is None or plan.memo is None else plan.memo
        self._refs = self.memo.refs
        if self.memo.by_path is not None:
            self.pages, self.page_ids = self.memo.by_path, self.memo.page_ids
        else:
            pages = plan.pages if plan is not None else ()
            self.pages = dict(zip(map(_PATH, pages), pages))  # the last plan's, by path
            self.page_ids = set(map(id, self.pages.values()))  # kept alive by self.pages
        self.more = plan.more_on.result if plan is not None and plan.more_on is not None else {}
        self.used: dict = {}  # the refs this plan uses, for the next one
        self.made_refs = 0  # refs this plan made that the last plan did not have
        self.follows = False  # set by plan_site, which says what it means
        self.same_groups = False  # plan_site took over the last plan's Groups

    def ref(self, value):
        """One object per distinct ref (Entry and _most_shared_topic compare them by
        identity): the last plan's, else the first made in this one."""
        ref = self.used.get(value)
        if ref is None:
            ref = self._refs.get(value)
            if ref is None:
                ref = value
                self.made_refs += 1
            self.used[value] = ref
        return ref

    @property
    def refs_kept(self) -> bool:
        """Every topic and source shows as it did in the last plan (the same ref objects):
        an unchanged story's Entry is then the last plan's."""
        return self.follows and not self.made_refs

    def page(self, page: Page) -> Page:
        old = self.pages.get(page.path)
        return old if old is not None and (old is page or old == page) else page

    def settle(self, pages: list[Page]) -> tuple[dict[str, Page], set[int]]:
        """Each page in `pages` made anew that equals the last plan's at its path becomes
        that page (C loops find the others: most are taken over). Returns the new plan's
        pages by path and their ids, for the next plan's Reuse: the last plan's put right
        for the pages that are not its own (made whole only when a path went), rather than
        made anew (9 ms at 10,000 stories)."""
        by_path, ids = dict(self.pages), set(self.page_ids)
        for n in compress(range(len(pages)), map(operator.not_, map(self.page_ids.__contains__, map(id, pages)))):
            page = pages[n] = self.page(pages[n])
            old = by_path.get(page.path)
            if old is not page:
                if old is not None:
                    ids.discard(id(old))
                by_path[page.path] = page
                ids.add(id(page))
        if len(by_path) != len(pages):  # a path of the last plan's is not in this one
            by_path = dict(zip(map(_PATH, pages), pages))
            ids = set(map(id, pages))
        return by_path, ids

    def listing_pages(self, first_path: str, template: str, members: Sequence[Article]) -> tuple[Page, ...] | None:
        """The last plan's pages of the listing at first_path when it lists the very same
        stories: all groups were taken over (same_groups), or its group was left untouched
        by a patch (plan_groups). None otherwise."""
        if not self.follows:
            return None
        last_members, pages = self.memo.listings.get(first_path, (None, ()))
        if not pages or pages[0].template != template or not (self.same_groups or last_members is members):
            return None
        return pages


def linked_from_index(keys: dict[str, StoryKeys], changed: list[str], same: Reuse) -> dict[str, tuple[str, ...]] | None:
    """Related URL -> the stories linking to it, which only a plan that `follows` the last
    reads: the last plan's, with the links of the changed stories and of those that went
    put right (a copy: the last plan's stays as it was), or made whole the first time.
    None for a plan that does not follow one (a one-off build never needs it)."""
    if not same.follows:
        return None
    previous = same.memo
    if previous.linked_from is None:
        index: dict[str, list[str]] = {}
        for story in keys.values():
            for url in story.related_urls:
                index.setdefault(url, []).append(story.article.source)
        return {url: tuple(sources) for url, sources in index.items()}
    linked = dict(previous.linked_from)
    for source in (*changed, *gone_sources(previous.stories, keys, changed)):
        old = previous.stories[source].related_urls if source in previous.stories else ()
        new = keys[source].related_urls if source in keys else ()
        for url in set(old) - set(new):
            linked[url] = tuple(s for s in linked[url] if s != source)
        for url in set(new) - set(old):
            linked[url] = (*linked.get(url, ()), source)
    return linked


def gone_sources(before: Mapping[str, object], now: Mapping[str, object], changed: list[str]) -> set[str]:
    """The sources in `before` that are not in `now`, which holds those of `before` that
    stayed and the `changed` ones: when it holds as many as stayed and came, none went,
    and no set of every source is made."""
    came = sum(source not in before for source in changed)
    return set() if len(before) + came == len(now) else before.keys() - now.keys()


def nameless_providers(keys: dict[str, StoryKeys], changed: list[str], previous: PlanMemo) -> Counter:
    """Name -> how many stories give it as their provider's, for the providers without a
    domain: the last plan's counts put right for the changed stories and those that went,
    or counted whole the first time."""
    if previous.nameless is None:
        counts = Counter(_nameless(story.article) for story in keys.values())
    else:
        counts = previous.nameless.copy()
        for source in (*changed, *gone_sources(previous.stories, keys, changed)):
            if source in previous.stories:
                counts[_nameless(previous.stories[source].article)] -= 1
            if source in keys:
                counts[_nameless(keys[source].article)] += 1
        counts = +counts  # the names no story gives any more go
    del counts[None]  # the stories whose provider has a domain, or that have none
    return counts


def _nameless(article: Article) -> str | None:
    provider = article.provider
    return provider.name if provider is not None and not provider.domain else None


def story_keys(
    articles: Sequence[Article], config: SiteConfig, previous: PlanMemo, order: Sequence[str] | None = None
) -> tuple[dict[str, StoryKeys], list[str]]:
    """Each article's StoryKeys: the last plan's where it is the very same article. Also
    returns the sources whose keys were made anew. order: the sources of `articles`, if at hand."""
    same_links = previous.config is not None and permalink_settings(previous.config) == permalink_settings(config)
    known = previous.stories if same_links else {}
    sources = list(map(_SOURCE, articles)) if order is None else order
    # The last plan's keys of each story (C loops); made anew where not the very same article.
    olds = list(map(known.get, sources, repeat(_NO_KEYS)))
    keys = dict(zip(sources, olds))
    changed = []
    for n in compress(range(len(sources)), map(operator.is_not, map(_ARTICLE, olds), articles)):
        article = articles[n]
        keys[article.source] = StoryKeys(
            article,
            normalize_url(article.web_url),
            (article.published.timestamp(), article.web_url, article.source),
            permalink(article, slug_of(article), config),
            tuple(normalize_url(r.url) for r in article.related),
        )
        changed.append(article.source)
    return keys, changed


def _grouping(article: Article) -> tuple:
    """Every field of a story that Groups read."""
    return article.published, article.web_url, article.topics, article.provider, article.heat, article.quality


def plan_groups(
    articles: Sequence[Article], keys: dict[str, StoryKeys], changed: list[str], config: SiteConfig, previous: PlanMemo,
    order: tuple[str, ...] | None = None,
) -> Groups:
    """The stories grouped: the last plan's Groups when nothing they read changed, the
    last plan's patched for the stories that came, went or moved (a publish), or made anew.
    order: the sources of `articles`, if at hand."""
    order = tuple(map(_SOURCE, articles)) if order is None else order
    settings = (config.timezone, config.trending, config.top_stories)
    old, before = previous.groups, previous.stories
    if old is not None and old.settings == settings:
        if old.order == order and all(
            source in before and _grouping(before[source].article) == _grouping(keys[source].article) for source in changed
        ):
            return old
        patched = _patched_groups(old, articles, order, keys, changed, before, config)
        if patched is not None:
            return patched
    topics = build_topics(articles)
    # Trending ages are counted from the newest story, not the clock: the same files
    # always build the same site, so a rebuild can skip what did not change.
    hot = trending(articles, articles[0].published, config.trending) if articles else []
    return Groups(
        order, {source: n for n, source in enumerate(order)}, settings, topics, group_by_topic(articles, topics), group_by_provider(articles),
        group_by_month(articles, config.tz), tuple(a.source for a in hot),
        tuple(a.source for a in top_stories(articles, config.top_stories)),
    )


def _patched_groups(
    old: Groups, articles: Sequence[Article], order: tuple[str, ...], keys: dict[str, StoryKeys], changed: list[str],
    before: dict[str, StoryKeys], config: SiteConfig,
) -> Groups | None:
    """`old` with the stories that came, went or changed a field the groups read taken
    out of their lists and put in where they now belong: the lists of the groups none of
    them is in stay the very same objects (related.py's tables follow them). The same
    Groups as made anew, at the cost of the groups touched. None when too much changed."""
    positions = dict(zip(order, range(len(order))))
    touched = gone_sources(old.positions, positions, changed)  # the stories that went
    touched.update(s for s in changed if s not in before or _grouping(before[s].article) != _grouping(keys[s].article))
    if not touched or len(touched) > PATCH_LIMIT or not articles:
        return None
    gone = [before[s].article for s in touched if s in before]  # as the old groups have them
    came = [keys[s].article for s in touched if s in positions]

    def patched(members: list[Article], joining: list[Article]) -> list[Article]:
        kept = [a for a in members if a.source not in touched]
        for article in joining:
            insort(kept, article, key=lambda a: positions[a.source])
        return kept

    # Topics: a story is listed once per name it gives the topic (as group_by_topic does).
    topic_lists = {}
    for key in {name.casefold() for a in (*gone, *came) for name in a.topics}:
        topic = old.topics.get(key)
        joining = [a for a in came for name in a.topics if name.casefold() == key]
        topic_lists[key] = patched(old.by_topic[topic] if topic is not None else [], joining)
    names = {key: topic.name for key, topic in old.topics.items()}
    for key, members in topic_lists.items():
        if members:
            listed = {a.source: a for a in members}.values()  # each story once, though listed per name
            names[key] = most_used(Counter(name for a in listed for name in a.topics if name.casefold() == key))
        else:
            del names[key]
    same_topics = names.keys() == old.topics.keys() and all(names[key] == old.topics[key].name for key in topic_lists)
    topics = old.topics if same_topics else topics_named(names, old.topics)
    by_topic = {
        topic: topic_lists[key] if key in topic_lists else old.by_topic[old.topics[key]] for key, topic in topics.items()
    }

    providers = dict(old.providers)
    for domain in {a.provider.domain for a in (*gone, *came) if a.provider is not None and a.provider.domain}:
        joining = [a for a in came if a.provider is not None and a.provider.domain == domain]
        members = patched(providers[domain][1] if domain in providers else [], joining)
        if members:
            providers[domain] = (most_used(Counter(a.provider.name for a in members)), members)
        else:
            del providers[domain]
    if providers.keys() != old.providers.keys():
        providers = dict(sorted(providers.items()))

    tz, months = config.tz, dict(old.months)
    for month in {month_of(a, tz) for a in (*gone, *came)}:
        members = patched(months.get(month, []), [a for a in came if month_of(a, tz) == month])
        if members:
            months[month] = members
        else:
            del months[month]
    if months.keys() != old.months.keys():
        months = dict(sorted(months.items(), reverse=True))

    newest = articles[0].published
    same_clock = bool(old.order) and before[old.order[0]].article.published == newest  # trending ages count from it
    hot = _patched_strip(old.trending, touched, came, keys, articles, lambda stories: trending(stories, newest, config.trending), same_clock)
    best = _patched_strip(old.top_stories, touched, came, keys, articles, lambda stories: top_stories(stories, config.top_stories), True)
    return Groups(order, positions, old.settings, topics, by_topic, providers, months, hot, best)


def _patched_strip(shown: tuple[str, ...], touched: set[str], came: list[Article], keys, articles, rank, still_ranked: bool) -> tuple[str, ...]:
    """A strip (trending, top stories) by rank(stories). When no story it shows changed
    and the others are ranked as before (still_ranked), the stories shown plus those
    that came rank as all of them do: every other story ranks below the ones shown."""
    if still_ranked and touched.isdisjoint(shown):
        found = rank([keys[source].article for source in shown] + came)
    else:
        found = rank(articles)
    return tuple(a.source for a in found)

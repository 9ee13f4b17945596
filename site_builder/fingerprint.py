"""A page's input fingerprint: a hash of everything its template is given.

Two builds that give a page the same fingerprint render the same bytes, so the second
may skip rendering it. The fingerprint covers the page's whole context (every story,
link, topic and pagination it shows: stories by the hash of their file, which covers
every field) plus a site-wide part (all template files, site.toml, static file
versions, the site's navigation and options, the code version). That is more than a
page strictly reads, never less: a change anywhere it could look rebuilds it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from itertools import compress, repeat

from .models import Article, Provider
from .pages import Entry, FeedLink, LocalImage, Page, RelatedLink, SourceRef, TopicRef, UrlList
from .topics import Pagination

LEAVES = {Provider, RelatedLink, SourceRef, TopicRef, FeedLink, UrlList, LocalImage}  # hold no stories inside
# _add spells out RelatedLink's and Provider's fields (for speed): a new field must be added there.
assert [f.name for f in dataclasses.fields(RelatedLink)] == ["title", "href", "internal", "provider", "published"]
assert [f.name for f in dataclasses.fields(Provider)] == ["name", "domain"]
# _add spells out Pagination's fields (it is on every listing page): a new field must be added there.
assert [f.name for f in dataclasses.fields(Pagination)] == ["items", "number", "total", "count"]

LEFT = ""  # the fingerprint of a changed page left for the next build: it matches no real one
NO_PAIR = (None, None)  # (page, fingerprint) of a page the last build did not fingerprint (render.py: its file)
FIRST, SECOND = operator.itemgetter(0), operator.itemgetter(1)


class Fingerprinter:
    def __init__(self, article_digests: Mapping[str, str], site_wide: str, previous: tuple[str, dict] | None = None):
        """previous: the last build's memo() (serve keeps it). When the site-wide
        part is the same, a page that is the very same object as one it fingerprinted
        (plan_site's `reuse` hands out the old object for an equal page) keeps that
        fingerprint: the page shows the same things, so a file rendered for that
        fingerprint is still right. (If a story's file changed bytes but not what it
        says, a fresh fingerprint would differ: that only costs one needless render in a
        later process, never a stale page.)"""
        self._articles = article_digests  # article source -> digest of its file
        self._site_wide = site_wide
        self._entries: dict[int, str] = {}
        self._leaves: dict[int, tuple[object, str]] = {}  # topic and source refs recur on many pages
        self.known: dict[int, tuple[Page, str | None]] = {}  # id(page) -> (page, fingerprint)
        self._previous = previous[1] if previous is not None and previous[0] == site_wide else {}

    @property
    def same_site_wide(self) -> bool:
        """The site-wide part is the last build's: no template, setting or asset changed."""
        return bool(self._previous)

    def memo(self) -> tuple[str, dict]:
        """What the next build's Fingerprinter needs: this build's pages and fingerprints
        (not the older generation this one was handed, which can now be freed)."""
        return self._site_wide, self.known

    def pages(self, pages: Sequence[Page], left_for_later: Callable[[Page], bool] | None = None) -> list[str | None]:
        """Each page's fingerprint (at 10,000 stories a build asks for 11,500: C loops find
        the pages the last build fingerprinted);
        None for a page holding something we cannot fingerprint: it always renders.
        left_for_later: pages this build will not render if they changed (the preview's
        pages first). Such a page that is not the very one the last build fingerprinted
        differs from it (plan_site hands out the old object for an equal page), so it
        gets LEFT, not a fingerprint: at 10,000 stories a story published at the top
        shifts 500 listing pages, whose fingerprints would cost a tenth of a second. The
        next build fingerprints them."""
        previous, known = self._previous, self.known
        # C loops: the pages that are the very ones the last build fingerprinted keep theirs.
        ids = list(map(id, pages))
        olds = list(map(previous.get, ids, repeat(NO_PAIR)))
        same = list(map(operator.is_, map(FIRST, olds), pages))
        known.update(compress(zip(ids, olds), same))
        fingerprints: list[str | None] = list(map(SECOND, olds))
        for n in compress(range(len(pages)), map(operator.not_, same)):
            page = pages[n]
            if left_for_later is not None and left_for_later(page):
                fingerprints[n] = LEFT
                continue
            fingerprints[n] = self._fingerprint(page)
            known[ids[n]] = (page, fingerprints[n])
        return fingerprints

    def _fingerprint(self, page: Page) -> str | None:
        parts = [self._site_wide, page.path, page.template]
        try:
            self._add(parts, page.context)
        except TypeError:
            return None
        return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()

    def _entry(self, entry: Entry) -> str:
        refs = [self._leaf(ref) for ref in entry.topics]
        refs.append(self._leaf(entry.source) if entry.source is not None else "-")
        if entry.image is not None:  # images = "local": which renditions it shows, or none
            refs.append(self._leaf(entry.image))
        token = self._entries[id(entry)] = "E" + self._articles[entry.article.source] + entry.path + "".join(refs)
        return token

    def _leaf(self, value) -> str:
        """Small frozen values: their repr shows every field. The value is kept with its
        token so that its id cannot be reused by another object during this build."""
        known = self._leaves.get(id(value))
        if known is None:
            known = self._leaves[id(value)] = (value, repr(value))
        return known[1]

    def _add(self, parts: list[str], value) -> None:
        kind = type(value)  # cheap checks first: this runs for every value of every page
        if kind is dict:
            for key in sorted(value):
                parts.append(key)
                self._add(parts, value[key])
        elif kind is str or kind is int or kind is bool or value is None:
            parts.append(repr(value))
        elif isinstance(value, (tuple, list)):
            parts.append("(")
            entries = self._entries
            for item in value:
                kind = type(item)
                if kind is Entry:  # most lists are of stories or links: no recursion for them
                    parts.append(entries.get(id(item)) or self._entry(item))
                elif kind is RelatedLink:  # one page's own: a memo would never hit
                    provider = item.provider  # its fields: a dataclass repr is much slower
                    parts.append(repr((
                        item.title, item.href, item.internal,
                        (provider.name, provider.domain) if provider is not None else None, item.published,
                    )))
                else:
                    self._add(parts, item)
            parts.append(")")
        elif kind is Entry:
            parts.append(self._entries.get(id(value)) or self._entry(value))
        elif kind is Pagination:
            parts.append(f"P{value.number}/{value.total}/{value.count}")
            self._add(parts, value.items)
        elif kind in LEAVES:
            parts.append(self._leaf(value))
        elif isinstance(value, Article):
            parts.append("A" + self._articles[value.source])
        elif isinstance(value, (str, int, float, bool, datetime)):
            parts.append(repr(value))
        elif isinstance(value, Mapping):  # another kind of mapping: as the dict it holds
            self._add(parts, dict(value))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            parts.append(type(value).__name__)
            for f in dataclasses.fields(value):
                self._add(parts, getattr(value, f.name))
        else:  # an unknown kind of value: the page must always render, never go stale
            raise TypeError(f"cannot fingerprint {type(value).__name__}")


def site_wide_fingerprint(*parts: object) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part if isinstance(part, bytes) else repr(part).encode())
        digest.update(b"\x1e")
    return digest.hexdigest()

"""MODEL: from the articles read to the stories published, newest first: one card per
URL, drafts, scheduled stories and `min_quality` left out.

A long-lived build (serve, --watch) edits one file at a time: `select` then starts from
its last Selection and puts the changed articles in their places, when nothing that
decides a story's place or presence changed (see _patched). The result is the same as
selecting from scratch: tests/test_selection.py compares the two after random edits, and
tests/test_incremental.py whole sites built both ways.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import compress, count

from .models import Article, Problem
from .identity import drop_duplicate_urls
from .ranking import meets_quality, newest_first, newest_first_key, select_published

PATCH_LIMIT = 50  # changed files a selection is patched for; more, and it is made anew


@dataclass(frozen=True, slots=True)
class Selection:
    settings: tuple  # (include drafts, include future, min_quality)
    now: datetime
    read: tuple[Article | None, ...]  # what each file gave, in file order
    unique: tuple[Article, ...]  # one per URL: the first file (by path) wins
    duplicates: tuple[Problem, ...]
    published: tuple[Article, ...]  # on the site, newest first
    next_change: datetime | None  # when the first scheduled story goes live
    _places: dict[str, tuple[int, int]]  # source -> (position in unique, in published or -1)

    def current(self, settings: tuple, now: datetime) -> bool:
        """Every story is selected as it would be at `now`: none came due in between."""
        return self.settings == settings and self.now <= now and (self.next_change is None or now < self.next_change)


def select(
    read: Sequence[Article | None], now: datetime, drafts: bool, future: bool, min_quality: int,
    previous: Selection | None = None,
) -> Selection:
    """`read`: each article file's article (None for a file that gave none), in file order.
    previous: the last Selection, to patch (same result, less work)."""
    read = tuple(read)
    settings = (drafts, future, min_quality)
    if previous is not None and previous.current(settings, now):
        patched = _patched(previous, read, now)
        if patched is not None:
            return patched
    unique, duplicates = drop_duplicate_urls([a for a in read if a is not None])
    published = newest_first(meets_quality(select_published(unique, now, drafts, future), min_quality))
    scheduled = [a.published for a in unique if a.published > now and not future]
    shown = {a.source: n for n, a in enumerate(published)}
    places = {a.source: (n, shown.get(a.source, -1)) for n, a in enumerate(unique)}
    return Selection(
        settings, now, read, tuple(unique), tuple(duplicates), tuple(published), min(scheduled, default=None), places
    )


def _patched(previous: Selection, read: tuple[Article | None, ...], now: datetime) -> Selection | None:
    """`previous` with each changed article in the place of its last version, or None
    when a change could move a story, drop it, or change which copy of a URL wins: the
    same file, the same URL, the same date, still selected (or still not)."""
    if len(read) != len(previous.read):
        return None
    changed = list(compress(count(), map(operator.is_not, read, previous.read)))
    if len(changed) > PATCH_LIMIT:
        return None
    drafts, future, min_quality = previous.settings
    unique, published = list(previous.unique), list(previous.published)
    for n in changed:
        old, new = previous.read[n], read[n]
        if old is None or new is None or old.source != new.source:
            return None
        if newest_first_key(old) != newest_first_key(new):
            return None  # its place; the same URL also keeps the same file's copy of it
        if _shown(old, now, drafts, future, min_quality) != _shown(new, now, drafts, future, min_quality):
            return None
        at_unique, at_published = previous._places.get(old.source, (-1, -1))
        if at_unique < 0:
            continue  # another file's copy of its URL is kept, then and now
        unique[at_unique] = new
        if at_published >= 0:
            published[at_published] = new
    return Selection(
        previous.settings, now, read, tuple(unique), previous.duplicates, tuple(published), previous.next_change,
        previous._places,
    )


def _shown(article: Article, now: datetime, drafts: bool, future: bool, min_quality: int) -> bool:
    return bool(select_published([article], now, drafts, future) and meets_quality([article], min_quality))

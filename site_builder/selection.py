"""MODEL: from the articles read to the stories published, newest first: one card per
URL, drafts, scheduled stories and `min_quality` left out.

A long-lived build (serve, --watch) edits one file at a time: `select` then starts from
its last Selection and puts the changed articles in their places (a publish bisects the
story into `published`), when no URL changed and no duplicate URL came or went (see
_patched). The result is the same as selecting from scratch: tests/test_selection.py
compares the two after random edits, and tests/test_incremental.py whole sites built
both ways.
"""

from __future__ import annotations

import operator
from bisect import bisect_left, insort
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import compress, count

from .models import Article, Problem
from .identity import drop_duplicate_urls, normalize_url
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
    _places: dict[str, int]  # source -> position in unique (a duplicate URL's other files: none)

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
    places = {a.source: n for n, a in enumerate(unique)}
    return Selection(
        settings, now, read, tuple(unique), tuple(duplicates), tuple(published), min(scheduled, default=None), places
    )


def _patched(previous: Selection, read: tuple[Article | None, ...], now: datetime) -> Selection | None:
    """`previous` with each changed article put where selecting from scratch would put
    it: its last version out of `published`, the new one bisected in (a publish, a new
    date, a quality crossing the bar); a file that gives an article or stops giving one
    is added to or taken from `unique`. None when which copy of a URL wins could change:
    another file list, a changed source or URL, a duplicate URL that comes or goes."""
    if len(read) != len(previous.read):
        return None
    changed = list(compress(count(), map(operator.is_not, read, previous.read)))
    if len(changed) > PATCH_LIMIT:
        return None
    drafts, future, min_quality = previous.settings
    unique, published, places = list(previous.unique), list(previous.published), previous._places
    leaving: list[Article] = []  # from `published`
    joining: list[Article] = []
    gone: list[int] = []  # positions in `unique` of the articles whose file gives none
    came: list[Article] = []  # articles of files that gave none
    for n in changed:
        old, new = previous.read[n], read[n]
        if old is not None and new is not None and (old.source != new.source or old.web_url != new.web_url):
            return None
        at = places.get(old.source, -1) if old is not None else -1
        if old is not None and at < 0:
            if new is None:
                return None  # a duplicate whose file gives none: its warning goes
            continue  # another file's copy of its URL is kept, then and now
        if old is not None:  # shown at `now` as at previous.now: current() says none came due
            if _shown(old, now, drafts, future, min_quality):
                leaving.append(old)
            if new is None:
                gone.append(at)
            else:
                unique[at] = new
        if new is not None:
            if old is None:
                came.append(new)
            if _shown(new, now, drafts, future, min_quality):
                joining.append(new)
    if gone or came:
        unique, places = _membership_changed(previous, unique, gone, came)
        if unique is None:
            return None
    # bisect's key= computes the keys of the ~log2(n) stories it looks at: no list of keys to keep
    for old in leaving:
        at = bisect_left(published, newest_first_key(old), key=newest_first_key)
        if at == len(published) or published[at] is not old:
            return None  # not where its key says: select from scratch rather than guess
        del published[at]
    for new in joining:
        insort(published, new, key=newest_first_key)
    next_change = previous.next_change
    if not future and any(a is not None and a.published > now for n in changed for a in (previous.read[n], read[n])):
        next_change = min((a.published for a in unique if a.published > now), default=None)
    return Selection(
        previous.settings, now, read, tuple(unique), previous.duplicates, tuple(published), next_change, places
    )


def _membership_changed(
    previous: Selection, unique: list[Article], gone: list[int], came: list[Article]
) -> tuple[list[Article] | None, dict[str, int]]:
    """`unique` without the articles at `gone` and with those that `came`, kept in
    source order, and the places of all; (None, {}) when one of them shares its URL with
    another file (that file's copy would then win, or lose, or warn)."""
    if gone:
        losers = {problem.path for problem in previous.duplicates}
        shared = {normalize_url(a.web_url) for a in previous.read if a is not None and a.source in losers}
        if any(normalize_url(unique[at].web_url) in shared for at in gone):
            return None, {}  # another file's copy of its URL would win instead
        for at in sorted(gone, reverse=True):
            del unique[at]
    if came:
        taken = {normalize_url(a.web_url) for a in unique}  # every file's URL: a duplicate's is its winner's
        for new in came:
            url = normalize_url(new.web_url)
            if url in taken or new.source in previous._places:
                return None, {}
            taken.add(url)
            insort(unique, new, key=_by_source)
    return unique, {a.source: n for n, a in enumerate(unique)}


_by_source = operator.attrgetter("source")


def _shown(article: Article, now: datetime, drafts: bool, future: bool, min_quality: int) -> bool:
    return bool(select_published([article], now, drafts, future) and meets_quality([article], min_quality))

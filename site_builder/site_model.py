"""MODEL: what a build knows of the site's stories, from the article files read: which are
published (the Selection), the problems found, and each file's digest. The preview's
build after an edit patches its last model for the files the watcher named instead of
going over every file again (at 10,000 stories each pass over them costs milliseconds);
the result is the model made from scratch (tests/test_site_model.py compares them after
random edits)."""

from __future__ import annotations

import operator
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from .cache import CachedFile
from .config import SiteConfig
from .models import Article, Problem
from .selection import Selection, select

_PATH_OF = operator.attrgetter("path")


@dataclass(frozen=True)
class Model:
    config: SiteConfig
    selection: Selection  # which stories are published (kept whole: the next model patches it)
    files: int
    problems: tuple[Problem, ...]  # refused, then each file's (in file order), then duplicate URLs
    digests: dict  # article source -> hash of its file
    refused: tuple[Problem, ...] = ()  # the files a build will not read (scan.Scan.refused)
    file_problems: tuple[Problem, ...] = ()  # the problems of the files read, in file order

    @property
    def articles(self) -> tuple[Article, ...]:
        """To publish, newest first."""
        return self.selection.published

    @property
    def next_change(self) -> datetime | None:
        """When the first scheduled (future) story goes live."""
        return self.selection.next_change


def model_of(
    config: SiteConfig, files: Sequence[CachedFile], refused: Sequence[Problem], now: datetime, drafts: bool, future: bool,
    last: Selection | None = None,
) -> Model:
    """The model of `files` (every article file read, in file order). last: the last
    Selection, which select() patches when it can."""
    file_problems = tuple(p for cached in files for p in cached.result.problems)
    selection = select([cached.result.article for cached in files], now, drafts, future, config.min_quality, last)
    digests = {c.result.article.source: c.digest for c in files if c.result.article is not None}
    refused = tuple(refused)
    return Model(config, selection, len(files), refused + file_problems + selection.duplicates, digests, refused, file_problems)


def patched_model(
    last: Model, changes: Sequence[tuple[str, CachedFile, CachedFile]], rels: Sequence[str], refused: Sequence[Problem],
    now: datetime, drafts: bool, future: bool,
) -> tuple[Model, set[str]]:
    """`last` with the files in `changes` (ArticleReader.reread: key, before, after) as
    they now read, and the sources of the stories they changed. rels: the keys of every
    file, sorted (their order in the last model)."""
    read = list(last.selection.read)
    digests = dict(last.digests)
    edited: set[str] = set()
    file_problems = last.file_problems
    for rel, before, after in changes:
        at = bisect_left(rels, rel)
        old, new = before.result.article, after.result.article
        read[at] = new
        if old is not None:
            del digests[old.source]
            edited.add(old.source)
        if new is not None:
            digests[new.source] = after.digest
            edited.add(new.source)
        if before.result.problems or after.result.problems:  # a few at most: kept in file order
            kept = [p for p in file_problems if p.path != rel]
            at = bisect_left(kept, rel, key=_PATH_OF)
            file_problems = tuple(kept[:at]) + after.result.problems + tuple(kept[at:])
    selection = select(read, now, drafts, future, last.config.min_quality, last.selection)
    refused = tuple(refused)
    problems = refused + file_problems + selection.duplicates
    return replace(last, selection=selection, problems=problems, digests=digests, refused=refused, file_problems=file_problems), edited

"""READ: a site's article files through the parse cache: a file whose size and mtime (or,
when touched, whose bytes) are those of the last build is not parsed again; the others
are parsed, across processes when there are many. The builder keeps one ArticleReader
for as long as it lives (serve and --watch: a whole session)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .cache import BuildState, CachedFile, file_digest
from .config import SiteConfig
from .models import MAX_ARTICLE_BYTES
from .parallel import map_chunks
from .selection import PATCH_LIMIT


class ArticleReader:
    def __init__(self):
        self.changed: set[str] = set()  # article files changed since the state was saved
        self._last_scan: _LastScan | None = None  # what the last read found, and left in state.files

    def read(
        self, content_dir: Path, config: SiteConfig, state: BuildState, scan: list[tuple[str, int, int]], progress=None,
    ) -> list[CachedFile]:
        """Every article file; unchanged ones (same size and mtime, or same bytes) from the
        cache, the rest parsed, across processes when there are many. The size and mtime
        were taken before any byte is read, so a file changed meanwhile is read again by
        the next build, never cached under its new stamp with its old content. progress:
        progress(done, total), as the files are parsed."""
        previous = state.files
        listed = set(scan)
        fresh = self._restamped(content_dir, previous, listed)
        current: dict[str, CachedFile] = dict(previous) if fresh is not None else {}
        looked_at: list[str] = []
        to_parse: list[tuple] = []
        for path, size, mtime_ns in scan if fresh is None else sorted(fresh):
            rel = _cache_key(content_dir, path)
            looked_at.append(rel)
            found = _look_at(path, rel, size, mtime_ns, previous.get(rel))
            if type(found) is CachedFile:
                current[rel] = found
            else:
                to_parse.append(found)
        for chunk in map_chunks(functools.partial(_parse, tz=config.tz), to_parse, progress):
            current.update(chunk)
        self.changed |= {rel for rel in looked_at if previous.get(rel) is not current[rel]}
        self.changed |= previous.keys() - current.keys()
        state.files = current
        rels = sorted(current) if fresh is None else self._last_scan.rels
        self._last_scan = _LastScan(content_dir, current, listed, rels)
        return [current[rel] for rel in rels]

    @property
    def last_read(self) -> object:
        """Names the last read (or reread): a model made from it is current while this is the same."""
        return self._last_scan

    @property
    def rels(self) -> list[str]:
        """The keys of the files the last read found, sorted: each file's place in what it returned."""
        return self._last_scan.rels if self._last_scan is not None else []

    def reread(
        self, content_dir: Path, config: SiteConfig, state: BuildState, entries: Sequence[tuple[str, int, int]],
    ) -> list[tuple[str, CachedFile, CachedFile]] | None:
        """The article files `entries` name, each a file the last read found (the
        preview's watcher named them; scan.rescan statted them again): those whose stamp
        changed are read again, and the cache and the last read put right for them, in
        place of a look at every file (a read of 10,000 is 40 ms). Returns (key, before,
        after) for each file that now reads otherwise; None, touching nothing, when the
        last read does not describe the state or one of them is not a file it found
        (then read())."""
        last = self._last_scan
        files = state.files
        if last is None or last.files is not files or last.content_dir != content_dir:
            return None
        looks = []
        for path, size, mtime_ns in entries:
            rel = _cache_key(content_dir, path)
            before = files.get(rel)
            if before is None or (path, before.size, before.mtime_ns) not in last.listed:
                return None
            looks.append((rel, before, (path, size, mtime_ns)))
        changes = []
        for rel, before, entry in looks:
            path, size, mtime_ns = entry
            found = _look_at(path, rel, size, mtime_ns, before)
            after = found if type(found) is CachedFile else _parse([found], config.tz)[0][1]
            last.listed.discard((path, before.size, before.mtime_ns))
            last.listed.add(entry)
            files[rel] = after
            if after is not before:
                self.changed.add(rel)
                changes.append((rel, before, after))
        self._last_scan = _LastScan(content_dir, files, last.listed, last.rels)  # another read: models made before it are not current
        return changes

    def _restamped(self, content_dir: Path, files: dict[str, CachedFile], listed: set[tuple[str, int, int]]) -> set | None:
        """The scan entries that differ from this Builder's last read, when that read left
        `files` (the state is the same) and found the very same files, a few with other
        stamps: on a large site that saves looking at every file. Else None."""
        last = self._last_scan
        if last is None or last.files is not files or last.content_dir != content_dir or len(listed) != len(last.listed):
            return None
        fresh = listed - last.listed
        if len(fresh) > PATCH_LIMIT or not all(_cache_key(content_dir, path) in files for path, _, _ in fresh):
            return None  # a file came or went: as many entries, other paths
        return fresh


@dataclass(frozen=True)
class _LastScan:
    content_dir: Path
    files: dict[str, CachedFile]  # the state's files it left (compared by identity)
    listed: set[tuple[str, int, int]]  # the scan's (path, size, mtime_ns) entries
    rels: list[str]  # the files' keys, sorted


def _cache_key(content_dir: Path, path: str) -> str:
    """An article file's key in the parse cache: its path from the site folder. Found by
    walking content_dir, so the path starts with it: no Path.relative_to."""
    return content_dir.name + path[len(str(content_dir)):]


def _look_at(path: str, rel: str, size: int, mtime_ns: int, cached: CachedFile | None) -> CachedFile | tuple:
    """The cached file when it still holds (the same size and mtime, or the same bytes: a
    touched file), else what _parse needs to read it."""
    if cached and cached.size == size and cached.mtime_ns == mtime_ns:
        return cached
    raw = digest = None
    if cached and cached.digest and cached.size == size <= MAX_ARTICLE_BYTES:
        # touched: the same bytes (a `git checkout`, a save without edits) keep it.
        # Only a file of the same size can hold them; no more than that is read.
        try:
            with open(path, "rb") as handle:
                raw = handle.read(size + 1)
        except OSError:
            pass  # unreadable or gone: the reader says why
        if raw is not None and len(raw) > size:
            raw = None  # it grew since it was listed: read again, whole or refused, below
        digest = file_digest(raw) if raw is not None else None
        if digest == cached.digest:
            return CachedFile(size, mtime_ns, cached.digest, cached.result)
    return (path, rel, size, mtime_ns, raw, digest)


def _parse(items, tz) -> list[tuple[str, CachedFile]]:
    """Each file is read once, by _look_at (a touched file, to compare) or here: its digest
    (the cache's key) and its article come from the same bytes."""
    # Imported here: YAML, Markdown and nh3 load only when some file must be parsed.
    from .content import parse_article, read_article, read_limited, too_large

    parsed = []
    for path, rel, size, mtime_ns, raw, digest in items:
        refused = too_large(rel, size)  # by the listed size: not a byte of it is read
        if refused is not None:
            parsed.append((rel, CachedFile(size, mtime_ns, "", refused)))
            continue
        try:
            raw = read_limited(path) if raw is None else raw
        except OSError:
            parsed.append((rel, CachedFile(size, mtime_ns, "", read_article(Path(path), rel, tz))))
            continue
        parsed.append((rel, CachedFile(size, mtime_ns, digest or file_digest(raw), parse_article(raw, rel, tz))))
    return parsed

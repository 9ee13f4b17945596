"""WRITE: bring the output folder to exactly the new build's files, without ever showing
a half-built site, and without touching files whose bytes did not change.

New and changed files are written into a staging folder beside the output while the
build runs; the output itself is not touched, so a build that fails or is killed leaves
the previous site as it was. When everything is staged:
- a first build renames the staging folder into place (one atomic step);
- later builds write a journal (the renames and deletions to do), then move each staged
  file over its old version (os.replace: readers see the old file or the new one, never
  a partial one) and delete orphans. Should that last, short step be interrupted, the
  next build finds the journal and finishes it before anything else.
Files no page produced any more are orphans and are removed; unchanged files keep their
bytes and their mtime.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence, Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path

from .sources import files_below

STAGING_SUFFIX = ".staging"
JOURNAL = ".site-builder-journal.json"


class WriteError(Exception):
    """The new site could not be written (a page failed to render, a file could not be
    staged or indexed); the previous site is left as it was."""


@dataclass
class WriteResult:
    written: list[str] = field(default_factory=list)  # new or changed files
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)  # orphans of the previous build

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)


@functools.lru_cache(maxsize=1 << 18)
def safe_relative(rel: str) -> str:
    """An output path that cannot climb out of the output folder. It runs for every file
    of every build, with the same paths each time: cached (a refusal raises, never cached)."""
    if not rel or "\\" in rel or "\x00" in rel or any(part in ("..", "", ".") for part in rel.split("/")):
        raise WriteError(f"refusing to write outside the output folder: {rel!r}")
    return rel


class SiteWriter:
    """Stage files with `add` (or `keep_all` unchanged ones), then `commit()`; `abort()`
    discards the staged files and leaves the output as it was."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.staging = out_dir.with_name(out_dir.name + STAGING_SUFFIX)
        self.result = WriteResult()
        self.produced: set[str] = set()
        self._dirs: set[Path] = set()
        finish_interrupted_commit(out_dir)
        if self.staging.exists():
            shutil.rmtree(self.staging)  # left by a build that was killed while rendering
        self.staging.mkdir(parents=True)

    @classmethod
    def for_worker(cls, parent: SiteWriter) -> SiteWriter:
        """A writer staging into `parent`'s staging folder (from a worker process, or the
        same process); its results are handed to parent.merge()."""
        worker = cls.__new__(cls)
        worker.out_dir, worker.staging = parent.out_dir, parent.staging
        worker.result, worker.produced, worker._dirs = WriteResult(), set(), set()
        return worker

    def _claim(self, rel: str) -> str:
        key = safe_relative(rel)
        if key in self.produced:
            raise WriteError(f"two sources write {key}")
        self.produced.add(key)
        return key

    def add(self, rel: str, data: bytes) -> bool:
        """Stage `data` for `rel` unless the output already holds exactly these bytes.
        Returns whether anything was written."""
        path = self._claim(rel)
        if _same_bytes(self.out_dir / path, data):
            self.result.unchanged += 1
            return False
        self._staged(path).write_bytes(data)
        self.result.written.append(path)
        return True

    def adopt(self, rel: str, source: Path) -> bool:
        """Like add(), for a file another program wrote: it is moved into the staging
        folder (copied, from another file system), or dropped if the output has the same
        bytes."""
        path = self._claim(rel)
        if _same_files(self.out_dir / path, source):
            self.result.unchanged += 1
            return False
        target = self._staged(path)
        try:
            os.replace(source, target)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            shutil.copyfile(source, target)
        self.result.written.append(path)
        return True

    def _staged(self, path: str) -> Path:
        """Where `path` is staged, its folder made (once per folder)."""
        target = self.staging / path
        if target.parent not in self._dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(target.parent)
        return target

    def keep_all(self, rels: Sequence[str]) -> None:
        """Files the build knows are unchanged without writing them."""
        self.result.unchanged += self._claim_all(rels)

    def merge(self, written: Iterable[str], unchanged: int, produced: Iterable[str]) -> None:
        """Results of files staged by worker processes into the same staging folder."""
        self._claim_all(produced)
        self.result.written.extend(written)
        self.result.unchanged += unchanged

    def _claim_all(self, rels: Iterable[str]) -> int:
        """_claim for many paths with one set update (the 20,000 files of a large site);
        returns how many."""
        keys = list(map(safe_relative, rels))
        produced = self.produced
        if not produced.isdisjoint(keys) or len(set(keys)) != len(keys):
            for key in keys:
                self._claim(key)  # raises, naming the first path claimed twice
        produced.update(keys)
        return len(keys)

    def commit(self, existing: AbstractSet[str] | None = None) -> WriteResult:
        """Move the staged files into place; every other file in the output is an orphan.
        existing: the output's files, when the caller knows them (it made them, in this
        process, in its last commit); else the output is listed (20,000 files take 0.1 s)."""
        if existing is None:
            existing = set(output_files(self.out_dir))
        self.result.removed = sorted(existing - self.produced)  # a set difference, in C: 20,000 files
        self.result.written.sort()
        if not self.out_dir.exists():
            os.rename(self.staging, self.out_dir)
            return self.result
        if self.result.changed:
            journal = {"written": self.result.written, "removed": self.result.removed}
            _write_atomically(self.staging / JOURNAL, json.dumps(journal).encode())
            _apply(self.out_dir, self.staging, journal)
        shutil.rmtree(self.staging, ignore_errors=True)
        return self.result

    def abort(self) -> None:
        if (self.staging / JOURNAL).exists():
            return  # the commit had begun: the next build finishes it from the journal
        shutil.rmtree(self.staging, ignore_errors=True)


def finish_interrupted_commit(out_dir: Path) -> None:
    """A journal in the staging folder means a commit was cut short: complete it."""
    staging = out_dir.with_name(out_dir.name + STAGING_SUFFIX)
    journal_file = staging / JOURNAL
    if journal_file.is_file():
        try:
            journal = json.loads(journal_file.read_text())
        except ValueError:
            journal = None  # torn journal: it was never complete, so nothing was applied
        if journal is not None:
            _apply(out_dir, staging, journal)
        shutil.rmtree(staging, ignore_errors=True)


def _apply(out_dir: Path, staging: Path, journal: dict) -> None:
    made: set[Path] = set()
    for rel in journal["written"]:
        source, target = staging / rel, out_dir / rel
        if not source.exists():
            continue  # already moved before the interruption
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        os.replace(source, target)
    for rel in journal["removed"]:
        target = out_dir / rel
        try:
            target.unlink()
        except FileNotFoundError:
            pass
        _remove_empty_parents(target.parent, out_dir)


def _remove_empty_parents(folder: Path, root: Path) -> None:
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty
        folder = folder.parent


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size != len(data):
                return False
            return handle.read() == data
    except OSError:
        return False


def _same_files(old: Path, new: Path) -> bool:
    """Sizes first: most new files (Pagefind names its files by their content) have no
    old file of the same size, and then neither is read."""
    try:
        size = os.stat(new).st_size
        with open(old, "rb") as handle:
            return os.fstat(handle.fileno()).st_size == size and handle.read() == new.read_bytes()
    except OSError:
        return False


def _write_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def output_files(root: Path) -> Iterator[str]:
    """Every file below the output folder root, as "a/b/c.html": anything but a folder (a
    link to nothing is ours to remove as an orphan), never through a link to a folder."""
    return (rel for rel, _ in files_below(str(root), regular=False))

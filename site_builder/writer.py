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

The output folder is only ever emptied of what a build wrote there: each commit records
the files it leaves in a manifest inside the folder (moved into place with the rest), and
a folder holding any file no manifest lists (someone's notes, a repository, a home folder)
is refused before anything is touched. The manifest is published with the site by a
Pages workflow that uploads the folder whole: harmless, it names only published files;
`deploy` leaves it out of the branch, which holds the site and nothing else.
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

from .config import ConfigError
from .errors import BuildError
from .inputs import files_below

STAGING_SUFFIX = ".staging"
JOURNAL = ".site-builder-journal.json"
MANIFEST = ".site-builder-manifest"  # in the output: the files builds wrote there
STAGING_MARK = ".site-builder-staging"  # in the staging folder: a build made it
_RESERVED = frozenset((JOURNAL, MANIFEST, STAGING_MARK))
_SHOWN = 3  # foreign files named in a refusal
# What a file manager leaves in a folder it showed: neither a build's nor the user's work,
# so it neither makes the folder foreign nor is deleted.
_CLUTTER = frozenset((".DS_Store", "Thumbs.db", "desktop.ini"))


class WriteError(BuildError):
    """A file of the new site could not be staged or committed."""


class OutputRefused(ConfigError):
    """The output folder, or the staging folder beside it, holds files no build wrote;
    nothing was touched."""


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
    if rel in _RESERVED:
        raise WriteError(f"refusing to write {rel}: site-builder keeps its own records under that name")
    return rel


class SiteWriter:
    """Stage files with `add` (or `keep_all` unchanged ones), then `commit()`; `abort()`
    discards the staged files and leaves the output as it was."""

    def __init__(
        self, out_dir: Path, existing: AbstractSet[str] | None = None, previous: AbstractSet[str] = frozenset(),
        durable: bool = True,
    ):
        """existing: the output's files, when the caller knows them (it made them, in this
        process, in its last commit), which saves listing it; else the output is listed
        and refused (OutputRefused) if it holds a file no build wrote there.
        previous: the files the last build recorded writing into out_dir (the cache's
        record), which is asked only about a folder that has no manifest, see _refuse_foreign.
        durable=False: the journal is not forced to disk, nor the manifest sorted (the
        preview's output, a temporary folder no other process builds into and nothing
        publishes: a crash there loses nothing)."""
        self.out_dir = out_dir
        self.durable = durable
        self.staging = out_dir.with_name(out_dir.name + STAGING_SUFFIX)
        self.result = WriteResult()
        self.produced: set[str] = set()
        self._dirs: set[Path] = set()
        self._previous = previous
        self._vouched = existing is not None  # existing: what the caller's last commit claimed
        if existing is not None:
            self.existing, self.recorded = existing, existing  # its manifest lists what it made
        else:
            self.existing, self.recorded = claim_output(out_dir, self.staging)
        if self.staging.exists():
            shutil.rmtree(self.staging)  # left by a build that was killed while rendering
        self.staging.mkdir(parents=True)
        (self.staging / STAGING_MARK).write_bytes(b"")  # ours to delete when the next build finds it

    def for_worker(self) -> SiteWriter:
        """A writer staging into this one's staging folder (from a worker process, or the
        same process); its results are handed to this one's merge()."""
        worker = type(self).__new__(type(self))
        worker.out_dir, worker.staging = self.out_dir, self.staging
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
        keys = set(rels)
        if self._vouched and len(keys) == len(rels) and keys <= self.existing and self.produced.isdisjoint(keys):
            # All claimed by the caller's last commit, which checked each: set operations
            # suffice (at 10,000 stories a publish keeps 20,000 files: 10 ms saved).
            self.produced |= keys
            self.result.unchanged += len(keys)
            return
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

    def commit(self) -> WriteResult:
        """Move the staged files into place; every other file the output had from a build
        is an orphan. Raises OutputRefused, touching nothing, for a folder without a
        manifest that holds files neither this build nor the last one wrote."""
        orphans = self.existing - self.produced  # a set difference, in C: 20,000 files
        if self.recorded is None:
            _refuse_foreign(self.out_dir, orphans - self._previous, legacy=True)
        self.result.removed = sorted(orphans)
        self.result.written.sort()
        manifest = self.recorded != self.produced
        if manifest:
            # Sorted, so that the same site has the same manifest; the preview's folder (not
            # durable) is never published, and sorting 20,000 paths took 12 ms of each publish.
            files = sorted(self.produced) if self.durable else list(self.produced)
            listing = {"about": "the files site-builder wrote here; a build deletes no others", "files": files}
            (self.staging / MANIFEST).write_text(json.dumps(listing), encoding="utf-8")
        if not self.out_dir.exists():
            (self.staging / STAGING_MARK).unlink()
            os.rename(self.staging, self.out_dir)
            return self.result
        if self.result.changed or manifest:
            journal = {"written": self.result.written, "removed": self.result.removed, "manifest": manifest}
            _write_atomically(self.staging / JOURNAL, json.dumps(journal).encode(), self.durable)
            _apply(self.out_dir, self.staging, journal)
        shutil.rmtree(self.staging, ignore_errors=True)
        return self.result

    def abort(self) -> None:
        if (self.staging / JOURNAL).exists():
            return  # the commit had begun: the next build finishes it from the journal
        shutil.rmtree(self.staging, ignore_errors=True)


def claim_output(out_dir: Path, staging: Path) -> tuple[set[str], set[str] | None]:
    """The output's files and its manifest (None: it has none), once the staging folder
    beside it is known to be a build's and any commit cut short is finished. Raises
    OutputRefused, before anything is touched, when either folder holds what no build wrote."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputRefused(
            f"refusing to build into {_shown(str(out_dir))}: it is a file, not a folder; choose another output folder with -o"
        )
    journal = _claim_staging(staging)
    if journal is not None:
        files, _, recorded = _listing(out_dir)
        # Without a manifest nothing there is known to be a build's: the journal may then
        # only add files (a commit with a journal always comes after a manifest was made).
        if not _journal_is_ours(journal, out_dir, staging, set() if recorded is None else files & recorded):
            raise OutputRefused(
                f"refusing to build: {_shown(str(staging / JOURNAL))} would move or delete files that no "
                f"build wrote, so it is not a build's; move {_shown(staging.name)}/ away and build again"
            )
        _apply(out_dir, staging, journal)  # it touches only files a build wrote
    files, folder_links, recorded = _listing(out_dir)
    # A link to a folder is never a build's (it writes files only): writing through it
    # would reach whatever it points at, whatever a manifest claims.
    _refuse_foreign(out_dir, folder_links | (files - recorded if recorded is not None else set()), recorded is None)
    return files, recorded


def _listing(out_dir: Path) -> tuple[set[str], set[str], set[str] | None]:
    """The output's files (anything but a folder, the manifest aside), its links to
    folders, and its manifest."""
    files, folder_links = _walk(str(out_dir)) if out_dir.is_dir() else (set(), set())
    files.discard(MANIFEST)
    return files, folder_links, _read_manifest(out_dir)


def _read_manifest(out_dir: Path) -> set[str] | None:
    """None when missing or damaged: the folder is then judged as one without a manifest."""
    try:
        files = json.loads((out_dir / MANIFEST).read_bytes())["files"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    return set(files) if isinstance(files, list) and all(isinstance(f, str) for f in files) else None


def _refuse_foreign(out_dir: Path, foreign: AbstractSet[str], legacy: bool) -> None:
    """A folder without a manifest (legacy) was built by an older site-builder, or by
    none. Its files are taken as a build's only when this build writes each of them, or
    this user's last build of this site recorded writing it into this very folder (the
    signed cache's record of its outputs). So an output from before manifests builds on
    while its files are the ones this build writes (the message says to delete it once
    when they are not), and a folder of one's own is refused like any other."""
    if not foreign:
        return
    shown = sorted(foreign, key=lambda rel: (rel.count("/"), rel))
    names = ", ".join(_shown(rel) for rel in shown[:_SHOWN])
    more = f" and {len(shown) - _SHOWN} more" if len(shown) > _SHOWN else ""
    why = "that no site-builder build recorded writing there" if legacy else "that no site-builder build wrote"
    fix = (f" (if it is an old site-builder output, delete {_shown(out_dir.name)}/ once and build again)" if legacy else "")
    raise OutputRefused(
        f"refusing to build into {_shown(str(out_dir))}: it holds files {why} ({names}{more}), "
        f"and a build removes what it does not write; choose another output folder with -o, "
        f"or move those files away{fix}"
    )


def _claim_staging(staging: Path) -> dict | None:
    """The staging folder of an earlier build, if any, and its journal when a commit was
    cut short. A folder of that name that no build made is refused rather than replaced."""
    if not os.path.lexists(staging):
        return None
    names = os.listdir(staging) if staging.is_dir() and not staging.is_symlink() else None
    if names is not None and (not names or STAGING_MARK in names or JOURNAL in names):
        return _read_journal(staging)
    raise OutputRefused(
        f"refusing to build: {_shown(str(staging))} is in the way; a build stages the new site in "
        f"a folder of that name beside the output, and this one is not a build's; move it away "
        f"or choose another output folder with -o"
    )


def _read_journal(staging: Path) -> dict | None:
    try:
        journal = json.loads((staging / JOURNAL).read_bytes())
    except FileNotFoundError:
        return None
    except (ValueError, RecursionError):
        return {"written": [], "removed": []}  # torn: never complete, so nothing was applied
    except OSError as exc:  # a folder of that name, unreadable: not a journal a build wrote
        raise OutputRefused(
            f"refusing to build: {_shown(str(staging / JOURNAL))} cannot be read ({exc.strerror}); "
            f"move {_shown(staging.name)}/ away and build again"
        ) from None
    return journal


def _journal_is_ours(journal, out_dir: Path, staging: Path, ours: AbstractSet[str]) -> bool:
    """A staging folder lies beside the output, where a repository can carry one: its
    journal is applied only if that can touch nothing but a build's files. Each path stays
    inside its folder (no "..", no link on the way); what is still to move is a regular
    file; what it replaces or deletes is one of `ours` (files the manifest lists)."""
    try:
        written, removed = list(journal["written"]), list(journal["removed"])
        for rel in written + removed:
            safe_relative(rel)
    except (KeyError, TypeError, AttributeError, WriteError):
        return False
    for rel in written + ([MANIFEST] if journal.get("manifest") else []):
        source, target = staging / rel, out_dir / rel
        if not os.path.lexists(source):
            continue  # moved before the interruption
        if source.is_symlink() or not source.is_file() or _through_link(staging, rel) or _through_link(out_dir, rel):
            return False
        if os.path.lexists(target) and rel not in ours and rel != MANIFEST:
            return False
    return all(rel in ours or not os.path.lexists(out_dir / rel) for rel in removed)


def _through_link(root: Path, rel: str) -> bool:
    parts = rel.split("/")[:-1]
    return any(os.path.islink(root.joinpath(*parts[: n + 1])) for n in range(len(parts)))


def _shown(text: str) -> str:
    """A path as it may be printed: control characters escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _apply(out_dir: Path, staging: Path, journal: dict) -> None:
    """The journal's moves, then its deletions, then the new manifest: until that last
    step the manifest in place lists every file the journal deletes or replaces."""
    _move(out_dir, staging, journal["written"])
    for rel in journal["removed"]:
        target = out_dir / rel
        try:
            target.unlink()
        except FileNotFoundError:
            pass
        _remove_empty_parents(target.parent, out_dir)
    _move(out_dir, staging, [MANIFEST] if journal.get("manifest") else [])


def _move(out_dir: Path, staging: Path, written: list[str]) -> None:
    made: set[Path] = set()
    for rel in written:
        source, target = staging / rel, out_dir / rel
        if not source.exists():
            continue  # already moved before the interruption
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        os.replace(source, target)


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


def _write_atomically(path: Path, data: bytes, durable: bool = True) -> None:
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        if durable:
            os.fsync(handle.fileno())
    os.replace(temp, path)


def output_files(root: Path) -> Iterator[str]:
    """Every file below the output folder root, as "a/b/c.html": anything but a folder (a
    link to nothing is ours to remove as an orphan), never through a link to a folder."""
    return iter(_walk(str(root))[0])


def _walk(root: str) -> tuple[set[str], set[str]]:
    """(every entry below root but folders and links to folders, every link to a folder),
    as "a/b/c.html"; no link is followed."""
    files: set[str] = set()
    folder_links: set[str] = set()
    for rel, entry in files_below(root, lambda name: name in _CLUTTER, regular=False):
        try:
            linked_folder = entry.is_symlink() and entry.is_dir()
        except OSError:
            continue  # deleted while we looked
        (folder_links if linked_folder else files).add(rel)
    return files, folder_links


def refuse_dangerous_output(out: Path, site_dir: Path) -> None:
    """Never let the output folder be the site, a parent of it or one of its inputs. What
    else a folder may hold, the writer judges by its manifest (writer.claim_output)."""
    site = site_dir.resolve()
    if out == site or out in site.parents or out == Path.home() or out == Path(out.anchor):
        raise ConfigError(f"refusing to use {out} as the output folder: it holds the site itself")
    for name in ("content", "templates", "static"):
        if out == site / name or (site / name) in out.parents:
            raise ConfigError(f"refusing to write the site into {name}/: choose another output folder")

"""What one build leaves for the next, so unchanged work is not done again.

- Parsed articles, keyed by file path and validated by (size, mtime) and, when those
  differ, by a hash of the bytes: an article is re-read only when its file changed.
- Each output file's input fingerprint: a page is re-rendered only when what it shows
  (its template set, the site settings, every story and link on it) changed.

Kept in memory by long-running commands (serve, build --watch) and in SITE/.cache/ for
the next `build`. The cache is an optimisation only: it is safe to delete, a version
change or any damage falls back to a full build, and a page whose output file is
missing is always rendered again (by the build itself, or, after the preview's
pages-first build, which leaves the checks of files it did not render for later, by the
build that follows it: `Builder.pending`).

Every file here is signed with this user's key (signing.py) and checked before it is
unpickled: a cache that came with the site, or from another user, is never run, only
ignored, and the build says so once (`ignored_note`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from . import __version__
from .fingerprint import site_wide_fingerprint
from .models import Problem, ReadResult, compact_pickle
from .related import MoreOnMemo
from .report import BuildReport
from .signing import SignedReader, SignedWriter, Untrusted, open_regular, seal_json, unseal_json, user_key
from .writer import WriteResult

CACHE_DIR = ".cache"
CACHE_FILE = "build-state.pickle"
LAST_BUILD_FILE = "last-build.json"
DELTA_FILE = "build-state.delta.pickle"
LAST_BUILD_LIMIT = 1 << 30  # bytes: a large site's record is megabytes; a larger file is not ours
# Bump when the layout of BuildState, of the model or of the snapshot file changes, or
# what a kept output holds (14: Article.rejected).
FORMAT = 14
FILES_PER_CHUNK = 2_000  # parsed articles per pickle in the snapshot (see _write_snapshot)


@compact_pickle
@dataclass(slots=True)
class CachedFile:
    size: int
    mtime_ns: int
    digest: str
    result: ReadResult


@dataclass
class BuildState:
    key: tuple = ()  # (format, version, settings that change how files are read)
    files: dict[str, CachedFile] = field(default_factory=dict)  # by path relative to the site
    # output file -> (input fingerprint, (size, mtime) of the file written for it): a page
    # is kept only if both match, so a state older than the output (a crash between the
    # commit and the save, a lost delta) can never keep a page it did not write.
    pages: dict[str, tuple] = field(default_factory=dict)
    output_dir: str = ""
    search: dict = field(default_factory=dict)  # shard folder -> (input fingerprint, {file: (size, mtime)})
    more_on: MoreOnMemo | None = None  # what the last plan's "more on" saw, to redo only near changes
    base_id: str = ""  # the full snapshot on disk that the small delta file applies to
    since_base: set[str] = field(default_factory=set)  # file keys changed since that snapshot

    def reset_outputs(self) -> None:
        self.pages, self.search = {}, {}


def state_key(*settings) -> tuple:
    return (FORMAT, __version__, *settings)


def cache_folder(site_dir: Path, *below: str) -> Path | None:
    """SITE/.cache (or a folder below it); None when it, or a folder on the way, is a link:
    a site from elsewhere could point it anywhere, and a build writes and deletes there."""
    folder = site_dir / CACHE_DIR
    for name in ("", *below):
        folder = folder / name if name else folder
        if folder.is_symlink():
            return None
    return folder


def make_cache_folder(site_dir: Path, *below: str) -> Path | None:
    """cache_folder, made if missing, with a .gitignore so that nothing in it is ever
    committed by accident (compiled templates are written before the first state is);
    None when it is a link or cannot be made (a read-only site still builds)."""
    folder = cache_folder(site_dir, *below)
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ignore = site_dir / CACHE_DIR / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n")
    except OSError:
        return None
    return folder


def load_state(site_dir: Path, key: tuple, ignored: set[str] | None = None) -> BuildState:
    """The last full snapshot, with the changes saved since (the delta file) applied.
    The name of a file that is not ours (its MAC does not verify) is added to `ignored`."""
    folder = cache_folder(site_dir)
    secret = user_key()
    if folder is None:
        _add(ignored, CACHE_DIR)
        return BuildState(key)
    if secret is None:
        return BuildState(key)  # no key of the user's: no disk cache
    try:
        state = _read_snapshot(folder / CACHE_FILE, key, secret)
    except Untrusted:
        _add(ignored, CACHE_FILE)
        return BuildState(key)
    except Exception:  # missing, or damaged: never trusted
        return BuildState(key)
    if state is None:
        return BuildState(key)
    try:
        delta = _read_pickle(folder / DELTA_FILE, secret)
    except Untrusted:
        _add(ignored, DELTA_FILE)
        return state
    except Exception:  # none, or damaged: the snapshot alone is older, never wrong (see below)
        return state
    if not isinstance(delta, dict) or delta.get("base_id") != state.base_id:
        return state  # an old snapshot's page fingerprints only make more pages render
    for rel, cached in delta["files"].items():
        if cached is None:
            state.files.pop(rel, None)
        else:
            state.files[rel] = cached
    state.since_base = set(delta["files"])
    state.pages = delta["pages"]
    state.output_dir, state.search = delta["output_dir"], delta["search"]
    state.more_on = delta["more_on"]
    return state


def save_state(site_dir: Path, state: BuildState, changed: set[str]) -> None:
    """Small changes go to a delta file (pickling 10,000 parsed articles takes half a
    second); once a twentieth of the files changed, a new full snapshot replaces both."""
    secret = user_key()
    if secret is None:
        return
    state.since_base |= changed
    if state.base_id and len(state.since_base) <= max(50, len(state.files) // 20):
        delta = {
            "base_id": state.base_id,
            "files": {rel: state.files.get(rel) for rel in state.since_base},
            "pages": state.pages, "output_dir": state.output_dir, "search": state.search,
            "more_on": state.more_on,
        }
        _save(site_dir, DELTA_FILE, _signed(secret, DELTA_FILE, lambda stream: _dump(stream, delta)))
        return
    state.base_id, state.since_base = os.urandom(8).hex(), set()
    _save(site_dir, CACHE_FILE, _signed(secret, CACHE_FILE, lambda stream: _write_snapshot(stream, state)))
    if (folder := cache_folder(site_dir)) is not None:
        _remove(folder / DELTA_FILE)  # none yet, or a leftover: it would not match the new snapshot's id anyway


def _write_snapshot(handle: SignedWriter, state: BuildState) -> None:
    """The state without its parsed articles, then the articles in pickles of
    FILES_PER_CHUNK, then None. A pickler remembers every object it wrote until its memo
    is cleared: in one pickle, 100,000 articles made that memo 0.5 GB, the build's peak."""
    pickler = pickle.Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dump(replace(state, files={}))
    files = list(state.files.items())
    for start in range(0, len(files), FILES_PER_CHUNK):
        pickler.clear_memo()
        pickler.dump(files[start : start + FILES_PER_CHUNK])
    pickler.clear_memo()
    pickler.dump(None)


def _read_snapshot(path: Path, key: tuple, secret: bytes) -> BuildState | None:
    """What _write_snapshot wrote; None for another version's. Raises when the file is
    damaged or cut short (no None at the end, no closing record): a partial state is
    never used; Untrusted when it is not ours."""
    with open_regular(path) as handle:
        stream = SignedReader(handle, secret, CACHE_FILE)
        state = pickle.load(stream)
        if not isinstance(state, BuildState) or state.key != key:
            return None
        files: dict[str, CachedFile] = {}
        while (chunk := pickle.load(stream)) is not None:
            files.update(chunk)
        stream.end()
    state.files = files
    return state


def _read_pickle(path: Path, secret: bytes):
    with open_regular(path) as handle:
        stream = SignedReader(handle, secret, path.name)
        value = pickle.load(stream)
        stream.end()
    return value


def _dump(stream: SignedWriter, value) -> None:
    pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)


def _signed(secret: bytes, name: str, write: Callable[[SignedWriter], None]) -> Callable[[BinaryIO], None]:
    """Straight into the file, signed as it goes: a 100,000-story state is 260 MB, not
    worth a copy in memory."""

    def into(handle: BinaryIO) -> None:
        stream = SignedWriter(handle, secret, name)
        write(stream)
        stream.close()

    return into


def _save(site_dir: Path, name: str, write: Callable[[BinaryIO], None]) -> None:
    """Replace SITE/.cache/name atomically with what `write` writes to a file handle."""
    folder = make_cache_folder(site_dir)
    if folder is not None:  # else a link, or not writable: never written through
        replace_file(folder / name, write)


def replace_file(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Replace a cache file with what `write` writes to a handle: into a file beside it,
    then renamed over it, so no reader sees it half written. A cache is optional: when it
    cannot be written (a read-only site), nothing is left behind and nothing is raised."""
    temp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(temp, "wb") as handle:
            write(handle)
        os.replace(temp, path)
    except OSError:
        _remove(temp)
    except BaseException:
        _remove(temp)
        raise


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _add(ignored: set[str] | None, name: str) -> None:
    if ignored is not None:
        ignored.add(name)


def ignored_note(site_dir: Path) -> str:
    """Said once, by the build that found cache files not signed with the user's key."""
    return (
        f"{site_dir / CACHE_DIR}: cache files not written by this user's builds (committed with "
        f"the site, copied from elsewhere, or left by an older site-builder) were ignored, never run"
    )


class Inputs:
    """The size and mtime of every file a build reads, and its options: when they are the
    same, so is the site. Within one process compared as they are (a long-lived Builder
    holds its last build's); across processes by a digest saved with the last build,
    made only when asked (at 10,000 stories, 5 ms a build)."""

    __slots__ = ("parts", "_digest")

    def __init__(self, parts: list):
        self.parts = parts
        self._digest: str | None = None

    @property
    def digest(self) -> str:
        if self._digest is None:
            self._digest = site_wide_fingerprint(*self.parts)
        return self._digest

    @staticmethod
    def digest_of(inputs: Inputs | str) -> str:
        return inputs if isinstance(inputs, str) else inputs.digest

    def same_as(self, other: Inputs | str) -> bool:
        return self.parts == other.parts if isinstance(other, Inputs) else self.digest == other


@dataclass
class LastBuild:
    """The last build's inputs and result, small enough to check before anything else."""

    inputs: Inputs | str  # a digest, when read from the cache folder
    next_change: datetime | None
    output_dir: str
    outputs: frozenset[str]  # every file of the output, relative to it
    counts: tuple[int, int, int]  # articles, files, pages
    problems: list[Problem]
    notes: list[str]
    key: tuple = (FORMAT, __version__)

    @classmethod
    def of(cls, report, inputs: Inputs, next_change, out: Path, outputs) -> LastBuild:
        return cls(inputs, next_change, str(out), frozenset(outputs),
                   (report.articles, report.files, report.pages), list(report.problems), list(report.notes))

    def report(self) -> BuildReport:
        articles, files, pages = self.counts
        return BuildReport(articles=articles, files=files, pages=pages, problems=list(self.problems),
                           notes=list(self.notes), write=WriteResult(unchanged=len(self.outputs)))


def save_last_build(site_dir: Path, last: LastBuild) -> None:
    secret = user_key()
    if secret is None:
        return
    data = {
        "key": list(last.key), "inputs": Inputs.digest_of(last.inputs), "output_dir": last.output_dir,
        "next_change": last.next_change.isoformat() if last.next_change else None,
        "outputs": sorted(last.outputs), "counts": list(last.counts), "notes": last.notes,
        "problems": [[p.path, p.message, p.line, p.severity] for p in last.problems],
    }
    # Signed too: its output list says which files a build of ours wrote (pruning), and a
    # forged one could pass a build off as having nothing to do.
    encoded = seal_json(secret, LAST_BUILD_FILE, data)
    _save(site_dir, LAST_BUILD_FILE, lambda handle: handle.write(encoded))


def load_last_build(site_dir: Path, ignored: set[str] | None = None) -> LastBuild | None:
    secret, folder = user_key(), cache_folder(site_dir)
    if secret is None or folder is None:
        return None
    try:
        with open_regular(folder / LAST_BUILD_FILE, LAST_BUILD_LIMIT) as handle:
            data = unseal_json(secret, LAST_BUILD_FILE, handle.read())
    except OSError:
        return None
    except (Untrusted, ValueError):
        _add(ignored, LAST_BUILD_FILE)
        return None
    try:
        if tuple(data["key"]) != (FORMAT, __version__):
            return None
        return LastBuild(
            data["inputs"],
            datetime.fromisoformat(data["next_change"]) if data["next_change"] else None,
            data["output_dir"], frozenset(data["outputs"]), tuple(data["counts"]),
            [Problem(*p) for p in data["problems"]], data["notes"],
        )
    except Exception:  # missing, damaged or foreign: just do the build
        return None


def file_stamp(path) -> tuple[int, int] | None:
    """(size, mtime) of a file, None if it is not there: what changes whenever it is written."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def stamp_written(entries: dict, out: Path) -> None:
    """Fill in the stamps of files written by the build that just committed."""
    for key, (fingerprint, stamp) in entries.items():
        if stamp is None:
            entries[key] = (fingerprint, file_stamp(f"{out}/{key}"))


def file_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()

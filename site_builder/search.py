"""SEARCH: the Pagefind index of the published stories, built from the model.

One record per story: its title, excerpt, topics and provider, at its permalink under
the base path. Only `plan.entries` are indexed (drafts and future stories are already
left out there), and `secured` is never read into the model, so it cannot reach the index.

How: small HTML records written from the model (never the rendered pages) into one flat
temporary folder, each carrying the story's link as its `href` meta, then indexed by the
Pagefind binary that `pagefind[bin]` installs, while the pages render. The binary, not
Pagefind's Python API: its service client waits between replies, so a record per story,
or even one `add_directory` call, costs far more than one run of the binary on the
folder (docs/performance.md, "The Pagefind binary, run once").
"""

from __future__ import annotations

import functools
import hashlib
import html
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .cache import BuildState, file_stamp
from .config import SiteConfig
from .errors import BuildError
from .fingerprint import site_wide_fingerprint
from .pages import Entry, SitePlan
from .parallel import process_alive

if TYPE_CHECKING:
    from .writer import SiteWriter

SEARCH_DIR = "pagefind"  # the bundle's folder under the site root
RECORDS_PREFIX = "site-builder-search-"  # + the building process's id: its scratch records
SHARD_SIZE = 600  # stories per index shard, on average at most: an edit re-indexes one shard
# ...up to this many shards (a power of two); past 9,600 stories they grow instead. A
# reader's first search fetches every shard's entry, meta and an index chunk, so more
# shards cost readers bytes and requests, while fewer make an edit re-index more stories
# (docs/performance.md, "Search shards").
MAX_SHARDS = 16
_UNUSED = ("pagefind-ui.", "pagefind-modular-ui.", "pagefind-component-ui.", "pagefind-highlight.")
# Pagefind's engine: the browser runs the main bundle's, and merges each other shard's
# index into it (mergeIndex loads no WASM of its own), so a shard's copies, which no
# reader ever fetches, are left out.
_ENGINE = ("pagefind.js", "pagefind-worker.js", "wasm.")


class SearchError(BuildError):
    """Pagefind could not build the index; like any write failure, the previous site stays."""


def shard_count(stories: int, config: SiteConfig) -> int:
    """1, 2, 4, 8... up to MAX_SHARDS (a power of two too): the count, and so every
    story's shard, changes rarely; 0 with `search = false`."""
    if not config.search:
        return 0
    count = 1
    while count * SHARD_SIZE < stories and count < MAX_SHARDS:
        count *= 2
    return count


def shard_of(entry: Entry, count: int) -> int:
    """A story's shard, from its source URL: stable across builds and title edits."""
    return _url_hash(entry.article.web_url) % count


@functools.lru_cache(maxsize=1 << 18)  # the same URLs, build after build
def _url_hash(url: str) -> int:
    return int.from_bytes(hashlib.blake2b(url.encode(), digest_size=8).digest(), "big")


def shard_folder(shard: int) -> str:
    """Shard 0 is the main bundle (pagefind.js); the others are merged into it by the
    browser (Pagefind's mergeIndex), each a complete bundle of its own."""
    return SEARCH_DIR if shard == 0 else f"{SEARCH_DIR}/shard-{shard}"


class SearchIndexJob:
    """Pagefind indexing of one shard, started early and collected later, so the index is
    built while the pages are rendered. Sharding also keeps Pagefind's memory down, as
    it grows with the stories indexed at once (docs/performance.md, "Search shards")."""

    def __init__(self, entries: Sequence[Entry], config: SiteConfig, folder: str, bundle: Path | None):
        """bundle: where Pagefind writes. A scratch folder beside the staged site, so that
        a new shard's files are moved into place rather than copied; None: beside the
        records (in memory where there is some), for a shard indexed again, whose files
        are mostly the same as those in the output and are then neither copied nor
        written to disk."""
        self.folder = folder
        self._bundle = bundle
        self._temp = None
        self._process = None
        if not entries:
            return  # Pagefind refuses to build an empty index: a new site has none yet
        scratch = records_folder()
        _remove_abandoned_records(scratch)
        self._temp = tempfile.TemporaryDirectory(prefix=f"{RECORDS_PREFIX}{os.getpid()}-", dir=scratch)
        if bundle is None:
            self._bundle = Path(self._temp.name) / "bundle"
        records = Path(self._temp.name) / "records"
        records.mkdir()
        for number, entry in enumerate(entries):
            # One flat folder: each record carries its link in its `href` meta rather than
            # being laid out along the link's path (no folder per story to create).
            url = config.base_path + entry.path.lstrip("/")
            (records / f"{number}.html").write_text(_record(entry, url, config.language), encoding="utf-8")
        self._process = _start_pagefind(records, self._bundle, config.language)

    def busy(self) -> bool:
        """Pagefind is still indexing (a finished job holds no core, only its files)."""
        return self._process is not None and self._process.poll() is None

    def files(self) -> dict[str, Path]:
        """The search bundle's files: {path under the output folder: where it is now},
        there until close()."""
        if self._process is None:
            return {}
        try:
            _, errors = self._process.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            self._process.kill()
            raise SearchError("search index: Pagefind took over 10 minutes") from None
        if self._process.returncode != 0:
            raise SearchError(f"search index: Pagefind failed: {errors.strip()}")
        unused = _UNUSED if self.folder == SEARCH_DIR else _UNUSED + _ENGINE
        return {
            f"{self.folder}/{path.relative_to(self._bundle).as_posix()}": path
            for path in sorted(self._bundle.rglob("*"))
            if path.is_file() and not path.name.startswith(unused)
        }

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self._temp is not None:
            self._temp.cleanup()
            self._temp = None


def records_folder() -> str:
    """Where the records are written: memory-backed storage where there is one
    (thousands of tiny files), else the temporary folder."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()


def _remove_abandoned_records(scratch: str) -> None:
    """Record folders of builds that were killed (SIGKILL, power loss) before they could
    clean up: in /dev/shm they would hold memory until the next reboot. A folder is
    abandoned when the process named in it is gone. Once per process and folder."""
    if scratch in _swept:
        return
    _swept.add(scratch)
    try:
        names = os.listdir(scratch)
    except OSError:
        return
    for name in names:
        if not name.startswith(RECORDS_PREFIX):
            continue
        pid = name[len(RECORDS_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(os.path.join(scratch, name), ignore_errors=True)


_swept: set[str] = set()


def _start_pagefind(records: Path, bundle: Path, language: str) -> subprocess.Popen:
    from pagefind.service import get_executable  # honours PAGEFIND_BINARY_PATH

    binary = get_executable()
    if binary is None:
        raise SearchError('search index: no Pagefind binary; pip install "pagefind[bin]"')
    command = [str(binary), "--site", str(records), "--output-path", str(bundle),
               "--force-language", language.split("-")[0].lower(), "--quiet"]
    try:
        # Pagefind reads a pagefind.yml/.toml/.json in its working folder and PAGEFIND_*
        # variables as settings: it runs in the records' own folder, without those variables,
        # so that nothing but the options above shapes the index.
        return subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=records.parent,
            env=pagefind_environment({k: v for k, v in os.environ.items() if not k.startswith("PAGEFIND_")}),
        )
    except OSError as exc:
        raise SearchError(f"search index: could not run Pagefind: {exc}") from None


# Pagefind's binary allocates with jemalloc (read through its `_RJEM_` prefix), which hands
# each zeroed 64 KiB buffer (one or more per record) back to the kernel and faults its
# pages in again. Caching buffers up to 128 KiB per thread keeps them, which saves most
# of those page faults and gives the same index, byte for byte (docs/performance.md,
# "Pagefind's allocator"). A binary without jemalloc ignores the variable; one the user
# set is left alone.
PAGEFIND_ALLOCATOR = ("_RJEM_MALLOC_CONF", "tcache_max:131072")


def pagefind_environment(environ: Mapping[str, str]) -> dict[str, str]:
    name, value = PAGEFIND_ALLOCATOR
    return {name: value, **environ}


def record_inputs(entry: Entry) -> tuple:
    """What a story's record shows besides its own file (whose digest covers the rest):
    its link, and its topics' and source's names, which are chosen across the whole site
    (the most used spelling), so they can change when another story does."""
    return entry.path, tuple(topic.name for topic in entry.topics), entry.source.name if entry.source else None


def _record(entry: Entry, url: str, language: str) -> str:
    """A story as Pagefind reads it: indexed text (title, excerpt, provider, topics) and
    the meta the result list shows. The link and the date are given as attribute values,
    so they are shown but not indexed as words; no image (the results show none). Both save
    Pagefind work. No Pagefind filters: their files come out in a different order on every
    run, which would rewrite the index on builds that change nothing."""
    a, e = entry.article, html.escape
    parts = [f'<h1 data-pagefind-meta="title">{e(a.title)}</h1>', f'<a data-pagefind-meta="href[href]" href="{e(url)}"></a>']
    if a.excerpt:
        parts.append(f'<p data-pagefind-meta="excerpt">{e(a.excerpt)}</p>')
    if entry.source:
        parts.append(f'<p data-pagefind-meta="provider">{e(entry.source.name)}</p>')
    parts += [f'<p>{e(topic.name)}</p>' for topic in entry.topics]
    parts.append(f'<span data-pagefind-meta="date:{e(a.published.isoformat())}"></span>')
    return f'<!DOCTYPE html><html lang="{e(language)}"><body data-pagefind-body>{"".join(parts)}</body></html>'


class SearchIndex:
    """The Pagefind index in shards, each rebuilt only when a searchable field of one of
    its stories (or the base path or language) changed: a large site's index is thousands
    of files, and re-indexing everything for one edit would cost seconds."""

    # Shards indexing at once. While the pages render, one at a time, refilled as each
    # finishes, so the index is mostly done when the pages are; two beside the render are
    # no faster and raise the peak memory, as the render workers are at their largest then
    # (docs/performance.md, "Search beside the render").
    WHILE_RENDERING = 1
    PARALLEL = 2  # once the pages are rendered

    def __init__(
        self, plan: SitePlan, config: SiteConfig, digests: dict[str, str], state: BuildState, out: Path, scratch: Path,
        defer: bool = False,
        known_shards: dict[str, tuple[tuple, str]] | None = None,
    ):
        """defer: leave every shard as it is for now, stale or not (the preview serves the
        changed pages first): a later build checks and indexes them. known_shards: the
        last build's `shards` (serve keeps it): a shard of the very same entries as then
        (plan_site reuses unchanged ones) has the same fingerprint, without hashing it.
        digests: the hash of each story's file, by its source."""
        count = shard_count(len(plan.entries), config)
        self.config = config
        self.scratch = scratch  # Pagefind's output, on the output's file system
        self.running: list[tuple[str, str, SearchIndexJob]] = []
        self.result: dict[str, tuple[str, dict]] = {}  # folder -> (fingerprint, {file: stamp})
        self.kept: list[str] = []
        self.todo: list[tuple[str, str, list, bool]] = []  # (folder, fingerprint, entries, indexed before)
        self.shards: dict[str, tuple[tuple, str]] = {}  # folder -> (its entries, fingerprint)
        if defer:
            # Every shard kept as it is, current or not, without sorting the stories into
            # shards, a look at its files (9,000 at 10,000 stories) or a fingerprint: the
            # later build that `pending` calls for does those. It compares its shards with
            # the last ones known, as this build would have.
            for folder in map(shard_folder, range(count)):
                previous = state.search.get(folder)
                if previous:
                    self._keep(folder, previous)
                if known_shards and folder in known_shards:
                    self.shards[folder] = known_shards[folder]
            return
        shards: dict[int, list] = {n: [] for n in range(count)}
        for entry in plan.entries if count else ():
            shards[shard_of(entry, count)].append(entry)
        site_wide = (config.base_path, config.language)
        current = []  # shards with the same fingerprint: current if their files are the ones written
        for n, entries in shards.items():
            folder = shard_folder(n)
            members = (site_wide, tuple(entries))
            known = known_shards.get(folder) if known_shards else None
            fingerprint = known[1] if known is not None and known[0] == members else None  # mostly an identity check, in C
            previous = state.search.get(folder)
            if fingerprint is None:
                fingerprint = site_wide_fingerprint(
                    *site_wide, [(record_inputs(e), digests[e.article.source]) for e in entries]
                )
            self.shards[folder] = (members, fingerprint)
            if previous and previous[0] == fingerprint:
                current.append((folder, fingerprint, entries, previous))
            else:
                self.todo.append((folder, fingerprint, entries, bool(previous)))
        self._start(self.WHILE_RENDERING)  # one shard indexes while the others' files are checked
        for folder, fingerprint, entries, previous in current:
            if all(file_stamp(f"{out}/{rel}") == stamp for rel, stamp in previous[1].items()):
                self._keep(folder, previous)
            else:
                self.todo.append((folder, fingerprint, entries, True))
        self._start(self.WHILE_RENDERING)

    def refilling(self, progress: Callable[[int, int], None] | None) -> Callable[[int, int], None]:
        """The render's progress callback, which also starts waiting shards as running ones
        finish: a cold build's shards are indexed while the pages render, not after."""

        def step(done: int, total: int) -> None:
            self._start(self.WHILE_RENDERING)
            if progress:
                progress(done, total)

        return step

    def _keep(self, folder: str, previous: tuple[str, dict]) -> None:
        self.kept += list(previous[1])
        self.result[folder] = previous

    def _start(self, limit: int) -> None:
        """Start waiting shards until `limit` are indexing (finished ones not counted)."""
        while self.todo and sum(job.busy() for _, _, job in self.running) < limit:
            folder, fingerprint, entries, indexed_before = self.todo.pop(0)
            bundle = None if indexed_before else self.scratch / folder.replace("/", "-")  # see SearchIndexJob
            self.running.append((folder, fingerprint, SearchIndexJob(entries, self.config, folder, bundle)))

    def close(self) -> None:
        for _, _, job in self.running:
            job.close()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def write(self, writer: SiteWriter) -> None:
        writer.keep_all(self.kept)
        self._start(self.PARALLEL)
        while self.running:
            folder, fingerprint, job = self.running[0]
            files = job.files()
            self._start(self.PARALLEL)
            for rel, path in files.items():
                writer.adopt(rel, path)
            self.running.pop(0)
            job.close()
            self.result[folder] = (fingerprint, {rel: None for rel in files})  # stamped after the commit
        shutil.rmtree(self.scratch, ignore_errors=True)  # Pagefind's files we do not publish

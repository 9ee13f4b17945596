"""ORCHESTRATE: read -> model -> plan -> render -> write. `build`, `check` (and later
`serve`, `deploy`) all go through here: there is one way to make the site."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .cache import (
    CACHE_DIR,
    FORMAT,
    BuildState,
    CachedFile,
    Inputs,
    LastBuild,
    file_digest,
    file_stamp,
    ignored_note,
    load_last_build,
    load_state,
    save_last_build,
    save_state,
    stamp_written,
    state_key,
)
from .config import CONFIG_FILE, ConfigError, SiteConfig, load_config, read_config_bytes
from .fingerprint import Fingerprinter, site_wide_fingerprint
from .models import MAX_ARTICLE_BYTES, Article, Problem
from .pages import ARTICLE, SitePlan
from .parallel import map_chunks
from .routes import plan_site
from .search import SearchIndexJob, record_inputs, shard_count, shard_folder, shard_of
from .selection import PATCH_LIMIT, Selection, select
from .signing import user_key
from .sources import scan_article_files, theme_files
from .theme import default_theme_dir
from .writer import SiteWriter, WriteResult

if TYPE_CHECKING:
    from .render import Renderer, SignedBytecodeCache

OUTPUT_DIR = "_site"
SCRATCH = ".search-scratch"
NOW, PAGES_FIRST = "now", "pages first"  # Builder.build(search=...)


@dataclass(frozen=True)
class BuildOptions:
    site_dir: Path
    out_dir: Path | None = None
    drafts: bool = False
    future: bool = False
    base_url: str | None = None
    now: datetime | None = None  # "the build time"; tests pin it

    @property
    def output(self) -> Path:
        return (self.out_dir or self.site_dir / OUTPUT_DIR).resolve()


@dataclass
class BuildReport:
    articles: int = 0  # published on the site
    files: int = 0  # article files read
    pages: int = 0
    rendered: int = 0  # pages whose inputs changed, so they were rendered again
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    write: WriteResult | None = None
    seconds: float = 0.0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def summary(self, verb: str = "Built") -> str:
        parts = [f"{verb} {self.articles} articles", f"{self.pages} pages"]
        if self.write is not None:
            parts.append(f"{self.rendered} rendered, {len(self.write.written)} written, {len(self.write.removed)} removed")
        parts.append(_plural(len(self.errors), "error"))
        if self.warnings:
            parts.append(_plural(len(self.warnings), "warning"))
        return ", ".join(parts) + f" in {self.seconds:.2f} s"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class Model:
    config: SiteConfig
    selection: Selection  # which stories are published (kept whole: the next model patches it)
    files: int
    problems: tuple[Problem, ...]
    digests: dict  # article source -> hash of its file

    @property
    def articles(self) -> tuple[Article, ...]:
        """To publish, newest first."""
        return self.selection.published

    @property
    def next_change(self) -> datetime | None:
        """When the first scheduled (future) story goes live."""
        return self.selection.next_change


def content_folder(site_dir: Path) -> Path:
    """SITE/content, which must exist: a command run in the wrong folder says so."""
    if not site_dir.is_dir():
        raise ConfigError(f"{site_dir}: no such folder")
    content_dir = site_dir / "content"
    if not content_dir.is_dir():
        raise ConfigError(
            f"{site_dir}: no content/ folder here; run this in a site folder, "
            f"or create content/ with article files (.md, .txt, .markdown)"
        )
    return content_dir


class Builder:
    """Builds one site, remembering what it did (BuildState) so the next build only redoes
    what changed. `build`, `check`, `serve`, `build --watch` and `deploy` all use it; the
    long-running ones keep one Builder, the others load its state from SITE/.cache/."""

    def __init__(self, options: BuildOptions, cache: str = "read-write", progress=None):
        """cache: "read-write" (CLI builds), "read" (start from SITE/.cache/ but keep the
        state in memory only: the preview server), "read-only" (`check`: use the cache,
        write nothing in the site), "off" (deploy: a fresh build)."""
        self.options = options
        self.cache = cache
        self.progress = progress  # progress(stage, done, total), for a terminal's progress line
        self.state: BuildState | None = None
        self.last: LastBuild | None = None
        self._changed_files: set[str] = set()  # article files changed since the state was saved
        # The last build left work for the next (PAGES_FIRST after an edit):
        # the search index, and a look at the files it kept unrendered.
        self.pending = False
        self._committed: _Committed | None = None  # what this Builder's last commit was made from
        self._last_is_ours = False  # self.last describes this Builder's own last commit
        self._last_scan: _LastScan | None = None  # what the last _read found, and left in state.files
        self._ignored: set[str] = set()  # cache files found not signed by this user, until a report says so

    # -- READ + MODEL --------------------------------------------------------------
    def load_model(self, scan: list[tuple[str, int, int]] | None = None, refused: list[Problem] | None = None) -> Model:
        """scan, refused: the article files as scan_inputs found them, and the files it
        would not read (else the article files are looked up)."""
        options = self.options
        site_dir = options.site_dir
        content_dir = content_folder(site_dir)
        config = load_config(site_dir, options.base_url)
        state = self._state(state_key(config.timezone))
        if scan is None:
            refused = []
            scan = scan_article_files(content_dir, refused)
            refused.sort(key=_by_path)
        files = self._read(content_dir, config, state, scan)
        problems = list(refused or ())
        problems += [p for cached in files for p in cached.result.problems]
        now = options.now or datetime.now(timezone.utc)
        last = self._committed.model.selection if self._committed is not None else None
        selection = select(
            [cached.result.article for cached in files], now, options.drafts, options.future, config.min_quality, last
        )
        problems.extend(selection.duplicates)
        digests = {c.result.article.source: c.digest for c in files if c.result.article is not None}
        return Model(config, selection, len(files), tuple(problems), digests)

    def _state(self, key: tuple) -> BuildState:
        if self.state is None or self.state.key != key:
            self.state = load_state(self.options.site_dir, key, self._ignored) if self.cache != "off" else BuildState(key)
            if self.state.key != key:
                self.state = BuildState(key)
        return self.state

    def _read(self, content_dir: Path, config: SiteConfig, state: BuildState, scan: list[tuple[str, int, int]]) -> list[CachedFile]:
        """Every article file; unchanged ones (same size and mtime, or same bytes) from the
        cache, the rest parsed, across processes when there are many. The size and mtime
        were taken before any byte is read, so a file changed meanwhile is read again by
        the next build, never cached under its new stamp with its old content."""
        previous = state.files
        listed = set(scan)
        fresh = self._restamped(content_dir, previous, listed)
        current: dict[str, CachedFile] = dict(previous) if fresh is not None else {}
        looked_at: list[str] = []
        to_parse: list[tuple[str, str, int, int, bytes | None, str | None]] = []
        for path, size, mtime_ns in scan if fresh is None else sorted(fresh):
            rel = _cache_key(content_dir, path)
            looked_at.append(rel)
            cached = previous.get(rel)
            if cached and cached.size == size and cached.mtime_ns == mtime_ns:
                current[rel] = cached
                continue
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
                    current[rel] = CachedFile(size, mtime_ns, cached.digest, cached.result)
                    continue
            to_parse.append((path, rel, size, mtime_ns, raw, digest))
        # Imported here: YAML, Markdown and nh3 load only when some file must be parsed.
        from .content import parse_article, read_article, read_limited, too_large

        tz = config.tz

        def parse(items):
            # Each file is read once, above (a touched file, to compare) or here: its digest
            # (the cache's key) and its article come from the same bytes.
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

        for chunk in map_chunks(parse, to_parse, self._stage("Reading articles")):
            current.update(chunk)
        self._changed_files |= {rel for rel in looked_at if previous.get(rel) is not current[rel]}
        self._changed_files |= previous.keys() - current.keys()
        state.files = current
        rels = sorted(current) if fresh is None else self._last_scan.rels
        self._last_scan = _LastScan(content_dir, current, listed, rels)
        return [current[rel] for rel in rels]

    def _restamped(self, content_dir: Path, files: dict[str, CachedFile], listed: set[tuple[str, int, int]]) -> set | None:
        """The scan entries that differ from this Builder's last read, when that read left
        `files` (the state is the same) and found the very same files, a few with other
        stamps: at 10,000 stories that saves looking at every file (10 ms). Else None."""
        last = self._last_scan
        if last is None or last.files is not files or last.content_dir != content_dir or len(listed) != len(last.listed):
            return None
        fresh = listed - last.listed
        if len(fresh) > PATCH_LIMIT or not all(_cache_key(content_dir, path) in files for path, _, _ in fresh):
            return None  # a file came or went: as many entries, other paths
        return fresh

    # -- the commands ----------------------------------------------------------------
    def check(self) -> BuildReport:
        """Validate everything a build would, and every internal link of the result: the
        site is built (the same build) into a temporary folder, so nothing is written."""
        from .linkcheck import check_links  # only `check` reads links: a build never loads it

        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="site-builder-check-") as temp:
            out = Path(temp) / OUTPUT_DIR
            report = Builder(replace(self.options, out_dir=out), cache="read-only").build()
            config = load_config(self.options.site_dir, self.options.base_url)
            report.problems += [
                Problem(f"{OUTPUT_DIR}/{bad.source}", f"link {bad.url} {bad.reason}")
                for bad in check_links(out, config.base_url or config.base_path)
            ]
        report.write = None
        report.notes = []
        report.seconds = time.perf_counter() - started
        return report

    def build(self, publish_with_errors: bool = True, commit_lock=contextlib.nullcontext(), search: str = NOW) -> BuildReport:
        """publish_with_errors=False leaves the output untouched when an article is invalid
        (the preview keeps showing the last good site). commit_lock is held only while the
        output changes (the preview's readers wait for that, not for the whole build).
        search: NOW indexes changed search shards in this build. PAGES_FIRST (the preview)
        does too when no input changed since the last build; when one did, its pages are
        served first: the index is left as it is, and the files of unchanged pages
        unchecked (that they are still the ones written), for the next build (`pending`)."""
        if search not in (NOW, PAGES_FIRST):
            raise ValueError(f"search must be NOW or PAGES_FIRST, not {search!r}")
        with _gc_paused():
            return self._build(publish_with_errors, commit_lock, search)

    def _build(self, publish_with_errors: bool, commit_lock, search_mode: str) -> BuildReport:
        started = time.perf_counter()
        options = self.options
        inputs, scan, refused = scan_inputs(options)
        unchanged = self._unchanged_since_last_build(inputs)
        if unchanged is not None:
            unchanged.seconds = time.perf_counter() - started
            return unchanged
        last = self._current_model_and_plan(inputs)
        defer = search_mode == PAGES_FIRST and last is None
        if last is not None:
            model, plan = last
        else:
            model = self.load_model(scan, refused)
            if not publish_with_errors and any(p.severity == "error" for p in model.problems):
                return BuildReport(
                    articles=len(model.articles), files=model.files, problems=list(model.problems),
                    seconds=time.perf_counter() - started,
                )
            _refuse_dangerous_output(options)
            plan = plan_site(model.articles, model.config, self.state.more_on, self._committed and self._committed.plan)
        statics = collect_static(options.site_dir)
        renderer, fingerprints = self._renderer(model, plan, statics)
        state = self.state
        out = options.output
        if state.output_dir != str(out):
            state.reset_outputs()  # the remembered pages describe another folder
        # Orphans are found by listing the output, not from the saved state: a state older
        # than the output (a crash before it was saved) must not leave files behind. Only
        # this Builder's own last commit, remembered in memory, is known to be current.
        # The saved record speaks only for an output from before manifests (SiteWriter).
        recorded = self.last.outputs if self.last is not None and self.last.output_dir == str(out) else None
        writer = SiteWriter(out, recorded if self._last_is_ours else None, recorded or frozenset())
        search = None
        try:
            scratch = writer.staging / SCRATCH  # never committed: the writer moves named files only
            # Pagefind indexes while the pages render: refilling() starts shards as others finish.
            search = _SearchIndex(plan, model, state, out, scratch, defer, self._committed and self._committed.shards)
            new_pages, rendered = _write_pages(
                writer, plan, renderer, fingerprints, state, out, not defer, search.refilling(self._stage("Rendering pages"))
            )
            _write_static(writer, plan, statics)
            search.write(writer)
            self._last_is_ours = False
            with commit_lock:
                result = writer.commit()
        except BaseException:
            if search is not None:
                search.close()
            writer.abort()  # the previous site stays as it was
            raise
        stamp_written(new_pages, out)
        for _, stamps in search.result.values():
            stamps.update((rel, file_stamp(f"{out}/{rel}")) for rel, stamp in list(stamps.items()) if stamp is None)
        state.pages, state.output_dir = new_pages, str(out)
        state.search = search.result
        state.more_on = plan.more_on
        self._committed = _Committed(model, plan, fingerprints.memo(), search.shards, renderer.memo())
        self.pending = defer
        report = BuildReport(
            articles=len(model.articles),
            files=model.files,
            pages=len(plan.pages),
            rendered=rendered,
            problems=list(model.problems),
            notes=_notes(model.config) + ([ignored_note(options.site_dir)] if self._ignored else []),
            write=result,
        )
        self._ignored.clear()
        self.last = LastBuild.of(report, inputs, model.next_change, out, writer.produced)
        self._last_is_ours = True
        if result.changed or rendered or self._changed_files:
            self._save()
        elif self.cache == "read-write":
            save_last_build(options.site_dir, self.last)
        report.seconds = time.perf_counter() - started
        return report

    def _renderer(self, model: Model, plan: SitePlan, statics: dict[str, bytes]) -> tuple[Renderer, Fingerprinter]:
        """The Jinja renderer, and the page fingerprints that decide what it must render."""
        from .render import Renderer  # Jinja loads only for a build with pages to plan

        options = self.options
        templates = [options.site_dir / "templates", default_theme_dir() / "templates"]
        asset_versions = {rel: hashlib.sha256(data).hexdigest()[:10] for rel, data in statics.items()}
        build_options = {"drafts": options.drafts, "future": options.future}
        renderer = Renderer(
            model.config, plan, templates, asset_versions, build_options, self._bytecode_cache(),
            self._committed and self._committed.renderer,
        )
        site_wide = site_wide_fingerprint(
            FORMAT, __version__, model.config, build_options, asset_versions,
            plan.nav_topics, plan.topics, plan.feeds, shard_count(len(plan.entries), model.config), _template_bytes(templates),
        )
        return renderer, Fingerprinter(model.digests, site_wide, self._committed and self._committed.fingerprints)

    def _unchanged_since_last_build(self, inputs: Inputs) -> BuildReport | None:
        """Lektor's "a second build builds nothing", in milliseconds: when no input file,
        setting or scheduled story changed since the last build and its output is all
        there, that build's report stands and nothing is read, planned or rendered."""
        if self.cache == "off" or self.pending:
            return None
        if self.last is None:
            self.last = load_last_build(self.options.site_dir, self._ignored)
        if not self._last_build_is_current(inputs):
            return None
        out = self.options.output
        if not all(os.path.isfile(out / rel) for rel in self.last.outputs):
            return None
        return self.last.report()

    def _current_model_and_plan(self, inputs: Inputs) -> tuple[Model, SitePlan] | None:
        """This Builder's last model and plan, when that build left work for the next (the
        preview serves pages first) and no input changed since: reading and planning again
        would give the same ones. The build that finishes it (checks the kept files, indexes
        the search) then starts at rendering, which finds every page current."""
        if self.pending and self._last_is_ours and self._last_build_is_current(inputs):
            return self._committed.model, self._committed.plan  # set by the commit that set _last_is_ours
        return None

    def _last_build_is_current(self, inputs: Inputs) -> bool:
        """The last build read these inputs, wrote this output, and no scheduled story has
        come due since (the model would not be the same)."""
        last = self.last
        if last is None or not inputs.same_as(last.inputs) or last.output_dir != str(self.options.output):
            return False
        return last.next_change is None or (self.options.now or datetime.now(timezone.utc)) < last.next_change

    def _stage(self, name: str):
        return (lambda done, total: self.progress(name, done, total)) if self.progress else None

    def _bytecode_cache(self) -> SignedBytecodeCache | None:
        """SITE/.cache/templates, signed with the user's key; none without one."""
        if self.cache in ("off", "read-only") or (key := user_key()) is None:
            return None
        folder = self.options.site_dir / CACHE_DIR / "templates"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        from .render import SignedBytecodeCache

        cache = SignedBytecodeCache(folder, key)
        if cache.foreign:
            self._ignored.add("templates/")
        return cache

    def _save(self) -> None:
        if self.cache == "read-write" and self.state is not None:
            save_state(self.options.site_dir, self.state, self._changed_files)
            self._changed_files = set()
            if self.last is not None:
                save_last_build(self.options.site_dir, self.last)


@dataclass(frozen=True)
class _Committed:
    """A long-lived Builder's last commit (serve, --watch): the next build starts from it.
    It selects only what changed, reuses the plan's unchanged objects, fingerprints only
    new pages, hashes only search shards of other stories and writes only the sitemap
    entries of new paths and dates."""

    model: Model
    plan: SitePlan
    fingerprints: tuple[str, dict]  # Fingerprinter.memo()
    shards: dict[str, tuple[tuple, str]]  # _SearchIndex.shards
    renderer: tuple  # Renderer.memo()


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


@contextlib.contextmanager
def _gc_paused():
    """A build makes millions of objects and no garbage cycles worth chasing: left on, the
    cyclic collector scans the whole model again and again (a sixth of a warm build at
    10,000 stories). It is back on, as it was, once the build is done."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def scan_inputs(options: BuildOptions) -> tuple[Inputs, list[tuple[str, int, int]], list[Problem]]:
    """The size and mtime of every file a build reads (articles, templates, static files,
    site.toml) and the options: if they are unchanged, so is the site. Also returns the
    article files with their size and mtime, for the parse cache, and the files found
    there that a build will not read (links leaving the site, pipes: sources.files_below),
    as errors; they are inputs too, so one added or removed makes a build."""
    site = options.site_dir
    theme = default_theme_dir()
    refused: list[Problem] = []
    articles = scan_article_files(site / "content", refused)
    parts: list = [FORMAT, __version__, options.drafts, options.future, options.base_url, str(options.output), articles]
    for folder in (site / "templates", site / "static"):
        parts += [(path, file_stamp(path)) for _, path in theme_files(folder, refused)]
    ours: list[Problem] = []  # the package's theme: named by full path, not as the site's own
    for folder in (theme / "templates", theme / "static"):
        parts += [(path, file_stamp(path)) for _, path in theme_files(folder, ours)]
    refused += [replace(problem, path=str(theme / problem.path)) for problem in ours]
    refused.sort(key=_by_path)  # scandir's order is the file system's
    parts.append([(problem.path, problem.message) for problem in refused])
    try:
        parts.append(read_config_bytes(site / CONFIG_FILE))
    except OSError:
        parts.append(None)
    return Inputs(parts), articles, refused


def _by_path(problem: Problem) -> str:
    return problem.path


def load_model(options: BuildOptions) -> Model:
    """READ + MODEL without touching the cache (for tools that only want the articles)."""
    return Builder(options, cache="off").load_model()


def check(options: BuildOptions) -> BuildReport:
    return Builder(options).check()


def build(options: BuildOptions, progress=None) -> BuildReport:
    return Builder(options, progress=progress).build()


def _write_pages(writer, plan, renderer, fingerprints, state, out, check_files=True, progress=None) -> tuple[dict[str, tuple], int]:
    """Render the pages whose inputs changed (or whose file is not the one we wrote, when
    check_files: 11,500 stat calls at 10,000 stories); keep the rest. Returns
    {output: (fingerprint, stamp or None until written)} and the count."""
    new_pages: dict[str, tuple] = {}
    to_render: list[int] = []
    kept: list[str] = []
    base = f"{out}/"  # plain strings: pathlib would cost a tenth of a second at 10,000 stories
    last = state.pages
    for index, (page, fingerprint) in enumerate(zip(plan.pages, fingerprints.pages(plan.pages))):
        rel = page.output
        known = last.get(rel)
        if fingerprint is not None and known and known[0] == fingerprint and (
            not check_files or file_stamp(base + rel) == known[1]
        ):
            kept.append(rel)
            new_pages[rel] = known
        else:
            to_render.append(index)
            if fingerprint is not None:
                new_pages[rel] = (fingerprint, None)
    writer.keep_all(kept)

    def render(indices):
        # In a worker this writes into the shared staging folder and reports back.
        local = SiteWriter.for_worker(writer)
        for i in indices:
            page = plan.pages[i]
            local.add(page.output, renderer.render(page).encode("utf-8"))
        return local.result.written, local.result.unchanged, sorted(local.produced)

    # Story pages, then the rest, each by workers of their own. A listing, feed or the
    # sitemap shows stories from all over the site, so a worker rendering them writes to
    # (and so copies, memory page by page) most of the model; one that renders story
    # pages only never does. At 10,000 stories the process tree's peak went from 390 to
    # 355 MB, for about 2% more time (one more pool of workers to start).
    story_pages = [i for i in to_render if plan.pages[i].template == ARTICLE]
    other_pages = [i for i in to_render if plan.pages[i].template != ARTICLE]
    for before, part in ((0, story_pages), (len(story_pages), other_pages)):
        steps = progress and (lambda done, _, before=before: progress(before + done, len(to_render)))
        for written, unchanged, produced in map_chunks(render, part, steps) if part else ():
            writer.merge(written, unchanged, produced)
    return new_pages, len(to_render)


class _SearchIndex:
    """The Pagefind index in shards, each rebuilt only when a searchable field of one of
    its stories (or the base path or language) changed: a large site's index is thousands
    of files, and re-indexing everything for one edit would cost seconds."""

    # Shards indexing at once. While the pages render, one at a time, refilled as each
    # finishes: at 4,000 stories (8 shards, 2 cores) that took 6% off a cold build, where
    # the render used to run beside one shard and the other seven waited for its end. Two
    # beside the render were no faster, and at 10,000 stories took the process tree's
    # peak memory from 390 to 430 MB (the render workers are at their largest then).
    WHILE_RENDERING = 1
    PARALLEL = 2  # once the pages are rendered

    def __init__(
        self, plan: SitePlan, model: Model, state: BuildState, out: Path, scratch: Path, defer: bool = False,
        known_shards: dict[str, tuple[tuple, str]] | None = None,
    ):
        """defer: leave every shard as it is for now, stale or not (the preview serves the
        changed pages first): a later build checks and indexes them. known_shards: the
        last build's `shards` (serve keeps it): a shard of the very same entries as then
        (plan_site reuses unchanged ones) has the same fingerprint, without hashing it."""
        count = shard_count(len(plan.entries), model.config)
        shards: dict[int, list] = {n: [] for n in range(count)}
        for entry in plan.entries if count else ():
            shards[shard_of(entry, count)].append(entry)
        config = model.config
        self.config = config
        self.scratch = scratch  # Pagefind's output, on the output's file system
        self.running: list[tuple[str, str, SearchIndexJob]] = []
        self.result: dict[str, tuple[str, dict]] = {}  # folder -> (fingerprint, {file: stamp})
        self.kept: list[str] = []
        self.todo: list[tuple[str, str, list, bool]] = []  # (folder, fingerprint, entries, indexed before)
        self.shards: dict[str, tuple[tuple, str]] = {}  # folder -> (its entries, fingerprint)
        site_wide = (config.base_path, config.language)
        current = []  # shards with the same fingerprint: current if their files are the ones written
        for n, entries in shards.items():
            folder = shard_folder(n)
            members = (site_wide, tuple(entries))
            known = known_shards.get(folder) if known_shards else None
            if known is not None and known[0] == members:  # mostly an identity check, in C
                fingerprint = known[1]
            else:
                fingerprint = site_wide_fingerprint(
                    *site_wide, [(record_inputs(e), model.digests[e.article.source]) for e in entries]
                )
            self.shards[folder] = (members, fingerprint)
            previous = state.search.get(folder)
            if previous and defer:
                # Kept as it is, current or not, without a look at its files (9,000 at
                # 10,000 stories): the later build that `pending` calls for checks them.
                self._keep(folder, previous)
            elif previous and previous[0] == fingerprint:
                current.append((folder, fingerprint, entries, previous))
            elif not defer:
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


def _write_static(writer: SiteWriter, plan: SitePlan, statics: dict[str, bytes]) -> None:
    page_outputs = {page.output for page in plan.pages}
    for rel, data in statics.items():
        if rel in page_outputs:
            raise ConfigError(f"static/{rel} would overwrite a generated page; rename or remove it")
        writer.add(rel, data)


def _template_bytes(folders: list[Path]) -> list[tuple[str, bytes]]:
    """Every template file, so editing any of them re-renders the pages."""
    return [(path, Path(path).read_bytes()) for folder in folders for _, path in theme_files(folder)]


def _notes(config: SiteConfig) -> list[str]:
    if config.base_url:
        return []
    return [
        "no base_url set, so feed.xml and feed.json use site-relative links, and there is no "
        "sitemap.xml, canonical link or og:url; add base_url = \"https://example.com/\" to "
        "site.toml (or pass --base-url) for absolute URLs"
    ]


def collect_static(site_dir: Path) -> dict[str, bytes]:
    """The theme's static files, then the site's own over them (same path wins)."""
    files: dict[str, bytes] = {}
    for root in (default_theme_dir() / "static", site_dir / "static"):
        for rel, path in theme_files(root):
            files[rel] = Path(path).read_bytes()
    return dict(sorted(files.items()))


def _refuse_dangerous_output(options: BuildOptions) -> None:
    """Never let the output folder be the site, a parent of it or one of its inputs. What
    else a folder may hold, the writer judges by its manifest (writer.claim_output)."""
    out = options.output
    site = options.site_dir.resolve()
    if out == site or out in site.parents or out == Path.home() or out == Path(out.anchor):
        raise ConfigError(f"refusing to use {out} as the output folder: it holds the site itself")
    for name in ("content", "templates", "static"):
        if out == site / name or (site / name) in out.parents:
            raise ConfigError(f"refusing to write the site into {name}/: choose another output folder")

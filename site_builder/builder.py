"""ORCHESTRATE: read -> model -> plan -> render -> write. `build`, `check` (and later
`serve`, `deploy`) all go through here: there is one way to make the site."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .cache import (
    FORMAT, BuildState, Inputs, LastBuild, file_stamp, ignored_note, load_last_build, load_state, make_cache_folder,
    save_last_build, save_state, stamp_written, state_key,
)
from .config import ConfigError, SiteConfig, load_config
from .fingerprint import Fingerprinter, site_wide_fingerprint
from .images import ImageStage
from .models import Problem
from .pages import SitePlan
from .reading import ArticleReader
from .report import BuildReport
from .routes import plan_site
from .search import SearchIndex, shard_count
from .site_model import Model, model_of, patched_model
from .signing import user_key
from .inputs import content_folder, scan_article_files
from .scan import Scan, rescan, scan_inputs
from .theme import collect_static, default_theme_dir, template_bytes
from .writer import SiteWriter, refuse_dangerous_output

if TYPE_CHECKING:
    from .render import Renderer, SignedBytecodeCache

OUTPUT_DIR = "_site"
SCRATCH = ".search-scratch"


class CacheMode(Enum):
    """How a Builder uses SITE/.cache/."""

    READ_WRITE = "read-write"  # CLI builds: start from it, save to it
    READ = "read"  # the preview: start from it, keep the state in memory only
    READ_ONLY = "read-only"  # `check`: use it, write nothing in the site
    OFF = "off"  # deploy: a fresh build


class SearchMode(Enum):
    """When a build indexes the search shards its changes made stale (Builder.build)."""

    NOW = "now"
    PAGES_FIRST = "pages first"


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


class Builder:
    """Builds one site, remembering what it did (BuildState) so the next build only redoes
    what changed. `build`, `check`, `serve`, `build --watch` and `deploy` all use it; the
    long-running ones keep one Builder, the others load its state from SITE/.cache/."""

    def __init__(self, options: BuildOptions, cache: CacheMode = CacheMode.READ_WRITE, progress=None):
        """cache: how SITE/.cache/ is used (CacheMode)."""
        self.options = options
        self.cache = cache
        self.progress = progress  # progress(stage, done, total), for a terminal's progress line
        self.state: BuildState | None = None
        self.last: LastBuild | None = None
        # The last build left work for the next (SearchMode.PAGES_FIRST after an edit):
        # the search index, and a look at the files it kept unrendered.
        self.pending = False
        self._committed: _Committed | None = None  # what this Builder's last commit was made from
        self._last_is_ours = False  # self.last describes this Builder's own last commit
        self.reader = ArticleReader()  # its parse cache is self.state.files
        self._scan: Scan | None = None  # the last build's listing of its inputs
        self._read_model: tuple[Model, object] | None = None  # the last model read, and the reader's read it is of
        self._edits: tuple[Model, Model, set[str]] | None = None  # a patched model: (from, to, the stories changed)
        self._ignored: set[str] = set()  # cache files found not signed by this user, until a report says so
        # images = "local"; the preview sets its `arrived`, and then builds never wait on the network.
        self.images = ImageStage(options.site_dir, writable=cache is not CacheMode.READ_ONLY)

    def current(self) -> tuple[Model, SitePlan] | None:
        """The model and plan of this Builder's last commit (what the preview serves), or
        None before the first; read-only, for tools beside the server (the desk)."""
        committed = self._committed
        return (committed.model, committed.plan) if committed is not None else None

    # -- READ + MODEL --------------------------------------------------------------
    def load_model(self, scan: list[tuple[str, int, int]] | None = None, refused: list[Problem] | None = None) -> Model:
        """scan, refused: the article files as scan_inputs found them, and the files it
        would not read (else the article files are looked up)."""
        options = self.options
        site_dir = options.site_dir
        content_dir = content_folder(site_dir)
        config = load_config(site_dir, options.base_url)
        state = self._state(state_key(config.timezone))
        if scan is None:  # the article files only: the theme's and site.toml's stamps are not needed here
            refused = []
            scan = scan_article_files(content_dir, refused)
            refused.sort(key=lambda problem: problem.path)
        files = self.reader.read(content_dir, config, state, scan, self._stage("Reading articles"))
        last = self._committed.model.selection if self._committed is not None else None
        model = model_of(config, files, refused or (), self._now(), options.drafts, options.future, last)
        self._read_model = (model, self.reader.last_read)
        return model

    def _patched_model(self, scan: Scan) -> Model | None:
        """The last model with the files the watcher named read again (the preview's
        build after an edit: site_model.patched_model), or None: then load_model."""
        if scan.restamped is None or self._read_model is None:
            return None
        last, read_as = self._read_model
        options = self.options
        if read_as is not self.reader.last_read or load_config(options.site_dir, options.base_url) != last.config:
            return None
        state = self._state(state_key(last.config.timezone))
        changes = self.reader.reread(content_folder(options.site_dir), last.config, state, scan.restamped)
        if changes is None:
            return None
        model, edited = patched_model(last, changes, self.reader.rels, scan.refused, self._now(), options.drafts, options.future)
        self._read_model = (model, self.reader.last_read)
        self._edits = (last, model, edited)
        return model

    def _now(self) -> datetime:
        return self.options.now or datetime.now(timezone.utc)

    def _state(self, key: tuple) -> BuildState:
        if self.state is None or self.state.key != key:
            self.state = load_state(self.options.site_dir, key, self._ignored) if self.cache is not CacheMode.OFF else BuildState(key)
            if self.state.key != key:
                self.state = BuildState(key)
        return self.state

    # -- the commands ----------------------------------------------------------------
    def check(self) -> BuildReport:
        """Validate everything a build would, and every internal link of the result: the
        site is built (the same build) into a temporary folder, so nothing is written."""
        from .linkcheck import check_links  # only `check` reads links: a build never loads it

        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="site-builder-check-") as temp:
            out = Path(temp) / OUTPUT_DIR
            report = Builder(replace(self.options, out_dir=out), cache=CacheMode.READ_ONLY).build()
            config = load_config(self.options.site_dir, self.options.base_url)
            report.problems += [
                Problem(f"{OUTPUT_DIR}/{bad.source}", f"link {bad.url} {bad.reason}")
                for bad in check_links(out, config.base_url or config.base_path)
            ]
        report.write = None
        report.notes = []
        report.seconds = time.perf_counter() - started
        return report

    def build(
        self, publish_with_errors: bool = True, commit_lock=contextlib.nullcontext(), search: SearchMode = SearchMode.NOW,
        changed: Collection[str] | None = None,
    ) -> BuildReport:
        """publish_with_errors=False leaves the output untouched when an article is invalid
        (the preview keeps showing the last good site). commit_lock is held only while the
        output changes (the preview's readers wait for that, not for the whole build).
        search: SearchMode.NOW indexes changed search shards in this build. PAGES_FIRST (the preview)
        does too when no input changed since the last build; when one did, its pages are
        served first: the index is left as it is, and the files of unchanged pages
        unchecked (that they are still the ones written), for the next build (`pending`).
        changed (with PAGES_FIRST): the files the preview's watcher saw change since the
        last build; only they are looked at again (scan.rescan), and a full scan is left
        for the next build too."""
        with gc_paused():
            return self._build(publish_with_errors, commit_lock, search, changed)

    def _build(self, publish_with_errors: bool, commit_lock, search_mode: SearchMode, changed) -> BuildReport:
        started = time.perf_counter()
        options = self.options
        partial = changed is not None and search_mode is SearchMode.PAGES_FIRST and self._scan is not None
        scan = (partial and rescan(options, self._scan, changed)) or scan_inputs(options)
        self._scan = scan
        unchanged = self._unchanged_since_last_build(scan.inputs)
        if unchanged is not None and scan.partial:  # the watcher's files as they were: look at all
            scan = self._scan = scan_inputs(options)
            unchanged = self._unchanged_since_last_build(scan.inputs)
        if unchanged is not None:
            unchanged.seconds = time.perf_counter() - started
            return unchanged
        inputs = scan.inputs
        last = self._current_model_and_plan(inputs)
        defer = search_mode is SearchMode.PAGES_FIRST and last is None
        if last is not None:
            model, plan = last
            images, image_warnings = self._committed.images
        else:
            model = self._patched_model(scan) or self.load_model(scan.articles, scan.refused)
            if not publish_with_errors and any(p.severity == "error" for p in model.problems):
                return BuildReport(
                    articles=len(model.articles), files=model.files, problems=list(model.problems),
                    seconds=time.perf_counter() - started,
                )
            refuse_dangerous_output(options.output, options.site_dir)
            images, image_warnings = self.images.run(model, self.state, options.output)
            plan = plan_site(model.articles, model.config, self.state.more_on, self._committed and self._committed.plan,
                             images and images.shown)
        statics = collect_static(options.site_dir)
        renderer, fingerprints = self._renderer(model, plan, statics)
        from .render import render_pages  # loaded by _renderer: Jinja only for a build that renders
        state = self.state
        out = options.output
        if state.output_dir != str(out):
            state.reset_outputs()  # the remembered pages describe another folder
        # Orphans are found by listing the output, not from the saved state: a state older
        # than the output (a crash before it was saved) must not leave files behind. Only
        # this Builder's own last commit, remembered in memory, is known to be current.
        # The saved record speaks only for an output from before manifests (SiteWriter).
        recorded = self.last.outputs if self.last is not None and self.last.output_dir == str(out) else None
        # The preview (CacheMode.READ) builds into a temporary folder of its own: no need to force its journal to disk.
        durable = self.cache is not CacheMode.READ
        writer = SiteWriter(out, recorded if self._last_is_ours else None, recorded or frozenset(), durable)
        search = None
        try:
            scratch = writer.staging / SCRATCH  # never committed: the writer moves named files only
            # Pagefind indexes while the pages render: refilling() starts shards as others finish.
            search = SearchIndex(
                plan, model.config, model.digests, state, out, scratch, defer, self._committed and self._committed.shards
            )
            new_pages, rendered, _later_pages = render_pages(  # those left stale are `pending` too
                writer, plan, renderer, fingerprints, state, out, not defer, search.refilling(self._stage("Rendering pages")),
                pages_first=defer, edited=self._edited(model) if defer else None,
            )
            _write_static(writer, plan, statics)
            self.images.write(writer, images, state, new_pages, out)
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
        self._committed = _Committed(
            model, plan, fingerprints.memo(), search.shards, renderer, (images, image_warnings)
        )
        self.pending = defer or scan.partial  # a partial scan: the next build looks at every file
        report = BuildReport(
            articles=len(model.articles),
            files=model.files,
            pages=len(plan.pages),
            rendered=rendered,
            problems=list(model.problems) + image_warnings,
            notes=_notes(model.config) + ([ignored_note(options.site_dir)] if self._ignored else []),
            write=result,
        )
        self._ignored.clear()
        # The note about a foreign cache is said once, not replayed by builds with nothing to do.
        due = min(filter(None, (model.next_change, images and images.due)), default=None)  # a build then redoes it
        self.last = LastBuild.of(replace(report, notes=_notes(model.config)), inputs, due, out, writer.produced)
        self._last_is_ours = True
        if result.changed or rendered or self.reader.changed:
            self._save()
        elif self.cache is CacheMode.READ_WRITE:
            save_last_build(options.site_dir, self.last)
        report.seconds = time.perf_counter() - started
        return report

    def _edited(self, model: Model) -> set[str] | None:
        """The stories whose files changed since this Builder's last commit."""
        if self._committed is None:
            return None
        if self._edits is not None and self._edits[0] is self._committed.model and self._edits[1] is model:
            return self._edits[2]  # patched from the model committed: no need to compare 10,000 digests
        return {source for source, _ in model.digests.items() - self._committed.model.digests.items()}

    @property
    def plan(self) -> SitePlan | None:
        """The plan of this Builder's last commit."""
        return self._committed.plan if self._committed is not None else None

    def _renderer(self, model: Model, plan: SitePlan, statics: dict[str, bytes]) -> tuple[Renderer, Fingerprinter]:
        """The Jinja renderer, and the page fingerprints that decide what it must render."""
        from .render import Renderer  # Jinja loads only for a build with pages to plan

        options = self.options
        templates = [options.site_dir / "templates", default_theme_dir() / "templates"]
        asset_versions = {rel: hashlib.sha256(data).hexdigest()[:10] for rel, data in statics.items()}
        build_options = {"drafts": options.drafts, "future": options.future}
        # The topics, not their counts: only /topics/ shows a count, and it is in that
        # page's context. With the counts, publishing one story re-rendered every page.
        site_wide = site_wide_fingerprint(
            FORMAT, __version__, model.config, build_options, asset_versions,
            plan.nav_topics, tuple(ref for ref, _ in plan.topics), plan.feeds, shard_count(len(plan.entries), model.config), template_bytes(templates),
        )
        last = self._committed.renderer if self._committed is not None else None
        if last is not None and last.site_wide == site_wide:
            renderer = last.for_plan(plan)
        else:
            renderer = Renderer(
                model.config, plan, templates, asset_versions, build_options, self._bytecode_cache(),
                last and last.memo(), site_wide,
            )
        return renderer, Fingerprinter(model.digests, site_wide, self._committed and self._committed.fingerprints)

    def _unchanged_since_last_build(self, inputs: Inputs) -> BuildReport | None:
        """Lektor's "a second build builds nothing", in milliseconds: when no input file,
        setting or scheduled story changed since the last build and its output is all
        there, that build's report stands and nothing is read, planned or rendered."""
        if self.cache is CacheMode.OFF or self.pending or self.images.changed:
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
        # A background fetch that brought images (the preview) changes the plan, though no input changed.
        if self.pending and not self.images.changed and self._last_is_ours and self._last_build_is_current(inputs):
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
        if self.cache in (CacheMode.OFF, CacheMode.READ_ONLY) or (key := user_key()) is None:
            return None
        folder = make_cache_folder(self.options.site_dir, "templates")
        if folder is None:
            return None  # a link, or not writable: never written through
        from .render import SignedBytecodeCache

        cache = SignedBytecodeCache(folder, key)
        if cache.foreign:
            self._ignored.add("templates/")
        return cache

    def _save(self) -> None:
        if self.cache is CacheMode.READ_WRITE and self.state is not None:
            save_state(self.options.site_dir, self.state, self.reader.changed)
            self.reader.changed = set()
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
    shards: dict[str, tuple[tuple, str]]  # SearchIndex.shards
    renderer: Renderer  # kept for the next build while the site-wide part is the same (Renderer.for_plan)
    images: tuple  # (images.Prepared or None, its warnings)


@contextlib.contextmanager
def gc_paused():
    """A build makes millions of objects and no garbage cycles worth chasing: left on, the
    cyclic collector scans the whole model again and again (docs/performance.md, "Garbage
    collector off"). It is back on, as it was, once the build is done."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_model(options: BuildOptions) -> Model:
    """READ + MODEL without touching the cache (for tools that only want the articles)."""
    return Builder(options, cache=CacheMode.OFF).load_model()


def check(options: BuildOptions) -> BuildReport:
    return Builder(options).check()


def build(options: BuildOptions, progress=None) -> BuildReport:
    return Builder(options, progress=progress).build()


def _write_static(writer: SiteWriter, plan: SitePlan, statics: dict[str, bytes]) -> None:
    page_outputs = {page.output for page in plan.pages}
    for rel, data in statics.items():
        if rel in page_outputs:
            raise ConfigError(f"static/{rel} would overwrite a generated page; rename or remove it")
        writer.add(rel, data)


def _notes(config: SiteConfig) -> list[str]:
    if config.base_url:
        return []
    return [
        "no base_url set, so feed.xml and feed.json use site-relative links, and there is no "
        "sitemap.xml, canonical link or og:url; add base_url = \"https://example.com/\" to "
        "site.toml (or pass --base-url) for absolute URLs"
    ]

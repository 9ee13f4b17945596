"""ORCHESTRATE: read -> model -> plan -> render -> write. `build`, `check` (and later
`serve`, `deploy`) all go through here: there is one way to make the site."""

from __future__ import annotations

import hashlib
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from .config import ConfigError, SiteConfig, load_config
from .content import find_article_files, is_ignored_name, read_article
from .linkcheck import check_links
from .models import Article, Problem
from .render import Renderer
from .routes import SitePlan, plan_site
from .theme import default_theme_dir
from .topics import drop_duplicate_urls, meets_quality, newest_first, select_published
from .writer import SiteWriter, WriteResult

OUTPUT_DIR = "_site"


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
            parts.append(f"{len(self.write.written)} written, {len(self.write.removed)} removed")
        parts.append(_plural(len(self.errors), "error"))
        if self.warnings:
            parts.append(_plural(len(self.warnings), "warning"))
        return ", ".join(parts) + f" in {self.seconds:.2f} s"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class Model:
    config: SiteConfig
    articles: tuple[Article, ...]  # to publish, newest first
    files: int
    problems: tuple[Problem, ...]
    now: datetime  # the build time: what is "future", and the age of a trending story


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


def load_model(options: BuildOptions) -> Model:
    """READ + MODEL: every article file, validated; the ones to publish, ordered."""
    site_dir = options.site_dir
    if not site_dir.is_dir():
        raise ConfigError(f"{site_dir}: no such folder")
    config = load_config(site_dir, options.base_url)
    content_dir = content_folder(site_dir)
    problems: list[Problem] = []
    read = []
    files = find_article_files(content_dir)
    for path in files:
        result = read_article(path, str(path.relative_to(site_dir)), config.tz)
        problems.extend(result.problems)
        if result.article is not None:
            read.append(result.article)
    unique, duplicates = drop_duplicate_urls(read)
    problems.extend(duplicates)
    now = options.now or datetime.now(timezone.utc)
    selected = select_published(unique, now, options.drafts, options.future)
    published = newest_first(meets_quality(selected, config.min_quality))
    return Model(config, tuple(published), len(files), tuple(problems), now)


def check(options: BuildOptions) -> BuildReport:
    """Validate everything a build would, and every internal link of the result: the
    site is built (the same build) into a temporary folder, so nothing is written."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="site-builder-check-") as temp:
        out = Path(temp) / OUTPUT_DIR
        report = build(replace(options, out_dir=out))
        config = load_config(options.site_dir, options.base_url)
        report.problems += [
            Problem(f"{OUTPUT_DIR}/{bad.source}", f"link {bad.url} {bad.reason}")
            for bad in check_links(out, config.base_url or config.base_path)
        ]
    report.write = None
    report.notes = []
    report.seconds = time.perf_counter() - started
    return report


def build(options: BuildOptions) -> BuildReport:
    started = time.perf_counter()
    model = load_model(options)
    _refuse_dangerous_output(options)
    plan = plan_site(model.articles, model.config, model.now)
    statics = collect_static(options.site_dir)
    renderer = Renderer(
        model.config,
        plan,
        [options.site_dir / "templates", default_theme_dir() / "templates"],
        {rel: hashlib.sha256(data).hexdigest()[:10] for rel, data in statics.items()},
        {"drafts": options.drafts, "future": options.future},
    )
    writer = SiteWriter(options.output)
    try:
        write_site(writer, plan, renderer, statics)
        result = writer.commit()
    except BaseException:
        writer.abort()  # the previous site stays as it was
        raise
    return BuildReport(
        articles=len(model.articles),
        files=model.files,
        pages=len(plan.pages),
        problems=list(model.problems),
        notes=_notes(model.config),
        write=result,
        seconds=time.perf_counter() - started,
    )


def _notes(config: SiteConfig) -> list[str]:
    if config.base_url:
        return []
    return [
        "no base_url set, so feed.xml and feed.json use site-relative links, and there is no "
        "sitemap.xml, canonical link or og:url; add base_url = \"https://example.com/\" to "
        "site.toml (or pass --base-url) for absolute URLs"
    ]


def write_site(writer: SiteWriter, plan: SitePlan, renderer: Renderer, statics: dict[str, bytes]) -> None:
    page_outputs = {page.output for page in plan.pages}
    for rel in statics:
        if rel in page_outputs:
            raise ConfigError(f"static/{rel} would overwrite a generated page; rename or remove it")
    for page in plan.pages:
        writer.add(page.output, renderer.render(page).encode("utf-8"))
    for rel, data in statics.items():
        writer.add(rel, data)


def collect_static(site_dir: Path) -> dict[str, bytes]:
    """The theme's static files, then the site's own over them (same path wins)."""
    files: dict[str, bytes] = {}
    for root in (default_theme_dir() / "static", site_dir / "static"):
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if path.is_file() and not any(is_ignored_name(part) for part in rel.parts):
                files[rel.as_posix()] = path.read_bytes()
    return dict(sorted(files.items()))


def _refuse_dangerous_output(options: BuildOptions) -> None:
    """The output folder is replaced whole; never let that be the site or a parent of it."""
    out = options.output
    site = options.site_dir.resolve()
    if out == site or out in site.parents or out == Path.home() or out == Path(out.anchor):
        raise ConfigError(f"refusing to use {out} as the output folder: it holds the site itself")
    for name in ("content", "templates", "static"):
        if out == site / name or (site / name) in out.parents:
            raise ConfigError(f"refusing to write the site into {name}/: choose another output folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "index.html").is_file():
        raise ConfigError(
            f"{out} already holds files that are not a built site (no index.html); "
            f"a build replaces the whole folder, so empty it or choose another with -o"
        )

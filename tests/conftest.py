"""Shared fixtures: sites defined inline, builds run through the real CLI, pages read
back the way a microformats client reads them (mf2py), never by grepping markup."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import mf2py
import pytest

from site_builder.cli import main as cli_main
from site_builder.writer import MANIFEST

ORIGIN = "https://news.example/"  # pages are read as if served here
REPO = Path(__file__).resolve().parent.parent
EXAMPLE_RECORD = Path(__file__).parent / "fixtures" / "real_record.txt"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Tests leave the checkout as they found it: Hypothesis keeps its example database and
# caches outside it (a developer may point it elsewhere).
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "site-builder-hypothesis"))


def article(
    title="A story",
    url="https://example.com/story",
    date="2024-05-14T09:30:00Z",
    topics=("AI",),
    body="",
    **fields,
) -> str:
    """An article file's text; extra fields are YAML lines given as keyword=value text."""
    lines = ["---", f"title: {_q(title)}", f"webUrl: {_q(url)}", f"publishedDateTime: {_q(date)}"]
    if topics is not None:
        lines.append("topics:")
        lines += [f"  - {_q(t)}" for t in topics]
    for key, value in fields.items():
        lines.append(f"{key}: {value}")
    lines.append("---")
    return "\n".join(lines) + "\n" + textwrap.dedent(body)


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_site(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    (root / "content").mkdir(exist_ok=True)
    return root


@pytest.fixture(autouse=True)
def _cache_key_of_the_tests(tmp_path_factory, monkeypatch):
    """Builds sign their cache with a key under XDG_CACHE_HOME: never the user's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def run(capsys):
    """Run the site-builder CLI in-process, as a user would type it."""

    def _run(*args: str) -> Run:
        capsys.readouterr()
        code = cli_main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return _run


class BuiltSite:
    """A built output folder, read as a client would read it over HTTP."""

    def __init__(self, out: Path, base_path: str = "/"):
        self.out = out
        self.base_path = base_path

    def file_for(self, url: str) -> Path:
        path = urlsplit(urljoin(ORIGIN, url)).path
        assert path.startswith(self.base_path), f"{url} escapes the base path {self.base_path}"
        rel = path[len(self.base_path):]
        target = self.out / rel
        return target / "index.html" if rel.endswith("/") or not rel else target

    def exists(self, url: str) -> bool:
        return self.file_for(url).is_file()

    def html(self, url: str) -> str:
        return self.file_for(url).read_text(encoding="utf-8")

    def mf2(self, url: str) -> dict:
        return mf2py.parse(doc=self.html(url), url=urljoin(ORIGIN, url))

    def entries(self, url: str) -> list[dict]:
        """Every h-entry of the page's listing (its first h-feed) when it has one, else
        every h-entry on the page; nested ones included, in document order."""
        items = self.mf2(url)["items"]
        feeds = [item for item in items if "h-feed" in item.get("type", [])]
        return _entries_in(feeds[0].get("children", []) if feeds else items)

    def feed(self, url: str, name: str) -> list[dict] | None:
        """The h-entries of the page's h-feed named `name` (a home strip: "Trending"),
        or None when the page has no such feed."""
        for item in self.mf2(url)["items"]:
            if "h-feed" in item.get("type", []) and text_of(prop(item, "name", "")) == name:
                return _entries_in(item.get("children", []))
        return None

    def follow(self, url: str) -> list[str]:
        """The URL and every page reached through rel=next."""
        urls = [urljoin(ORIGIN, url)]
        while True:
            rels = self.mf2(urls[-1])["rels"]
            if "next" not in rels:
                return urls
            assert len(rels["next"]) == 1
            urls.append(rels["next"][0])
            assert len(urls) < 10_000

    def all_files(self) -> list[Path]:
        return sorted(p for p in self.out.rglob("*") if p.is_file())


def _entries_in(items: list[dict]) -> list[dict]:
    found = []

    def walk(items):
        for item in items:
            if "h-entry" in item.get("type", []):
                found.append(item)
            walk(item.get("children", []))

    walk(items)
    return found


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every file below folder by its posix path: two outputs compared byte for byte. The
    manifest's list of files as sorted: the preview's folder (CacheMode.READ) has it in no
    order (writer.SiteWriter's durable)."""
    tree = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    if MANIFEST in tree:
        listing = json.loads(tree[MANIFEST])
        tree[MANIFEST] = json.dumps({**listing, "files": sorted(listing["files"])}).encode()
    return tree


def secured_tokens(*files: Path) -> list[str]:
    """The `secured` value of each article file, read from its front matter as YAML: the
    opaque token that must never be published."""
    from site_builder.yamlfm import split_and_parse

    return [split_and_parse(path.read_text(encoding="utf-8")).data["secured"] for path in files]


def prop(item: dict, name: str, default=None):
    values = item["properties"].get(name)
    return values[0] if values else default


def text_of(value) -> str:
    return value["value"] if isinstance(value, dict) else value


def url(path: str) -> str:
    return urljoin(ORIGIN, path)


PINNED_NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


def pytest_addoption(parser):
    parser.addoption(
        "--regen-golden", action="store_true", help="rewrite tests/golden/expected from the current build"
    )


@pytest.fixture(scope="session", autouse=True)
def checkout_left_as_found(request):
    """Tests build in temporary folders: a run leaves the checkout's `git status --ignored`
    as it found it (but for the bytecode Python writes), or the last test errors."""
    before = _checkout_status()
    yield
    if before is None or request.config.getoption("--regen-golden"):  # no git checkout; asked to write
        return
    after = _checkout_status()
    assert after == before, "the test run changed the checkout:\n" + "\n".join(
        [f"  new: {line}" for line in sorted(after - before)] + [f"  gone: {line}" for line in sorted(before - after)]
    )


def _checkout_status() -> set[str] | None:
    """`git status --ignored --porcelain` of the checkout, without __pycache__/ folders and the
    .venv/ the README's quick start may live in; None outside a git checkout."""
    def git(*args):
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)

    try:
        top = git("rev-parse", "--show-toplevel")
    except FileNotFoundError:
        return None
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != REPO:
        return None
    lines = git("status", "--ignored", "--porcelain").stdout.splitlines()
    return {line for line in lines if "__pycache__/" not in line and not line[3:].startswith(".venv/")}


# --- Preview (serve / build --watch) helpers ---------------------------------------------


def wait_until(condition, timeout: float = 20.0, what: str = "the condition"):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds.
    The one place tests wait: on a condition, with a bound, never a fixed sleep."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def atomic_save(path: Path, text: str) -> None:
    """Save as editors do: write a temporary file beside, then rename it over the old one."""
    temp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


@pytest.fixture
def start_preview():
    """Start `serve`'s Preview in-process on an ephemeral port; stopped after the test."""
    from site_builder.builder import BuildOptions
    from site_builder.server import Preview

    started = []

    def _start(site: Path, **options):
        preview = Preview(BuildOptions(site, now=options.pop("now", PINNED_NOW)), port=0, **options)
        started.append(preview)
        preview.start()
        return preview

    yield _start
    for preview in started:
        preview.stop()


# --- Real browser (Debian's Chromium through Playwright) ----------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Screenshots for review, kept outside the checkout (CI may point this at a folder it keeps).
ARTIFACTS = Path(
    os.environ.get("SITE_BUILDER_TEST_ARTIFACTS") or Path(tempfile.gettempdir()) / "site-builder-test-artifacts"
)


def need(reason: str):
    """A missing browser dependency: skip on a developer's machine, fail in CI."""
    (pytest.fail if IN_CI else pytest.skip)(reason)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module; tests open their own pages or contexts."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("playwright is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists():
        need("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def axe():
    """axe-core (bundled by axe-playwright-python: no network) for accessibility checks."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        need("axe-playwright-python is not installed (pip install -e '.[test]')")
    return Axe()

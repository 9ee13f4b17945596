"""The reader's side, proven in a real browser (Debian's Chromium through Playwright) on a
500-article site served under a base path: every page kind at phone and desktop widths
without sideways scrolling or console errors, axe-core clean in light and dark mode, the
site without JavaScript, the keyboard path from the skip link, relative times, image
placeholders, and search as you type (Pagefind) finding an old headline.
Screenshots go to site-builder-test-artifacts/ in the temp folder. Skipped locally without Chromium; fails in CI."""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import threading
from pathlib import Path

import pytest
from conftest import ARTIFACTS, PINNED_NOW, make_site, secured_tokens
from corpus import generate

from site_builder import search
from site_builder.builder import BuildOptions, build, load_model
from site_builder.routes import plan_site
from site_builder.server import LiveState, bind_server

BASE = "/newsroom/"
WIDTHS = (320, 375, 768, 1280, 1440)  # sideways scrolling is checked at all of these
AXE_WIDTHS = (375, 1280)  # the full checks (axe, screenshots) at a phone and a desktop


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A 500-article site from the shared corpus, built once for the module."""
    root = tmp_path_factory.mktemp("reader")
    generate(500, 8, root / "content")
    (root / "site.toml").write_text(f'title = "Reader Test"\nbase_url = "https://example.org{BASE}"\n')
    options = BuildOptions(root, now=PINNED_NOW)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search, "SHARD_SIZE", 100)  # a sharded index, as large sites get
        report = build(options)
    assert not report.errors
    model = load_model(options)
    return root, plan_site(model.articles, model.config)


@contextlib.contextmanager
def served(output: Path):
    """A built site served as GitHub Pages serves it, under the base path: its origin."""
    state = LiveState()
    state.publish(output, BASE, [])
    server = bind_server("127.0.0.1", 0, state, live_reload=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def origin(site):
    with served(site[0] / "_site") as url:
        yield url


def page_kinds(plan) -> dict[str, str]:
    """One page of every kind a reader lands on, by path under the base path."""
    entry = next(e for e in plan.entries if e.article.image and e.article.body_html and e.article.related)
    source = entry.source
    return {
        "home": "",
        "topic": plan.nav_topics[0].path.lstrip("/"),
        "article": entry.path.lstrip("/"),
        "provider": source.path.lstrip("/"),
        "search": "search/?q=" + entry.article.title.split()[0],
    }


class Watched:
    """A page with its console errors, page errors and off-site requests recorded."""

    def __init__(self, context, origin: str):
        self.page = context.new_page()
        self.errors: list[str] = []
        self.offsite: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

        def route(r):
            # No network in tests: remote story images fail (the placeholder shows); any
            # other request off the site (fonts, trackers) is recorded as a failure.
            if not r.request.url.startswith(origin):
                if r.request.resource_type != "image":
                    self.offsite.append(r.request.url)
                return r.abort()
            return r.continue_()

        self.page.route("**/*", route)

    def open(self, url: str):
        self.page.goto(url, wait_until="load")
        return self.page

    def console_errors(self) -> list[str]:
        # Remote images are refused on purpose (see route), which Chromium logs as errors.
        return [e for e in self.errors if "net::ERR_FAILED" not in e]


def sideways_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_kind_fits_reads_and_passes_axe(site, origin, browser, axe, scheme):
    _, plan = site
    ARTIFACTS.mkdir(exist_ok=True)
    problems = []
    for width in WIDTHS if scheme == "light" else AXE_WIDTHS:  # dark mode changes no layout
        context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
        for kind, path in page_kinds(plan).items():
            watched = Watched(context, origin)
            page = watched.open(origin + BASE + path)
            if kind == "search":
                page.locator(".search-results__item").first.wait_for()
            if sideways_overflow(page) > 0:
                problems.append(f"{kind} at {width}px scrolls sideways by {sideways_overflow(page)}px")
            assert page.locator("h1").count() == 1, f"{kind}: one h1"
            if width in AXE_WIDTHS:
                results = axe.run(page)
                for violation in results.response["violations"]:
                    if violation["impact"] in ("serious", "critical"):
                        nodes = [n["target"] for n in violation["nodes"]][:3]
                        problems.append(f"{kind} {width}px {scheme}: {violation['id']}: {violation['help']} {nodes}")
                page.screenshot(path=str(ARTIFACTS / f"reader-{kind}-{width}-{scheme}.png"), full_page=width < 1000)
            problems += [f"{kind} {width}px: console: {e}" for e in watched.console_errors()]
            problems += [f"{kind} {width}px: off-site request {u}" for u in watched.offsite]
            watched.page.close()
        context.close()
    assert problems == [], "\n".join(problems)


def test_search_index_is_built_from_the_published_stories_only(site):
    root, plan = site
    bundle = root / "_site" / "pagefind"
    assert (bundle / "pagefind.js").is_file()
    assert len(list(bundle.glob("shard-*/pagefind-entry.json"))) == 7  # 8 shards of ~60
    raw = [gzip.decompress(p.read_bytes()) for p in bundle.rglob("fragment/*")]
    fragments = b"".join(raw)
    # Each fragment is one story's record as the browser reads it: "pagefind_dcd" + JSON.
    records = [json.loads(data.removeprefix(b"pagefind_dcd")) for data in raw]
    assert len(records) == len(plan.entries) > 400
    links = {record["meta"]["title"]: record["meta"]["href"] for record in records}
    oldest = plan.entries[-1]
    assert links[oldest.article.title] == BASE + oldest.path.lstrip("/")  # found, at its link
    secured = [token.encode() for token in secured_tokens(*(root / "content").iterdir())]
    assert len(secured) == 500
    for token in secured:
        assert token not in fragments and token.split(b";")[0][:40] not in fragments
    drafts = [p for p in (root / "content").iterdir() if "\npublished: false" in p.read_text()]
    assert drafts, "the corpus has drafts"
    published = {e.article.source for e in plan.entries}
    assert not any(str(p.relative_to(root)) in published for p in drafts)


def test_without_javascript_everything_but_search_and_relative_times_works(site, origin, browser):
    _, plan = site
    context = browser.new_context(java_script_enabled=False, viewport={"width": 375, "height": 800})
    watched = Watched(context, origin)
    page = watched.open(origin + BASE)
    first = plan.entries[0]
    assert page.locator(".h-feed").first.locator(".h-entry").count() == 20  # the listing; strips follow it
    time = page.locator(".h-entry time").first
    assert time.get_attribute("title") is None  # reader.js, which adds the tooltip, did not run
    assert any(ch.isdigit() for ch in time.inner_text()) and "ago" not in time.inner_text()  # the absolute date
    page.locator(".h-entry > .p-name a").first.click()
    page.wait_for_url("**" + first.path)
    assert page.locator("h1").inner_text() == first.article.title
    page.locator(".chip").first.click()  # topic pages
    page.wait_for_url("**/topics/**")  # count() does not wait for the page it counts in
    assert page.locator(".h-entry").count() > 0
    page.locator(".search-link").click()  # on a phone, the header's link to the search page
    page.wait_for_url("**/search/")
    page.fill("#search-q", "quantum")  # whose form still leads to its results without JavaScript
    page.press("#search-q", "Enter")
    page.wait_for_url("**/search/?q=quantum")
    assert "needs JavaScript" in page.locator("main").inner_text()
    assert sideways_overflow(page) <= 0
    assert watched.console_errors() == [] and watched.offsite == []
    context.close()


def test_keyboard_path_from_the_skip_link(site, origin, browser):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = Watched(context, origin).open(origin + BASE)
    page.keyboard.press("Tab")
    focused = page.evaluate("() => [document.activeElement.className, document.activeElement.textContent]")
    assert focused == ["skip-link", "Skip to content"]
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    box = page.locator(".skip-link").bounding_box()
    assert outline != "none" and box["y"] >= 0  # visible when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is the first story, not the header again
    assert page.evaluate("document.activeElement.closest('main') !== null")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reader-keyboard-focus.png"))
    context.close()


def test_search_as_you_type_finds_an_old_headline(site, origin, browser):
    root, plan = site
    # The oldest story outside the main bundle, far from any listing page a reader would
    # see: found only if the shard it is in was merged (with no script or WASM of its own).
    count = 1 + len(list((root / "_site/pagefind").glob("shard-*/")))
    old = next(e for e in reversed(plan.entries) if search.shard_of(e, count) != 0)
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # a phone's header links to /search/ instead
    watched = Watched(context, origin)
    page = watched.open(origin + BASE + plan.entries[0].path.lstrip("/"))  # any page
    box = page.locator("#site-search-q")
    box.click()
    box.fill(old.article.title[:-1])  # the headline but its last character, pasted...
    page.keyboard.type(old.article.title[-1])  # ...and one keystroke
    results = page.locator(".search-results__link")
    wanted = results.filter(has_text=old.article.title).first
    wanted.wait_for(timeout=5000)
    assert wanted.get_attribute("href") == BASE + old.path.lstrip("/")
    shown = page.locator(".search-results li", has=wanted).first  # its source and date came with the index
    assert shown.locator("time").get_attribute("datetime") == old.article.published.isoformat()
    assert old.source.name in shown.inner_text()  # the fixture's oldest story has a source
    timings = [float(page.locator(".search-results").first.get_attribute("data-query-ms"))]
    page.screenshot(path=str(ARTIFACTS / "reader-search-popup-1280.png"))
    # Keyboard: down into the results, up back to the box, Enter on a result opens it.
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.className") == "search-results__link"
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.id") == "site-search-q"
    while page.evaluate("document.activeElement.textContent") != old.article.title:
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url("**" + old.path)
    # The search page reads ?q= and shows the same story; time a few more queries there.
    page.goto(origin + BASE + "search/?q=" + old.article.title)
    page.locator(".search-results__link", has_text=old.article.title).first.wait_for()
    for word in ("quantum", "Tesla", "privacy", "cloud"):
        page.fill("#search-q", word)
        # Functions, not strings: the page's CSP forbids eval, which a string would need.
        page.wait_for_function("(w) => document.querySelector('.search-results').dataset.query === w", arg=word)
        timings.append(float(page.locator(".search-results").get_attribute("data-query-ms")))
    print(f"search query times on {len(plan.entries)} stories (the first loads the index): {timings} ms")
    assert watched.console_errors() == [] and watched.offsite == []
    context.close()


def test_keys_typed_while_a_search_runs_are_searched_together_when_it_ends(site, origin, browser):
    """Pagefind answers searches in turn, so a search per key queues them up: on 90,000
    stories, results came 14.6 s after the last key. Keys typed while a search runs are
    searched in one go when it ends, and only the box's last text is shown."""
    _, plan = site
    context = browser.new_context()
    # Every message to Pagefind's worker waits 0.3 s, as a search does on a large site.
    context.add_init_script("""const post = Worker.prototype.postMessage;
        Worker.prototype.postMessage = function (...args) { setTimeout(() => post.apply(this, args), 300); };""")
    watched = Watched(context, origin)
    page = watched.open(origin + BASE + "search/")
    title = plan.entries[3].article.title
    page.locator("#search-q").type(title)  # key after key, none waiting for results
    page.locator(".search-results__link", has_text=title).first.wait_for(timeout=10_000)
    panel = page.locator(".search-results")
    assert panel.get_attribute("data-query") == title
    assert int(panel.get_attribute("data-searches")) <= 3 < len(title)
    assert watched.console_errors() == []
    context.close()


def test_relative_times_images_and_no_layout_shift(site, origin, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watched = Watched(context, origin)
    page = watched.page
    page.add_init_script("""window.__shift = 0; new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shift += entry.value;
    }).observe({type: "layout-shift", buffered: true});""")
    watched.open(origin + BASE)
    time = page.locator(".h-entry time").first
    page.wait_for_function("() => document.querySelector('.h-entry time').textContent.includes('ago')")
    assert time.get_attribute("title")[0].isdigit()  # the absolute date, as the tooltip
    assert time.get_attribute("datetime")[:2] == "20"  # the machine-readable date is untouched
    # Remote images cannot load here: their boxes keep their size and show the placeholder.
    page.wait_for_function("() => document.querySelectorAll('.lead__media--failed').length > 0")
    media = page.locator(".lead__media").first
    box, ratio = media.bounding_box(), media.evaluate("(e) => getComputedStyle(e).aspectRatio")  # e.g. "2 / 1"
    wide, high = map(float, ratio.split("/"))
    assert abs(box["width"] / box["height"] - wide / high) < 0.02
    page.mouse.wheel(0, 3000)
    # Every image below has settled (loaded or shown as failed) before shifts are counted.
    page.wait_for_function("""() => [...document.querySelectorAll('.lead__media img')].every(
        (img) => img.complete || img.closest('.lead__media--failed'))""")
    assert page.evaluate("window.__shift") < 0.01
    assert watched.console_errors() == []
    context.close()


def test_css_and_js_per_page_stay_small(site):
    root, _ = site
    out = root / "_site"
    html = (out / "index.html").read_text()
    assets = [out / "assets" / name for name in ("site.css", "reader.js", "search.js")]
    assert all(f"assets/{a.name}?v=" in html for a in assets)
    raw = sum(len(a.read_bytes()) for a in assets)
    zipped = sum(len(gzip.compress(a.read_bytes(), 9)) for a in assets)
    print(f"CSS + JS per page: {raw} bytes, {zipped} gzipped")
    assert zipped < 8_000


def test_search_that_could_not_load_says_so_and_the_next_key_tries_again(site, origin, browser):
    """A dropped request for Pagefind's bundle is not an empty site: the box says to check
    the connection, and the next keystroke loads it."""
    _, plan = site
    context = browser.new_context()
    watched = Watched(context, origin)
    page = watched.page
    offline = True
    # Every load of the bundle while offline: a retry asks for it under another URL
    # (pagefind.js?retry=N), which a pattern of the bare name would let through, so the
    # test's outcome would hang on which load failed first.
    bundle = re.compile(r".*/pagefind/pagefind\.js(\?.*)?$")
    page.route(bundle, lambda route: route.abort() if offline else route.fallback())
    watched.open(origin + BASE + "search/")
    page.fill("#search-q", "chip")
    page.get_by_text("Search could not be loaded").first.wait_for()
    offline = False
    title = plan.entries[0].article.title
    page.fill("#search-q", title)
    page.locator(".search-results__link", has_text=title).first.wait_for()
    assert page.locator(".search-results").get_attribute("data-query") == title
    assert watched.console_errors() == []
    context.close()


def test_search_on_a_site_with_no_stories_says_so_without_a_page_error(tmp_path, browser):
    """An empty site has no index to fetch: focusing the box must not leave an uncaught
    error, and typing says why there are no results."""
    root = make_site(tmp_path / "empty", {"site.toml": f'base_url = "https://example.org{BASE}"\n'})
    (root / "content").mkdir(exist_ok=True)
    assert not build(BuildOptions(root, now=PINNED_NOW)).errors
    with served(root / "_site") as origin:
        context = browser.new_context()
        watched = Watched(context, origin)
        page = watched.open(origin + BASE)
        with page.expect_response(lambda response: response.url.endswith("/pagefind/pagefind.js")) as fetched:
            page.locator("#site-search-q").focus()  # focus alone starts loading the index
        assert fetched.value.status == 404
        page.keyboard.type("chip")
        page.get_by_text("Search is not available yet").first.wait_for()  # the failed load was handled
        # The missing bundle is a 404 the browser logs; nothing may be left uncaught.
        assert [e for e in watched.errors if "Failed to load resource" not in e] == []
        context.close()

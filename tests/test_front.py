"""The front page as a reader meets it, in a real browser (Debian's Chromium through
Playwright) on a 400-story site served under a base path: headlines first at phone,
tablet and desktop widths, a phone header that yields to the news, no sideways scroll,
images only where a story has one (never an empty box), and clusters shown under the
leading stories. Remote images are answered with a real JPEG, so a box without a loaded
picture is a bug, not the network. Axe in light and dark: tests/test_reader.py.
Skipped locally without Chromium; fails in CI."""

from __future__ import annotations

import contextlib
import io
import threading

import pytest
from conftest import ARTIFACTS, PINNED_NOW
from corpus import generate

from site_builder.builder import BuildOptions, build, load_model
from site_builder.routes import LEADING, plan_site
from site_builder.server import LiveState, bind_server

BASE = "/desk/"
# The tops of the main listing's headlines (the strips after it are other h-feeds): each
# story's p-name, not its source's (an h-card) or a cluster link's (an h-cite).
TOPS = """[...document.querySelector('main .h-feed').querySelectorAll('.h-entry .p-name')]
    .filter((e) => !e.closest('.h-card, .h-cite')).map((e) => e.getBoundingClientRect().top)"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("front")
    generate(400, 8, root / "content")
    (root / "site.toml").write_text(f'title = "Front Test"\nbase_url = "https://example.org{BASE}"\n')
    options = BuildOptions(root, now=PINNED_NOW)
    assert not build(options).errors
    model = load_model(options)
    return root, plan_site(model.articles, model.config)


@pytest.fixture(scope="module")
def origin(site):
    state = LiveState()
    state.publish(site[0] / "_site", BASE, [])
    server = bind_server("127.0.0.1", 0, state, live_reload=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 180), (40, 120, 90)).save(out, "JPEG")
    return out.getvalue()


@contextlib.contextmanager
def opened(browser, origin: str, jpeg: bytes, width: int, height: int = 900, **options):
    """A page in a fresh context: the site's own requests served, remote images answered
    with a JPEG, anything else refused."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)

    def route(r):
        if r.request.url.startswith(origin):
            return r.continue_()
        if r.request.resource_type == "image":
            return r.fulfill(status=200, content_type="image/jpeg", body=jpeg)
        return r.abort()

    context.route("**/*", route)
    try:
        yield context.new_page()
    finally:
        context.close()


def listings(plan) -> dict[str, str]:
    """The home page and the busiest topic's page, by path under the base path."""
    return {"home": "", "topic": plan.nav_topics[0].path.lstrip("/")}


@pytest.mark.parametrize(("width", "height", "fold_at_least", "first_within"), [
    (375, 800, 2, 140),  # a phone: the first headline within 140 px of the top
    (768, 1024, 5, 200),
    (1280, 900, 8, None),  # a laptop: at least 8 headlines above the fold
])
def test_headlines_come_first(site, origin, browser, jpeg, width, height, fold_at_least, first_within):
    _, plan = site
    ARTIFACTS.mkdir(exist_ok=True)
    for kind, path in listings(plan).items():
        with opened(browser, origin, jpeg, width, height) as page:
            page.goto(origin + BASE + path, wait_until="load")
            tops = page.evaluate(TOPS)
            above = sum(1 for top in tops if top < height)
            page.screenshot(path=str(ARTIFACTS / f"front-{kind}-{width}.png"))
            print(f"{kind} at {width}x{height}: first headline at {tops[0]:.0f} px, {above} above the fold")
            assert above >= fold_at_least, f"{kind} at {width}px: {above} headlines above the fold"
            if first_within is not None:
                assert tops[0] <= first_within, f"{kind} at {width}px: first headline at {tops[0]} px"


def test_no_sideways_scroll_from_320_to_1440(site, origin, browser, jpeg):
    _, plan = site
    story = next(e for e in plan.entries if e.source is not None and e.source.path and e.article.image)
    paths = {
        **listings(plan), "home page 2": "page/2/", "story": story.path.lstrip("/"),
        "source": story.source.path.lstrip("/"), "month": "archive/" + story.article.published.strftime("%Y/%m/"),
    }
    problems = []
    for width in (320, 360, 375, 414, 768, 1024, 1280, 1440):
        with opened(browser, origin, jpeg, width) as page:
            for kind, path in paths.items():
                response = page.goto(origin + BASE + path, wait_until="load")
                assert response.status == 200, path
                overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                if overflow > 0:
                    problems.append(f"{kind} at {width}px scrolls sideways by {overflow}px")
    assert problems == []


def test_images_only_where_a_story_has_one_and_never_an_empty_box(site, origin, browser, jpeg):
    root, plan = site
    for kind, path in listings(plan).items():
        with opened(browser, origin, jpeg, 1280) as page:
            page.goto(origin + BASE + path, wait_until="networkidle")
            images = page.evaluate("""[...document.querySelectorAll('main img')].map((img) => ({
                src: img.getAttribute('src'), loaded: img.complete && img.naturalWidth > 0,
                width: img.getBoundingClientRect().width, inRiver: img.closest('.river') !== null}))""")
            for image in images:
                src = image["src"]
                assert src.startswith(("https://", "http://")) or (root / "_site" / src.removeprefix(BASE)).is_file(), src
                assert image["loaded"] and image["width"] > 0, f"{kind}: an empty image box for {src}"
                assert not image["inRiver"], f"{kind}: an image among the one-line headlines"
            # A box for a picture holds one; the leading stories with an image have it, the others none.
            assert page.locator(".lead__media:not(:has(img)), .card__media:not(:has(img))").count() == 0
            leads = page.locator("main .h-feed .lead")
            assert leads.count() == LEADING
            shown = plan.entries if kind == "home" else [e for e in plan.entries if plan.nav_topics[0] in e.topics]
            for n in range(LEADING):
                has_image = shown[n].article.image is not None
                assert leads.nth(n).locator("img").count() == (1 if has_image else 0), f"{kind}: lead {n}"
            assert len(images) == sum(1 for e in shown[:LEADING] if e.article.image)


def test_clusters_show_under_their_leading_story(site, origin, browser, jpeg):
    """Each leading story's related coverage is on screen below its headline, inside it,
    with at most three links; the other headlines have none."""
    _, plan = site
    with opened(browser, origin, jpeg, 1280) as page:
        page.goto(origin + BASE, wait_until="load")
        assert page.locator(".river .cluster").count() == 0
        shown = 0
        for n in range(LEADING):
            lead = page.locator("main .h-feed .lead").nth(n)
            links = lead.locator(".cluster .h-cite")
            assert links.count() == min(3, len(plan.entries[n].article.related))
            title_box = lead.locator("> .p-name").bounding_box()
            for i in range(links.count()):
                box = links.nth(i).bounding_box()
                assert box["height"] > 0 and box["y"] > title_box["y"]
                shown += 1
        assert shown > 0


def test_phone_header_yields_to_the_news_without_javascript(site, origin, browser, jpeg):
    """At 375 px the sections are one row that scrolls sideways, and search is one tap
    away, with JavaScript off."""
    _, plan = site
    with opened(browser, origin, jpeg, 375, 800, java_script_enabled=False) as page:
        page.goto(origin + BASE, wait_until="load")
        header = page.locator(".site-header").bounding_box()
        assert header["height"] <= 90
        row = page.locator(".site-nav ul")
        box = row.bounding_box()
        assert box["height"] < 40  # one row of topics
        assert row.evaluate("(ul) => ul.scrollWidth > ul.clientWidth")  # that scrolls
        last = page.locator(".site-nav li").last.locator("a")
        last.scroll_into_view_if_needed()
        assert last.is_visible() and last.bounding_box()["x"] + last.bounding_box()["width"] <= 375
        assert page.locator(".site-header .site-search").is_hidden()
        page.locator(".search-link").click()  # one tap
        page.wait_for_url("**/search/")
        assert page.locator("#search-q").is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "front-phone-search.png"))


@pytest.mark.parametrize("width", [375, 412, 1280])
def test_relative_times_do_not_shift_the_river(site, origin, browser, jpeg, width):
    """reader.js turns each date into a relative time after the page is drawn; a line of
    the river that rewrapped would move every headline below it."""
    _, plan = site
    for kind, path in {**listings(plan), "home page 2": "page/2/"}.items():
        with opened(browser, origin, jpeg, width, 823) as page:
            page.add_init_script("""window.__shift = 0; new PerformanceObserver((list) => {
                for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shift += entry.value;
            }).observe({type: "layout-shift", buffered: true});""")
            page.goto(origin + BASE + path, wait_until="networkidle")
            page.wait_for_function("() => [...document.querySelectorAll('main time')].every((t) => t.title)")
            assert page.evaluate("window.__shift") < 0.01, f"{kind} at {width}px"

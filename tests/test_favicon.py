"""The site's icon: every page declares the theme's SVG favicon (with an ICO fallback)
under the base path, so a browser never asks the origin root for /favicon.ico, which a
project site under /<repo>/ does not own. Chromium loads each page from `serve` and no
request fails. Skipped locally without Chromium or Playwright; fails in CI."""

from __future__ import annotations

import lxml.html
import pytest
from conftest import article, make_site

PAGES = {"home": "", "story": "2024/05/14/the-story/", "not found": "no-such-page/"}


@pytest.mark.parametrize("base_url", ["https://news.example/", "https://example.org/newsroom/"])
def test_every_page_loads_its_icon_and_nothing_fails(tmp_path, start_preview, browser, base_url):
    site = make_site(tmp_path / "site", {
        "site.toml": f'base_url = "{base_url}"\n',
        "content/story.md": article(slug="the-story"),
    })
    preview = start_preview(site)
    for name, path in PAGES.items():
        context = browser.new_context()  # a fresh cache: each page fetches its icon
        page = context.new_page()
        requested, failed = [], []
        page.on("request", lambda request: requested.append(request.url))
        page.on("requestfailed", lambda request: failed.append(f"{request.url}: {request.failure}"))
        page.on("response", lambda response: failed.append(f"{response.url}: {response.status}")
                if response.status >= 400 and response.url != preview.url + path else None)
        with page.expect_response(lambda response: "favicon" in response.url, timeout=20_000) as icon:
            document = page.goto(preview.url + path)
        assert document.status == (404 if name == "not found" else 200)
        assert icon.value.url.startswith(preview.url + "favicon.svg?v="), icon.value.url
        assert icon.value.status == 200 and icon.value.headers["content-type"] == "image/svg+xml"
        assert failed == [], name
        origin = preview.url[: preview.url.index("/", len("http://"))]
        assert origin + "/favicon.ico" not in requested, name  # the browser's guess when a page declares none
        context.close()


def test_the_ico_fallback_is_a_real_icon(tmp_path, run):
    site = make_site(tmp_path, {"content/story.md": article()})
    assert run("build", site).code == 0
    icons = lxml.html.parse(str(site / "_site" / "index.html")).xpath("//head/link[@rel='icon']")
    assert [(link.get("href").split("?v=")[0], link.get("type"), link.get("sizes")) for link in icons] == [
        ("/favicon.ico", None, "32x32"), ("/favicon.svg", "image/svg+xml", None),
    ]
    ico = (site / "_site" / "favicon.ico").read_bytes()
    assert ico[:4] == b"\x00\x00\x01\x00"  # the ICO header: reserved 0, type 1 (icon)
    count = int.from_bytes(ico[4:6], "little")
    sizes = {(ico[6 + 16 * i] or 256, ico[7 + 16 * i] or 256) for i in range(count)}
    assert {(16, 16), (32, 32)} <= sizes
    assert (site / "_site" / "favicon.svg").read_text().startswith("<svg ")

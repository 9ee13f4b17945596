"""A real browser (Debian's Chromium through Playwright) on `serve`: the author edits the
article on disk and the open page reloads itself with the new title, under the theme's
Content-Security-Policy. Skipped locally without Chromium or Playwright; fails in CI."""

from __future__ import annotations

from conftest import ARTIFACTS, article, atomic_save, make_site


def test_the_open_page_reloads_with_the_new_title(tmp_path, start_preview, browser):
    site = make_site(tmp_path / "site", {
        "site.toml": 'base_url = "https://example.org/newsroom/"\n',
        "content/story.md": article(title="Before the edit", slug="the-story"),
    })
    preview = start_preview(site)
    page = browser.new_page()
    blocked = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None)
    page.goto(preview.url + "2024/05/14/the-story/")
    assert page.locator("h1").first.inner_text() == "Before the edit"
    page.evaluate("window.notReloadedYet = true")  # gone once the page reloads
    atomic_save(site / "content/story.md", article(title="After the edit", slug="the-story"))
    page.wait_for_function("() => !window.notReloadedYet && document.querySelector('h1').innerText === 'After the edit'",
                           timeout=20_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-reload.png"), full_page=True)
    assert blocked == []


def test_a_failed_build_shows_an_overlay_that_goes_when_fixed(tmp_path, start_preview, browser):
    site = make_site(tmp_path / "site", {"content/story.md": article(title="Steady")})
    preview = start_preview(site)
    page = browser.new_page()
    page.goto(preview.url)
    (site / "content/story.md").write_text("---\ntitle: [oops\n---\n", encoding="utf-8")
    overlay = page.locator("#site-builder-errors")
    overlay.wait_for(state="visible", timeout=20_000)
    assert "content/story.md" in overlay.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-error-overlay.png"))
    atomic_save(site / "content/story.md", article(title="Steady again"))
    page.wait_for_function("() => document.body.innerText.includes('Steady again')", timeout=20_000)
    assert overlay.count() == 0

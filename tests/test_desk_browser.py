"""The desk in a real browser (Debian's Chromium through Playwright) on a real preview:
publish with a click and see the permalink appear, the whole loop with the keyboard only,
axe-core clean in light and dark mode, no sideways scrolling at 375 px.
Skipped locally without Chromium or Playwright; fails in CI."""

from __future__ import annotations

import mf2py
import pytest
from conftest import ARTIFACTS, EXAMPLE_RECORD, article, make_site, prop, text_of, wait_until
from deskclient import changed_lines, get

from site_builder.yamlfm import split_and_parse

SAMPLE = "content/000_e3a5008296bfb040.txt"
SAMPLE_TITLE = "Leading Law Enforcement Facial Recognition Provider Clearview AI Faces Joint International Privacy Investigation"


@pytest.fixture
def site(tmp_path):
    files = {
        "site.toml": 'title = "Newsroom"\nbase_url = "https://example.org/newsroom/"\n',
        SAMPLE: EXAMPLE_RECORD.read_bytes(),
        "content/live.md": article(title="Already live", url="https://example.com/live"),
    }
    for n, topic in enumerate(("Robots", "Chips", "Space")):
        files[f"content/draft-{n}.md"] = article(
            title=f"Candidate {n} about {topic.lower()}", url=f"https://example.com/{n}", date=f"2024-05-1{4 - n}T08:00:00Z",
            topics=(topic,), published="false", quality=str(60 + n), body="The first note.\n",
        )
    return make_site(tmp_path / "site", files)


def open_desk(browser, preview, width=1280, scheme="light"):
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(f"http://127.0.0.1:{preview.server.port}") else r.abort())
    page.goto(f"http://127.0.0.1:{preview.server.port}/_desk/")
    return page, errors


def queue_titles(page) -> list[str]:
    return page.locator(".queue .h-entry:not(.card--done) .card__title").all_inner_texts()


def test_publish_with_a_click_shows_the_live_permalink(site, start_preview, browser):
    preview = start_preview(site)
    before = (site / SAMPLE).read_bytes()
    page, errors = open_desk(browser, preview)
    card = page.locator(".h-entry", has=page.locator(".p-name", has_text=SAMPLE_TITLE))
    card.get_by_role("button", name=f"Publish “{SAMPLE_TITLE}”").click()
    link = card.locator(".card__status a.u-url")
    link.wait_for(timeout=20_000)
    assert changed_lines(before, (site / SAMPLE).read_bytes()) == [("published: false", "published: true")]
    assert page.locator("#announce").inner_text() == f"Published “{SAMPLE_TITLE}”."
    url = link.get_attribute("href")
    served = get(preview.server.port, url)
    assert served.status == 200
    items = mf2py.parse(doc=served.body, url=f"http://127.0.0.1{url}")["items"]
    assert text_of(prop(next(i for i in items if "h-entry" in i["type"]), "name")) == SAMPLE_TITLE
    assert SAMPLE_TITLE not in queue_titles(page)
    assert errors == []


def test_the_whole_loop_with_the_keyboard_only(site, start_preview, browser):
    preview = start_preview(site)
    page, errors = open_desk(browser, preview)
    keys = page.keyboard
    first_note = (site / "content/draft-2.md").read_bytes()
    keys.press("j")  # the first card: candidate 0
    keys.press("p")
    page.wait_for_function("() => document.querySelector('#announce').innerText.startsWith('Published')", timeout=20_000)
    assert split_and_parse((site / "content/draft-0.md").read_text()).data["published"] is True
    keys.press("x")  # the selection moved on to candidate 1
    page.wait_for_function("() => document.querySelector('#announce').innerText.startsWith('Rejected')", timeout=20_000)
    assert split_and_parse((site / "content/draft-1.md").read_text()).data["rejected"] is True
    assert queue_titles(page) == ["Candidate 2 about space", SAMPLE_TITLE]
    keys.press("e")  # candidate 2: its form opens inline, the title field focused
    title = page.locator(".queue .edit-form input[name=title]")
    title.wait_for()
    wait_until(lambda: page.evaluate("document.activeElement.name") == "title", what="the title field focused")
    keys.press("Tab")  # the excerpt
    keys.press("Tab")  # the topics
    keys.press("Control+a")
    keys.type("Space, Rockets")
    keys.press("Tab")  # the note
    keys.press("Control+End")
    keys.type("A second line by the desk.")
    keys.press("Tab")  # Save
    keys.press("Enter")
    page.wait_for_function("() => document.querySelector('#announce').innerText.startsWith('Edited')", timeout=20_000)
    edited = (site / "content/draft-2.md").read_text()
    parsed = split_and_parse(edited)
    assert parsed.data["topics"] == ["Space", "Rockets"]
    assert parsed.body.strip() == "The first note.\nA second line by the desk."
    card = page.locator(".h-entry", has=page.locator(".p-name", has_text="Candidate 2 about space"))
    wait_until(lambda: card.locator(".p-category").all_inner_texts() == ["Space", "Rockets"], what="the card redrawn")
    keys.press("u")  # undo the edit
    page.wait_for_function("() => document.querySelector('#announce').innerText.startsWith('Undone')", timeout=20_000)
    assert (site / "content/draft-2.md").read_bytes() == first_note
    keys.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    keys.type("space")
    keys.press("Enter")
    page.wait_for_url("**/_desk/?**q=space**")
    assert queue_titles(page) == ["Candidate 2 about space"]
    assert errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_desk_passes_axe_and_fits_a_phone(site, start_preview, browser, axe, scheme):
    preview = start_preview(site)
    ARTIFACTS.mkdir(exist_ok=True)
    problems = []
    for width in (375, 1280):
        page, errors = open_desk(browser, preview, width, scheme)
        for view in ("queue", "edit"):
            if view == "edit":
                page.locator(".card__edit").first.click()
                page.wait_for_url("**/_desk/edit?**")
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if overflow > 0:
                problems.append(f"{view} at {width}px scrolls sideways by {overflow}px")
            for violation in axe.run(page).response["violations"]:
                if violation["impact"] in ("serious", "critical"):
                    problems.append(f"{view} {width}px {scheme}: {violation['id']}: {[n['target'] for n in violation['nodes']][:3]}")
            page.screenshot(path=str(ARTIFACTS / f"desk-{view}-{width}-{scheme}.png"), full_page=True)
        assert errors == []
        page.context.close()
    assert problems == []


def test_without_javascript_the_forms_post_and_come_back_with_a_message(site, start_preview, browser):
    preview = start_preview(site)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"http://127.0.0.1:{preview.server.port}/_desk/?sort=quality")
    page.get_by_role("button", name="Reject “Candidate 2 about space”").click()
    page.wait_for_url("**/_desk/?sort=quality&flash=*")
    assert page.get_by_role("status").first.inner_text() == "Rejected “Candidate 2 about space”."
    assert "Candidate 2 about space" not in queue_titles(page)
    page.get_by_label("Select “Candidate 0 about robots”").check()
    page.get_by_label("Select “Candidate 1 about chips”").check()
    page.get_by_role("button", name="Publish selected").click()
    page.wait_for_url("**/_desk/?sort=quality&flash=*")
    assert queue_titles(page) == [SAMPLE_TITLE]
    page.get_by_role("button", name="Undo published 2 stories").click()
    page.wait_for_url("**/_desk/?sort=quality&flash=*")
    assert queue_titles(page) == ["Candidate 1 about chips", "Candidate 0 about robots", SAMPLE_TITLE]
    context.close()

"""`site-builder import`: real Atom, RSS 2.0 and JSON Feed 1.1 files (with hostile markup)
imported into a site, imported again (nothing new), built, and read back with mf2py."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lxml.html
from conftest import BuiltSite, article, make_site, prop, text_of
from htmlcheck import executable_in_site, page_urls
from site_builder.content import MAX_TOPICS, parse_article
from site_builder.feed_reader import Story, parse_feed, plain_text
from site_builder.importer import article_text, file_name
from site_builder.models import Image, Provider

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
SOURCES = [FEEDS / "atom.xml", FEEDS / "rss.xml", FEEDS / "feed.json"]
HOSTILE = ("<script", "onerror", "onclick", "javascript:", "alert(", "evil.example", "<b>", "<i>", "&lt;", "&amp;")
UTC = ZoneInfo("UTC")

# title -> (published, topics, excerpt) as the feeds mean them
EXPECTED = {
    "Chip maker unveils 2nm plan & roadmap": (
        "2024-05-14T07:30:00+00:00", ["Semiconductors", "AI", "Imported"], "Three foundries commit to a shared roadmap."),
    "Rust: the \"safe\" choice # 1 for Zürich's café": (  # updated only; xhtml title
        "2024-05-14T04:30:00+00:00", ["Rust", "Imported"], "Only content, no summary: memory safety wins."),
    "Why C++ modules finally matter": (
        "2024-05-14T08:00:00+00:00", ["C++", "Programming", "Imported"], "Build times drop by half. Read more"),
    # "programming" in the feed; the site shows a topic in its most used spelling
    "no": ("2024-05-13T08:15:00+00:00", ["Programming", "Imported"], "A title that YAML 1.1 reads as false."),
    "Entity-encoded script in a plain title": ("2024-05-12T19:00:00+00:00", ["Imported"], None),
    "C# 13: what's new in \"params\" collections": (
        "2024-05-15T12:00:00+00:00", ["C#", "Programming", "Imported"], "Collections everywhere"),
    "北京 robot barista pours lattes": (  # date_modified only, relative url
        "2024-05-10T23:45:00+00:00", ["Imported"], "Only plain content text, across lines."),
}


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "site", {"site.toml": 'base_url = "https://news.example/"\n'})


def content_files(site: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((site / "content").iterdir())}


def test_three_feeds_import_idempotently_and_build_clean(site, run):
    first = run("import", *SOURCES, "--site", site, "--topic", "Imported")
    # five entries are invalid on purpose; each is named with its reason
    assert first.code == 1
    assert first.out.splitlines()[-1] == "7 new, 1 skipped, 5 invalid"
    assert 'atom.xml: entry 4: invalid: "A link that runs script": the link is not an http(s) address' in first.err
    assert "rss.xml: entry 5: invalid: \"An item without a date\": no valid published or updated date" in first.err
    assert "feed.json: item 3: invalid: no title" in first.err
    written = content_files(site)
    assert len(written) == 7
    for name in written:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d-[a-z0-9-]+-[0-9a-f]{8}\.md", name), name

    again = run("import", *SOURCES, "--site", site, "--topic", "Imported")
    assert again.out.splitlines()[-1] == "0 new, 8 skipped, 5 invalid"
    assert content_files(site) == written

    for data in written.values():
        text = data.decode("utf-8")
        assert not any(bad in text for bad in HOSTILE), text

    assert run("build", site).code == 0
    out = BuiltSite(site / "_site")
    cards = {text_of(prop(e, "name")): e for e in out.entries("/")}
    assert set(cards) == set(EXPECTED)
    for title, (published, topics, excerpt) in EXPECTED.items():
        card = cards[title]
        assert datetime.fromisoformat(prop(card, "published")) == datetime.fromisoformat(published), title
        assert card["properties"]["category"] == topics, title
        story = out.entries(prop(card, "url"))[0]  # the story's own page: its full card
        assert prop(story, "summary") == excerpt, title
    chip = out.entries(prop(cards["Chip maker unveils 2nm plan & roadmap"], "url"))[0]
    assert prop(chip, "bookmark-of") == "https://spectrum.ieee.org/2nm"
    author = prop(chip, "author")
    assert text_of(prop(author, "name")) == "IEEE Spectrum"
    assert text_of(prop(chip, "photo")) == "https://spectrum.ieee.org/img/2nm.jpg"
    assert text_of(prop(cards["Why C++ modules finally matter"], "photo")) == "https://www.infoworld.com/img/cpp.jpg"
    assert prop(cards["北京 robot barista pours lattes"], "bookmark-of") == "https://www.theverge.com/robot-barista"
    # Pages read as a browser reads them: nothing executable, no link or image to the
    # attacker's host, and no markup shown as text; feeds checked as the data they are.
    assert executable_in_site(out.out) == {}
    for page in out.all_files():
        if page.suffix == ".html":
            html = page.read_text(encoding="utf-8")
            tree = lxml.html.fromstring(html)
            assert not [url for url in page_urls(html) if "evil.example" in url], page
            shown = tree.text_content()
            assert "<script" not in shown and "alert(" not in shown, page
        elif page.suffix in (".xml", ".json"):
            text = page.read_text(encoding="utf-8")
            assert not any(bad in text for bad in ("<script>alert", "onerror", "javascript:", "evil.example")), page


def test_dry_run_writes_nothing(site, run):
    result = run("import", FEEDS / "feed.json", "--site", site, "--dry-run")
    assert result.out.splitlines()[-1] == "2 would write, 0 skipped, 2 invalid"
    assert "would write " in result.out
    assert content_files(site) == {}


def test_existing_files_count_even_when_draft_or_invalid(site, run):
    (site / "content" / "mine.md").write_text(
        article("My own take", "https://spectrum.ieee.org/2nm", published="false"), encoding="utf-8")
    # invalid (no date) but its webUrl line is still the editor's story
    (site / "content" / "broken.md").write_text(
        '---\ntitle: "Broken"\nwebUrl: "https://spectrum.ieee.org/rust-zurich"\n---\n', encoding="utf-8")
    result = run("import", FEEDS / "atom.xml", "--site", site)
    assert result.out.splitlines()[-1] == "0 new, 2 skipped, 2 invalid"


def test_a_source_that_is_not_a_feed_is_an_error(site, run, tmp_path):
    (tmp_path / "page.html").write_text("<html><body>hello</body></html>", encoding="utf-8")
    (tmp_path / "other.json").write_text('{"hello": "world"}', encoding="utf-8")
    result = run("import", tmp_path / "page.html", tmp_path / "other.json", tmp_path / "missing.xml",
                 FEEDS / "feed.json", "--site", site)
    assert result.code == 1
    assert "page.html: not a feed" in result.err
    assert "other.json: not a feed: JSON without a JSON Feed version" in result.err
    assert "missing.xml: cannot read" in result.err
    assert result.out.splitlines()[-1] == "2 new, 0 skipped, 2 invalid"  # the good source still imports


def test_import_outside_a_site_is_a_usage_error(tmp_path, run):
    result = run("import", FEEDS / "atom.xml", "--site", tmp_path)
    assert result.code == 2
    assert "no content/ folder" in result.err


@pytest.mark.parametrize("markup, text", [
    ("<p>a <b>bold</b> move</p>", "a bold move"),
    ("x <script>alert(1)</script>y", "x y"),
    ("&lt;script&gt;alert(1)&lt;/script&gt;z", "z"),
    ("&amp;lt;img src=x onerror=alert(1)&amp;gt;ok", "ok"),
    ("C++ &lt;=&gt; matters &amp; more", "C++ <=> matters & more"),
    ("a\u2028b\x00c\td", "a bc d"),  # NUL is dropped, other controls are spaces
])
def test_plain_text_strips_markup_however_encoded(markup, text):
    assert plain_text(markup, 100) == text


def test_plain_text_is_bounded_at_a_word():
    text = plain_text("word " * 200, 50)
    assert len(text) <= 50 and text.endswith("word…")


TRICKY_TITLES = ["no", "yes: really", "# not a comment", "'single' and \"double\"", "010", "0o17", "10:00",
                 "null", "~", "- dash", "[list]", "{map}", "Zürich 北京 🚀", "@at `tick` %pct", "*star &amp"]


def _story(title: str, topics=("AI",)) -> Story:
    return Story(title, "https://example.com/a?b=1&c=%20", datetime(2024, 5, 14, 9, 30, tzinfo=timezone.utc),
                 excerpt=title, provider=Provider(title, "example.com"), topics=tuple(topics),
                 images=(Image("https://example.com/i.jpg", 10, 20),))


def _round_trip(story: Story):
    result = parse_article(article_text(story).encode("utf-8"), "x.md", UTC)
    assert not result.problems, result.problems
    a = result.article
    assert (a.title, a.web_url, a.published, a.excerpt, a.provider, a.topics, a.images, a.draft) == (
        story.title, story.web_url, story.published, story.excerpt, story.provider, story.topics, story.images, False)


@pytest.mark.parametrize("title", TRICKY_TITLES)
def test_written_files_read_back_identically(title):
    _round_trip(_story(title, topics=(title,)))


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=80).map(lambda s: plain_text(s, 300)).filter(bool))
def test_any_clean_title_reads_back_identically(title):
    _round_trip(_story(title, topics=(title[:100],)))


def test_file_names_are_stable_and_safe():
    story = _story("../../etc/passwd: C# \x00 Zürich")
    name = file_name(story, UTC)
    assert name == file_name(story, UTC)
    assert re.fullmatch(r"2024-05-14-[a-z0-9-]+-[0-9a-f]{8}\.md", name)
    assert name.startswith("2024-05-14-etc-passwd-c-sharp-zurich-")
    # the date is the site's calendar day
    assert file_name(story, ZoneInfo("Pacific/Auckland")).startswith("2024-05-14-")
    assert file_name(story, ZoneInfo("America/Los_Angeles")).startswith("2024-05-14-")
    late = Story("Late", "https://example.com/late", datetime(2024, 5, 14, 23, 0, tzinfo=timezone.utc))
    assert file_name(late, ZoneInfo("Pacific/Auckland")).startswith("2024-05-15-")


def test_feed_parsing_is_pure_and_reports_reasons():
    stories, invalid = parse_feed((FEEDS / "rss.xml").read_bytes(), "rss.xml")
    assert [s.title for s in stories][:2] == ["Why C++ modules finally matter", "no"]
    assert stories[1].images == ()  # an audio enclosure is not an image
    assert [str(i) for i in invalid] == ['rss.xml: entry 5: "An item without a date": no valid published or updated date']


def test_an_existing_file_is_never_overwritten(site, run):
    assert run("import", FEEDS / "feed.json", "--site", site).code == 1
    [first, *_] = sorted((site / "content").iterdir())
    # the editor points the file at another URL: the feed's entry is new again, but its
    # file name is taken
    first.write_text(first.read_text(encoding="utf-8").replace("https://www.theverge.com/", "https://elsewhere.example/"),
                     encoding="utf-8")
    before = content_files(site)
    result = run("import", FEEDS / "feed.json", "--site", site)
    assert f"content/{first.name} already exists; not overwritten" in result.err
    assert content_files(site) == before


def test_entries_the_site_could_not_read_cleanly_are_made_clean_or_refused(site, run, tmp_path):
    """A date past what any clock can show is refused (not a traceback, and the other
    entries still import); a story with 40 tags keeps as many as a record may have; a
    link to localhost gives no provider domain. The site then builds with no warning."""
    feed = tmp_path / "edge.json"
    feed.write_text(json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "Edge", "items": [
            {"id": "1", "url": "https://example.com/far", "title": "Far future", "date_published": "9999-12-31T23:59:00-10:00"},
            {"id": "2", "url": "https://example.com/tags", "title": "Many tags", "date_published": "2024-05-14T08:00:00Z",
             "tags": [f"Tag {n}" for n in range(40)]},
            {"id": "3", "url": "http://localhost/local", "title": "Local", "date_published": "2024-05-14T09:00:00Z"},
        ],
    }))
    result = run("import", feed, "--site", site)
    assert result.code == 1
    assert result.out.splitlines()[-1] == "2 new, 0 skipped, 1 invalid"
    assert '"Far future": the date 9999-12-31T23:59:00-10:00 is out of range' in result.err
    built = run("build", site)
    assert built.code == 0 and "warning" not in built.err, built.err
    out = BuiltSite(site / "_site")
    by_title = {prop(e, "name"): e for e in out.entries("/")}  # the cards, read as a client does
    assert len(by_title["Many tags"]["properties"]["category"]) == MAX_TOPICS
    author = prop(by_title["Local"], "author")
    assert prop(author, "name") == "Edge" and prop(author, "url") is None

"""`site-builder sources add|remove|import-opml|export-opml`: site.toml edited with its
comments and layout kept byte for byte, OPML read (nested folders, duplicates, no
DOCTYPE ever) and written as OPML 2.0 that lxml reads back."""

from __future__ import annotations

import os
from pathlib import Path

import lxml.etree
import pytest

from conftest import make_site
from site_builder.config import Source, load_config

SITE_TOML = """\
# The site's settings; keep this comment.
title = "Chips Daily"   # shown everywhere

# Feeds we follow
[[sources]]
url = "https://a.example/feed.xml"  # the first one
name = "A News"
topics = ["AI"]

[[sources]]
url = "https://b.example/feed.json"
publish = "auto"
# trailing note
"""

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My reader</title></head>
  <body>
    <outline text="Tech">
      <outline text="C News" title="C News" type="rss" xmlUrl="https://c.example/rss"/>
      <outline text="Chips">
        <outline text="D &amp; co" type="rss" xmlUrl="https://d.example/atom.xml" htmlUrl="https://d.example/"/>
      </outline>
    </outline>
    <outline text="Already there" type="rss" xmlUrl="https://A.EXAMPLE/feed.xml"/>
    <outline text="Twice" type="rss" xmlUrl="https://c.example/rss#again"/>
    <outline text="A mail list" xmlUrl="mailto:list@example.com"/>
    <outline text="Just a link" htmlUrl="https://e.example/"/>
  </body>
</opml>
"""


def bare_site(root: Path) -> Path:
    """A site folder with an empty content/ and no site.toml."""
    (root / "content").mkdir(parents=True)
    return root


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "site", {"site.toml": SITE_TOML})


def sources(site: Path) -> list[tuple[str, str, tuple[str, ...], str]]:
    return [(s.url, s.name, s.topics, s.publish) for s in load_config(site).sources]


def test_add_appends_a_table_and_keeps_every_byte_around_it(site, run):
    result = run("sources", "add", "https://c.example/rss", "--name", "C News", "--topic", "Chips",
                 "--topic", "EU", "--publish", "auto", "--site", site)
    assert result.code == 0, result.err
    assert result.out == "added https://c.example/rss\n"
    text = (site / "site.toml").read_text(encoding="utf-8")
    assert text.startswith(SITE_TOML)  # every line there before is there, unchanged
    assert text[len(SITE_TOML):] == ('\n[[sources]]\nurl = "https://c.example/rss"\nname = "C News"\n'
                                     'topics = ["Chips", "EU"]\npublish = "auto"\n')
    assert sources(site)[-1] == ("https://c.example/rss", "C News", ("Chips", "EU"), "auto")


def test_add_skips_a_feed_already_there_and_refuses_a_bad_one(site, run):
    same = run("sources", "--site", site, "add", "HTTPS://A.example/feed.xml#top")
    assert same.code == 0
    assert same.out == "skipped HTTPS://A.example/feed.xml#top: already in site.toml\n"
    bad = run("sources", "add", "ftp://c.example/feed", "--site", site)
    assert bad.code == 2
    assert "'url' must be an http(s) address or a file path, got 'ftp://c.example/feed'" in bad.err
    assert (site / "site.toml").read_text(encoding="utf-8") == SITE_TOML


def test_add_to_a_site_without_settings_writes_a_site_toml_that_loads(tmp_path, run):
    site = bare_site(tmp_path / "bare")
    assert run("sources", "add", "https://c.example/rss", "--site", site).code == 0
    assert (site / "site.toml").read_text(encoding="utf-8") == '[[sources]]\nurl = "https://c.example/rss"\npublish = "review"\n'
    assert sources(site) == [("https://c.example/rss", "", (), "review")]


def test_remove_takes_out_one_table_and_nothing_else(site, run):
    result = run("sources", "remove", "https://a.example/feed.xml", "--site", site)
    assert result.code == 0, result.err
    text = (site / "site.toml").read_text(encoding="utf-8")
    head = SITE_TOML[: SITE_TOML.index("[[sources]]")]
    assert text == head + SITE_TOML[SITE_TOML.index('[[sources]]\nurl = "https://b.example'):]
    assert sources(site) == [("https://b.example/feed.json", "", (), "auto")]

    assert run("sources", "remove", "https://b.example/feed.json", "--site", site).code == 0
    assert load_config(site).sources == () and load_config(site).title == "Chips Daily"
    assert (site / "site.toml").read_text(encoding="utf-8").startswith(head.rstrip("\n"))

    missing = run("sources", "remove", "https://z.example/", "--site", site)
    assert missing.code == 2 and "no source with url 'https://z.example/'" in missing.err


def test_import_opml_adds_nested_feeds_once_and_skips_ones_already_there(site, run, tmp_path):
    opml = tmp_path / "reader.opml"
    opml.write_bytes(OPML)
    result = run("sources", "import-opml", opml, "--topic", "Imported", "--site", site)
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == "2 added, 2 already there"
    assert "mailto:list@example.com: not an http(s) address; not added" in result.err
    assert (site / "site.toml").read_text(encoding="utf-8").startswith(SITE_TOML)
    assert sources(site)[2:] == [
        ("https://c.example/rss", "C News", ("Imported",), "review"),
        ("https://d.example/atom.xml", "D & co", ("Imported",), "review"),
    ]
    again = run("sources", "import-opml", opml, "--site", site)
    assert again.out.splitlines()[-1] == "0 added, 4 already there"


def test_export_opml_is_opml_2_that_reads_back_into_the_same_sources(site, run, tmp_path):
    (site / "site.toml").write_text(SITE_TOML + '\n[[sources]]\nurl = "feeds/saved.xml"\n'
                                    '\n[[sources]]\nurl = "https://q.example/?a=1&b=<2>"\nname = "Q \\"&\\" <co>"\n',
                                    encoding="utf-8")
    result = run("sources", "export-opml", "--site", site)
    assert result.code == 0, result.err
    root = lxml.etree.fromstring(result.out.encode("utf-8"))
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Chips Daily"
    outlines = [(o.get("xmlUrl"), o.get("text"), o.get("type"), o.get("category")) for o in root.iter("outline")]
    assert outlines == [  # a file in the site is no address for a reader
        ("https://a.example/feed.xml", "A News", "rss", "AI"),
        ("https://b.example/feed.json", "https://b.example/feed.json", "rss", None),
        ("https://q.example/?a=1&b=<2>", 'Q "&" <co>', "rss", None),
    ]
    exported = tmp_path / "exported.opml"
    exported.write_text(result.out, encoding="utf-8")
    other = bare_site(tmp_path / "other")
    assert run("sources", "import-opml", exported, "--site", other).code == 0
    assert [(url, name) for url, name, _, _ in sources(other)] == [
        ("https://a.example/feed.xml", "A News"), ("https://b.example/feed.json", "https://b.example/feed.json"),
        ("https://q.example/?a=1&b=<2>", 'Q "&" <co>')]


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE opml [<!ENTITY secret SYSTEM "file://{secret}">]>',  # reads a file
    '<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',  # expands
    '<!DOCTYPE opml SYSTEM "http://127.0.0.1:9/opml.dtd">',  # fetches
])
def test_an_opml_file_with_a_doctype_is_refused_unread(site, run, tmp_path, doctype):
    secret = tmp_path / "secret.txt"
    secret.write_text("https://secret.example/feed")
    opml = tmp_path / "hostile.opml"
    opml.write_text('<?xml version="1.0"?>\n' + doctype.format(secret=secret) +
                    '<opml version="2.0"><body><outline text="x" xmlUrl="&secret;"/>'
                    '<outline text="y" xmlUrl="https://y.example/&b;"/></body></opml>', encoding="utf-8")
    result = run("sources", "import-opml", opml, "--site", site)
    assert result.code == 2
    assert f"error: {opml}: has a DOCTYPE (entities or a DTD), which OPML never needs; not read" in result.err
    assert (site / "site.toml").read_text(encoding="utf-8") == SITE_TOML
    assert "secret.example" not in result.out + result.err


def test_an_opml_file_that_is_not_opml_is_refused(site, run, tmp_path):
    (tmp_path / "page.html").write_text("<html><body>hi</body></html>")
    (tmp_path / "broken.opml").write_text("<opml><body><outline></body>")
    page = run("sources", "import-opml", tmp_path / "page.html", "--site", site)
    assert page.code == 2 and "not OPML: the document is <html>, not <opml>" in page.err
    broken = run("sources", "import-opml", tmp_path / "broken.opml", "--site", site)
    assert broken.code == 2 and "bad XML: mismatched tag (line 1)" in broken.err
    assert (site / "site.toml").read_text(encoding="utf-8") == SITE_TOML


def test_listing_shows_each_source_and_says_so_when_there_are_none(site, run, tmp_path):
    listed = run("sources", "--site", site)
    assert listed.code == 0
    assert listed.out.splitlines() == [
        "https://a.example/feed.xml (A News, publish: review, topics: AI)",
        "    last success never",
        "https://b.example/feed.json (publish: auto)",
        "    last success never",
    ]
    empty = run("sources", "--site", bare_site(tmp_path / "empty"))
    assert empty.out.startswith("No [[sources]] in ")
    assert Source("https://x.example/").label == "https://x.example/"


def test_an_edited_site_toml_keeps_its_permissions_and_a_new_one_gets_the_usual(site, run, tmp_path):
    (site / "site.toml").chmod(0o640)
    assert run("sources", "add", "https://c.example/rss", "--site", site).code == 0
    assert (site / "site.toml").stat().st_mode & 0o777 == 0o640
    bare = bare_site(tmp_path / "bare")
    umask = os.umask(0o022)
    try:
        assert run("sources", "add", "https://c.example/rss", "--site", bare).code == 0
    finally:
        os.umask(umask)
    assert (bare / "site.toml").stat().st_mode & 0o777 == 0o644

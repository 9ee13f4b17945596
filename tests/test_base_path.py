"""Base paths: a project site under /repo/ and a custom domain at / both link only to
pages that exist, every internal link under the base path; Markdown bodies included."""

from __future__ import annotations

import json

import pytest
from conftest import BuiltSite, article, make_site
from corpus import generate

from site_builder.linkcheck import check_links
from site_builder.markup import rebase_links, render_markdown

PROJECT_URL = "https://user.github.io/repo/"
BODY = """
See [all AI stories](/topics/ai/), [the topics](/topics/) and ![a chart](/img/chart.png).
Elsewhere: [a paper](https://example.org/paper), [same page](#top), [cdn](//cdn.example/x.js).
"""


def corpus_site(tmp_path, toml=""):
    site = make_site(
        tmp_path / "site",
        {
            "site.toml": toml,
            "static/img/chart.png": b"\x89PNG\r\n\x1a\n",
            "content/with-links.md": article("Links inside", url="https://example.com/links", body=BODY),
        },
    )
    generate(60, 7, site / "content" / "corpus")
    return site


@pytest.mark.parametrize(
    "base_url, base_path",
    [(PROJECT_URL, "/repo/"), ("https://news.example.com/", "/"), ("https://user.github.io/a/b/", "/a/b/")],
)
def test_every_link_of_a_base_path_build_resolves_under_it(tmp_path, run, base_url, base_path):
    site = corpus_site(tmp_path, f'base_url = "{base_url}"\n')
    result = run("build", site)
    assert result.code == 0, result.err
    out = site / "_site"
    assert check_links(out, base_url) == []
    assert check_links(out, base_path) == []

    built = BuiltSite(out, base_path)
    home = built.mf2(base_path)
    assert len(home["items"][0]["children"]) == 20
    assert all(u.startswith(f"https://news.example{base_path}") for u in home["rels"]["next"])
    story = next(p for p in out.rglob("index.html") if "all AI stories" in p.read_text(encoding="utf-8"))
    page = story.read_text(encoding="utf-8")
    assert f'href="{base_path}topics/ai/"' in page
    assert f'src="{base_path}img/chart.png"' in page
    assert 'href="https://example.org/paper"' in page and 'href="//cdn.example/x.js"' in page


def test_the_checker_is_not_vacuous(tmp_path, run):
    """The same /repo/ build, checked as if served at /, fails on every internal link."""
    site = corpus_site(tmp_path, f'base_url = "{PROJECT_URL}"\n')
    assert run("build", site).code == 0
    problems = check_links(site / "_site", "https://user.github.io/")
    assert len(problems) > 500
    assert {p.reason for p in problems} == {"points nowhere"}


def test_checker_finds_escaping_and_dangling_links_in_every_kind_of_file(tmp_path):
    out = make_site(
        tmp_path / "out",
        {
            "index.html": (
                '<a href="/repo/ok/">ok</a> <a href="ok/">relative ok</a> <a href="/elsewhere/">root</a>'
                '<img src="/repo/missing.png" srcset="/repo/a.png 1x, /repo/b.png 2x">'
                '<a href="../up/">up</a> <a href="mailto:x@example.com">mail</a> <a href="#x">frag</a>'
                '<a href="https://other.example/x">external</a> <a href="https://user.github.io/gone">gone</a>'
                '<link rel="stylesheet" href="/repo/a.png?v=1">'
            ),
            "ok/index.html": '<a href="../">home</a> <a href="/repo/ok">folder without slash</a>',
            "a.png": b"",
            "feed.xml": (
                '<feed xmlns="http://www.w3.org/2005/Atom"><link href="https://user.github.io/repo/"/>'
                "<entry><id>https://user.github.io/repo/nope/</id></entry></feed>"
            ),
            "search.json": json.dumps([{"url": "/repo/ok/", "title": "/not-a-page"}, {"u": "/repo/x/"}]),
            "broken.xml": "<a>",
        },
    )
    problems = {(p.source, p.url): p.reason for p in check_links(out, PROJECT_URL)}
    escapes = "escapes the base path /repo/"
    assert problems == {
        ("index.html", "/elsewhere/"): escapes,
        ("index.html", "/repo/missing.png"): "points nowhere",
        ("index.html", "/repo/b.png"): "points nowhere",
        ("index.html", "../up/"): escapes,
        ("index.html", "https://user.github.io/gone"): escapes,
        ("feed.xml", "https://user.github.io/repo/nope/"): "points nowhere",
        ("search.json", "/not-a-page"): escapes,
        ("search.json", "/repo/x/"): "points nowhere",
        ("broken.xml", next(p.url for p in check_links(out, PROJECT_URL) if p.source == "broken.xml")):
            "file could not be parsed",
    }


def test_rebase_prefixes_only_root_relative_links():
    html = render_markdown(BODY)
    rebased = rebase_links(html, "/repo/")
    assert 'href="/repo/topics/ai/"' in rebased and 'src="/repo/img/chart.png"' in rebased
    assert 'href="https://example.org/paper"' in rebased and 'href="//cdn.example/x.js"' in rebased
    assert 'href="#top"' in rebased
    assert rebase_links(html, "/") == html
    assert rebase_links(rebased, "/") == rebased

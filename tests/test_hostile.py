"""Issue 4: broken and hostile article files. Each bad file is named with what is wrong,
every good story is still published, nothing executable reaches a page, nothing is
written outside the output folder, and a failed or killed build leaves the old site."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import corpus
import lxml.html
import pytest
from conftest import EXAMPLE_RECORD, REPO, BuiltSite, article, make_site, prop, secured_tokens, text_of, tree_bytes
from htmlcheck import body_urls, executable_in_site, executable_parts, page_urls

from site_builder.render import jsonld

GOOD = article("A good story", "https://example.com/good")
HEADER = '---\ntitle: "T"\nwebUrl: "https://example.com/t"\npublishedDateTime: 2024-05-14T09:30:00Z\n'
XSS = '<script>alert(1)</script><img src=x onerror=alert(1)>"\'><svg onload=alert(1)>'


def build(run, site: Path):
    result = run("build", site)
    assert "Traceback" not in result.out + result.err
    return result


def problem_lines(result, name: str) -> list[str]:
    return [line for line in result.err.splitlines() if line.startswith(f"content/{name}")]


def assert_refused(run, tmp_path, content: str | bytes, *fragments: str, line: int | None = None):
    """The bad file is named (with its line) and explained; the good one is still published."""
    site = make_site(tmp_path, {"content/good.md": GOOD, "content/bad.md": content})
    result = build(run, site)
    assert result.code == 1, result.err
    lines = problem_lines(result, "bad.md")
    assert lines and all(": error: " in l or ": warning: " in l for l in lines), result.err
    location = f"content/bad.md:{line}: " if line else "content/bad.md"
    assert any(l.startswith(location) and all(f in l for f in fragments) for l in lines), result.err
    assert [text_of(prop(e, "name")) for e in BuiltSite(site / "_site").entries("/")] == ["A good story"]
    return result


# -- files that are not articles ---------------------------------------------------------

def test_not_utf8(run, tmp_path):
    assert_refused(run, tmp_path, HEADER.encode() + b"excerpt: caf\xe9\n---\n", "not UTF-8", "0xe9", line=5)


def test_empty_file(run, tmp_path):
    assert_refused(run, tmp_path, "", "empty", line=1)


def test_no_front_matter(run, tmp_path):
    assert_refused(run, tmp_path, "Just a note\n", "no front matter", line=1)


def test_unclosed_front_matter(run, tmp_path):
    assert_refused(run, tmp_path, HEADER + "body without a closing fence\n", "never closed", line=1)


def test_invalid_yaml_names_the_line(run, tmp_path):
    content = HEADER + 'excerpt: "fine"\ncategory: Why: a story\n---\n'
    assert_refused(run, tmp_path, content, "invalid YAML", "in quotes", line=6)


def test_front_matter_not_a_mapping(run, tmp_path):
    assert_refused(run, tmp_path, "---\n- a\n- list\n---\n", "must be a list of 'field: value' lines", line=2)


def test_missing_required_fields(run, tmp_path):
    result = assert_refused(run, tmp_path, "---\ncategory: news\n---\n", "missing required field 'title'")
    assert any("'webUrl'" in l for l in problem_lines(result, "bad.md"))
    assert any("'publishedDateTime'" in l for l in problem_lines(result, "bad.md"))


def test_wrong_types(run, tmp_path):
    content = '---\ntitle: [a, b]\nwebUrl: 42\npublishedDateTime: "next tuesday"\npublished: "yes"\n---\n'
    result = assert_refused(run, tmp_path, content, "'title' must be text", line=2)
    messages = "\n".join(problem_lines(result, "bad.md"))
    for expected in ("bad.md:3: error: 'webUrl'", "bad.md:4: error: 'publishedDateTime'", "bad.md:5: error: 'published'"):
        assert expected in messages


@pytest.mark.parametrize("value", ["2024-02-30", "2023-13-01T10:00:00Z", "2024-02-29T25:00:00Z"])
def test_impossible_date_names_field_and_line(run, tmp_path, value):
    content = HEADER.replace("2024-05-14T09:30:00Z", value) + "---\n"
    assert_refused(run, tmp_path, content, "'publishedDateTime'", repr(value), line=4)


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-10:00", "'0001-01-01T00:00:00+10:00'"])
def test_dates_beyond_the_calendar(run, tmp_path, value):
    content = HEADER.replace("2024-05-14T09:30:00Z", value) + "---\n"
    assert_refused(run, tmp_path, content, "'publishedDateTime' is not a valid date", line=4)


def test_impossible_date_in_a_nested_field(run, tmp_path):
    content = HEADER + "related:\n  - title: x\n    webUrl: https://e.com/x\n    publishedDateTime: 2024-04-31\n---\n"
    assert_refused(run, tmp_path, content, "'related'", "'2024-04-31' is not a valid date", line=8)


@pytest.mark.parametrize(
    "tagged",
    [
        "!!python/object/apply:os.system ['touch pwned']",
        "!!python/object/new:os.system ['touch pwned']",
        "!!python/name:os.system",
        "!custom thing",
    ],
)
def test_yaml_tags_never_build_objects(run, tmp_path, monkeypatch, tagged):
    monkeypatch.chdir(tmp_path)
    assert_refused(run, tmp_path, HEADER + f"excerpt: {tagged}\n---\n", "YAML tags", line=5)
    assert not (tmp_path / "pwned").exists()


def test_alias_bomb_is_refused_quickly(run, tmp_path):
    started = time.perf_counter()
    assert_refused(run, tmp_path, bomb(), "too large", "aliases")
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize("depth", [100, 100_000])
def test_very_deep_nesting(run, tmp_path, depth):
    # 100,000 nested '[' used to crash the interpreter inside libyaml's composer.
    content = HEADER + "excerpt: " + "[" * depth + "]" * depth + "\n---\n"
    assert_refused(run, tmp_path, content, "nests deeper than", line=5)


def test_oversized_file(run, tmp_path):
    assert_refused(run, tmp_path, HEADER + "---\n" + "word " * 500_000, "KiB", "limited to")


def test_huge_fields_are_bounded(run, tmp_path):
    huge = "A" * 200_000
    content = article(huge, "https://example.com/huge", excerpt=f'"{huge}"', slug=f'"{huge}"')
    site = make_site(tmp_path, {"content/good.md": GOOD, "content/huge.md": content})
    result = build(run, site)
    assert result.code == 0, result.err
    pages = [p for p in (site / "_site").rglob("index.html") if "aaaa" in str(p)]
    assert pages and all(len(p.parent.name) <= 64 for p in pages)
    assert max(p.stat().st_size for p in (site / "_site").rglob("*.html")) < 100_000


def test_nul_byte(run, tmp_path):
    assert_refused(run, tmp_path, HEADER.encode() + b"excerpt: a\x00b\n---\n", "NUL byte", line=5)


def test_bom_and_crlf_build(run, tmp_path):
    text = "\ufeff" + article("Windows story", "https://example.com/crlf", body="Body *text*.\n").replace("\n", "\r\n")
    site = make_site(tmp_path, {"content/good.md": GOOD, "content/crlf.md": text.encode("utf-8")})
    result = build(run, site)
    assert result.code == 0 and "error" not in result.err and "warning" not in result.err, result.err
    names = {text_of(prop(e, "name")) for e in BuiltSite(site / "_site").entries("/")}
    assert names == {"A good story", "Windows story"}


def test_markdown_that_renders_slowly_is_refused_in_bounded_time(run, tmp_path):
    started = time.perf_counter()
    assert_refused(run, tmp_path, HEADER + "---\n" + "[" * 200_000, "Markdown body", line=6)
    assert time.perf_counter() - started < 30


# -- duplicates and names -----------------------------------------------------------------

def test_duplicate_web_url_gives_one_card_and_names_both_files(run, tmp_path):
    site = make_site(tmp_path, {
        "content/a.md": article("First copy", "https://example.com/same"),
        "content/b.md": article("Second copy", "HTTPS://EXAMPLE.COM/same#frag"),
    })
    result = build(run, site)
    assert result.code == 0
    warning = problem_lines(result, "b.md")
    assert len(warning) == 1 and "warning" in warning[0] and "content/a.md" in warning[0]
    assert [text_of(prop(e, "name")) for e in BuiltSite(site / "_site").entries("/")] == ["First copy"]


def test_two_files_with_one_title_get_two_pages(run, tmp_path):
    site = make_site(tmp_path, {
        "content/a.md": article("Same title", "https://example.com/1"),
        "content/b.md": article("Same title", "https://example.com/2"),
    })
    assert build(run, site).code == 0
    out = BuiltSite(site / "_site")
    urls = {prop(e, "url") for e in out.entries("/")}
    assert len(urls) == 2 and all(out.exists(u) for u in urls)


def test_topic_names_cannot_climb_or_collide(run, tmp_path):
    topics = ("C++", "C", "c!", "../../etc", "a/b", "..", "/", "%2e%2e")
    site = make_site(tmp_path, {"content/a.md": article(topics=topics)})
    assert build(run, site).code == 0
    out = site / "_site"
    topic_dirs = sorted(p.name for p in (out / "topics").iterdir() if p.is_dir())
    assert len(topic_dirs) == len(topics)  # each its own page, none merged, none escaping
    assert all(p.resolve().is_relative_to(out.resolve()) for p in out.rglob("*"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cache", "_site", "content"]  # .cache: the build cache


def test_slug_and_provider_domain_cannot_climb(run, tmp_path):
    content = article(
        "Escape", "https://example.com/e", slug='"../../../../tmp/evil"',
        provider="\n  name: Evil\n  domain: ../../etc/passwd",
    )
    site = make_site(tmp_path, {"content/a.md": content})
    result = build(run, site)
    assert result.code == 0
    assert "'provider.domain' is not a domain name" in result.err and "content/a.md" in result.err
    out = site / "_site"
    assert all(p.resolve().is_relative_to(out.resolve()) for p in out.rglob("*"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cache", "_site", "content"]  # .cache: the build cache
    links = page_urls((out / "index.html").read_text(encoding="utf-8"))
    assert links and not [url for url in links if "../" in url]


def test_too_many_topics_are_capped(run, tmp_path):
    site = make_site(tmp_path, {"content/a.md": article(topics=[f"t{i}" for i in range(500)])})
    result = build(run, site)
    assert result.code == 0 and "only the first 30" in result.err
    assert len(list((site / "_site" / "topics").iterdir())) == 30 + 1  # + index.html


# -- nothing executable -------------------------------------------------------------------

HOSTILE_URLS = [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "vbscript:msgbox", "//", "https://", "http:///x",
    'https://example.com/"><script>alert(1)</script>', "file:///etc/passwd",
]


def hostile_article(n: int, bad_url: str) -> str:
    return "\n".join([
        "---",
        f"title: {json.dumps(XSS + str(n))}",
        f"webUrl: https://example.com/x{n}?q=\"><script>alert(1)</script>",
        "publishedDateTime: 2024-05-14T09:30:00Z",
        f"excerpt: {json.dumps(XSS)}",
        f"category: {json.dumps(XSS)}",
        f"type: {json.dumps(XSS)}",
        f"slug: {json.dumps(XSS)}",
        f"ampWebUrl: {json.dumps(bad_url)}",
        f"provider: {{name: {json.dumps(XSS)}, domain: {json.dumps(bad_url)}}}",
        f"topics: [{json.dumps(XSS)}, {json.dumps(bad_url)}]",
        "images:",
        f"  - {{url: {json.dumps(bad_url)}, width: 10, height: 10}}",
        "  - {url: \"https://example.com/i.jpg\", width: '10\" onerror=\"alert(1)', height: 5}",
        "related:",
        f"  - {{title: {json.dumps(XSS)}, webUrl: {json.dumps(bad_url)}}}",
        f"  - {{title: {json.dumps(XSS)}, webUrl: \"https://example.com/r\", excerpt: {json.dumps(XSS)},"
        f" provider: {{name: {json.dumps(XSS)}, domain: {json.dumps(bad_url)}}}}}",
        "---",
        MARKDOWN_ATTACKS.replace("BAD", bad_url),
    ])


MARKDOWN_ATTACKS = """
[click](BAD) [data](data:text/html;base64,PHNjcmlwdD4=) <a href="BAD">raw</a> [site](/about/)

![img](BAD) <img src=x onerror="alert(1)"> <svg><script>alert(1)</script></svg>

<script>alert(1)</script>
<iframe src="https://evil.example/"></iframe>
<div onclick="alert(1)" style="background:url(javascript:alert(1))">x</div>
<a href="&#106;avascript:alert(1)">entity</a> <a href="jav&#x09;ascript:alert(1)">tab</a>
<form action="BAD"><button formaction="BAD">go</button></form>
<math><mi xlink:href="BAD">m</mi></math> <object data="BAD"></object> <embed src="BAD">
<meta http-equiv="refresh" content="0;url=BAD"> <base href="BAD">
[ref]: BAD
"""


def test_hostile_text_and_urls_never_become_executable(run, tmp_path):
    files = {f"content/x{n}.md": hostile_article(n, url) for n, url in enumerate(HOSTILE_URLS)}
    site = make_site(tmp_path, {"content/good.md": GOOD, **files})
    result = build(run, site)
    assert result.code == 0, result.err
    out = site / "_site"
    assert executable_in_site(out) == {}
    for n, url in enumerate(HOSTILE_URLS):  # each dropped link is named with file and field
        if url.startswith("https://example.com/"):
            continue  # a real https URL: kept, and escaped where it is shown
        warnings = "\n".join(problem_lines(result, f"x{n}.md"))
        for field in ("ampWebUrl", "images[1].url", "related[1].webUrl", "provider.domain", "related[2].provider.domain"):
            assert f"'{field}'" in warnings, (url, field, warnings)
    # every story is published; its hostile text is shown as text
    names = {text_of(prop(e, "name")) for u in BuiltSite(out).follow("/") for e in BuiltSite(out).entries(u)}
    assert {XSS + str(n) for n in range(len(HOSTILE_URLS))} <= names


def test_body_links_keep_web_and_site_relative_urls_only(run, tmp_path):
    body = (
        "[about](/about/) [web](https://example.com/w) [js](javascript:alert(1)) "
        "[data](data:text/html,x) ![pic](data:image/svg+xml,x) <a href='vbscript:x'>vb</a>\n"
    )
    site = make_site(tmp_path, {"content/a.md": article("Links", body=body)})
    assert build(run, site).code == 0
    assert body_urls(BuiltSite(site / "_site").html("/2024/05/14/links/")) == ["/about/", "https://example.com/w"]


def test_image_size_cannot_break_out_of_its_attribute(run, tmp_path):
    content = article(images='\n  - url: "https://example.com/i.jpg"\n    width: "1\\" onerror=\\"alert(1)"\n    height: 2')
    site = make_site(tmp_path, {"content/a.md": content})
    assert build(run, site).code == 0
    html = (site / "_site" / "index.html").read_text()
    assert executable_parts(html) == []  # on* attributes included


def test_jsonld_filter_cannot_break_out_of_its_script():
    title = "</script><script>alert(1)</script><!-- & \u2028"
    text = str(jsonld({"@type": "NewsArticle", "headline": title}))
    page = f'<script type="application/ld+json">{text}</script>'
    assert executable_parts(page) == []
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["headline"] == title


def test_secured_never_appears_in_output(run, tmp_path):
    record, [secret] = EXAMPLE_RECORD.read_text(), secured_tokens(EXAMPLE_RECORD)
    site = make_site(tmp_path, {"content/real.txt": record.replace("published: false", "published: true")})
    assert build(run, site).code == 0
    for path in (site / "_site").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"secured" not in data and secret[:40].encode() not in data, path


def test_theme_has_a_strict_content_security_policy(run, tmp_path):
    site = make_site(tmp_path, {"content/a.md": GOOD})
    assert build(run, site).code == 0
    html = (site / "_site" / "index.html").read_text()
    csp = lxml.html.fromstring(html).xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')[0]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


# -- a failed or killed build leaves the previous site ---------------------------------------

def cli(*args) -> list[str]:
    return [sys.executable, "-m", "site_builder", *map(str, args)]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def test_template_error_leaves_previous_site(run, tmp_path):
    site = make_site(tmp_path, {"content/a.md": GOOD})
    assert build(run, site).code == 0
    before = tree_bytes(site / "_site")
    make_site(site, {
        "content/b.md": article("New story", "https://example.com/new"),
        "templates/404.html": '{% extends "base.html" %}{% block main %}{{ no_such_thing }}{% endblock %}',
    })
    result = build(run, site)
    assert result.code == 1 and "404.html" in result.err and "no_such_thing" in result.err
    assert "previous site was left" in result.err
    assert tree_bytes(site / "_site") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cache", "_site", "content", "templates"]


def test_killed_build_leaves_previous_site(tmp_path):
    site = tmp_path / "site"
    corpus.generate(1500, 467, site / "content")
    first = subprocess.run(cli("build", site), env=env(), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    out, staging = site / "_site", site / "_site.staging"
    before = tree_bytes(out)
    (site / "content" / "zz_new.md").write_text(article("A new story", "https://example.com/brand-new"))

    proc = subprocess.Popen(cli("build", site), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not staging.exists():  # wait for the condition: the build has begun writing
            assert proc.poll() is None, "the build ended before it began writing"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert staging.exists()  # it really died mid-way
    assert tree_bytes(out) == before

    again = subprocess.run(cli("build", site), env=env(), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert not staging.exists()
    assert BuiltSite(out).exists("/2024/05/14/a-new-story/")


def test_search_records_of_a_killed_build_are_removed_by_the_next_build(run, tmp_path, monkeypatch):
    """A SIGKILLed build cannot clean up its Pagefind records, which live in /dev/shm
    (memory) where there is one: the next build removes folders whose process is gone."""
    from site_builder import search

    monkeypatch.setattr(search, "_swept", set())  # the build below runs in this test process: a new one, as a user's would
    scratch = Path(search.records_folder())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    abandoned = scratch / f"{search.RECORDS_PREFIX}{int(dead.stdout)}-test"
    alive = scratch / f"{search.RECORDS_PREFIX}{os.getpid()}-test"  # a build still running: kept
    for folder in (abandoned, alive):
        (folder / "records").mkdir(parents=True, exist_ok=True)
    try:
        site = make_site(tmp_path, {"content/a.md": GOOD})
        assert build(run, site).code == 0
        assert not abandoned.exists()
        assert alive.exists()
    finally:
        shutil.rmtree(abandoned, ignore_errors=True)
        shutil.rmtree(alive, ignore_errors=True)


# -- the "done when": 30 good stories among one hostile file of each kind ------------

def bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    return HEADER + "\n".join(lines) + "\n---\n"


HOSTILE_ERRORS = {
    "not-utf8.md": HEADER.encode() + b"excerpt: caf\xe9\n---\n",
    "empty.md": "",
    "no-front-matter.md": "Just a note\n",
    "unclosed.md": HEADER + "no closing fence\n",
    "invalid-yaml.md": HEADER + "category: Why: a story\n---\n",
    "not-a-mapping.md": "---\n- a\n- list\n---\n",
    "missing-fields.md": "---\ncategory: news\n---\n",
    "wrong-types.md": '---\ntitle: [a]\nwebUrl: 42\npublishedDateTime: "soon"\n---\n',
    "impossible-date.md": HEADER.replace("2024-05-14T09:30:00Z", "2024-02-30") + "---\n",
    "python-tag.md": HEADER + "excerpt: !!python/object/apply:os.system ['touch pwned']\n---\n",
    "alias-bomb.md": bomb(),
    "deep-nesting.md": HEADER + "excerpt: " + "[" * 100_000 + "]" * 100_000 + "\n---\n",
    "huge.md": HEADER + "---\n" + "word " * 500_000,
    "nul.md": HEADER.encode() + b"excerpt: a\x00b\n---\n",
    "slow-markdown.md": HEADER + "---\n" + "[" * 200_000,
    "javascript-web-url.md": article("JS link", "javascript:alert(1)//https://x.example"),
}
HOSTILE_WARNINGS = {  # published, with the dropped parts named
    # sorts after good-00.md, which keeps its card
    "zz-duplicate-url.md": article("Duplicate of good 0", "https://example.com/good/0"),
    "hostile-fields.md": hostile_article(99, "javascript:alert(1)"),
    "escaping-slug-and-domain.md": article(
        "Escape", "https://example.com/escape", slug='"../../../x"', provider="{name: E, domain: ../../etc}"
    ),
}
HOSTILE_VALID = {  # published as they are
    "bom-crlf.md": ("\ufeff" + article("Windows story", "https://example.com/crlf")).replace("\n", "\r\n").encode(),
    "same-title.md": article("Good story 1", "https://example.com/same-title"),
    "odd-topics.md": article("Odd topics", "https://example.com/odd", topics=("C++", "C", "../..", "a/b", "..")),
}


def test_thirty_good_stories_among_hostile_files(tmp_path):
    good = {
        f"content/good-{n:02d}.md": article(
            f"Good story {n}", f"https://example.com/good/{n}", f"2024-05-{n % 28 + 1:02d}T09:30:00Z", ("AI", f"T{n % 4}")
        )
        for n in range(30)
    }
    bad = {f"content/{name}": data for name, data in {**HOSTILE_ERRORS, **HOSTILE_WARNINGS, **HOSTILE_VALID}.items()}
    site = make_site(tmp_path / "site", {**good, **bad})
    outside_before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    result = subprocess.run(cli("build", site), env=env(), capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    for name in HOSTILE_ERRORS:
        assert any(l.startswith(f"content/{name}") and ": error: " in l for l in result.stderr.splitlines()), name
    for name in HOSTILE_WARNINGS:
        assert any(l.startswith(f"content/{name}") and ": warning: " in l for l in result.stderr.splitlines()), name
    assert "content/good-00.md" in next(l for l in result.stderr.splitlines() if "zz-duplicate-url" in l)
    for name in HOSTILE_VALID:
        assert f"content/{name}" not in result.stderr

    out = BuiltSite(site / "_site")
    names = [text_of(prop(e, "name")) for page in out.follow("/") for e in out.entries(page)]
    expected = {f"Good story {n}" for n in range(30)} | {"Windows story", "Odd topics", "Escape", XSS + "99"}
    assert expected <= set(names) and names.count("Good story 1") == 2
    assert "Duplicate of good 0" not in names and "JS link" not in names
    assert executable_in_site(site / "_site") == {}
    # Only _site and the build's own cache (.cache) may change.
    outside_after = {
        p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and not {"_site", ".cache"} & set(p.parts)
    }
    assert outside_after == outside_before
    assert not (tmp_path / "pwned").exists() and not (site / "pwned").exists()


def test_slow_markdown_is_bounded_off_the_main_thread_too():
    """The preview rebuilds in a thread, where no CPU timer can fire: the body is then
    converted in a child process with a deadline."""
    import threading

    from site_builder.markup import MarkupTooComplex, render_markdown

    outcome = {}

    def convert(body):
        started = time.monotonic()
        try:
            outcome["html"] = render_markdown(body)
        except MarkupTooComplex as exc:
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=convert, args=("[" * 30_000 + "x",))
    worker.start()
    worker.join(60)
    assert isinstance(outcome.get("error"), MarkupTooComplex)
    assert outcome["seconds"] < 10
    outcome.clear()
    worker = threading.Thread(target=convert, args=("A *fine* note. " * 500,))
    worker.start()
    worker.join(60)
    assert "<em>fine</em>" in outcome["html"]

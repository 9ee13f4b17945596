"""Output: deterministic, pruned, atomic; overrides; URL scheme; config errors."""

from __future__ import annotations

import filecmp
import os

import lxml.html
import pytest
from conftest import BuiltSite, article, make_site, prop, text_of, url


def snapshot(folder):
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def small_site(tmp_path):
    return make_site(tmp_path / "site", {
        "content/a.md": article("Alpha launches", "https://example.com/a", "2024-05-01T10:00:00Z", ["AI", "Cloud"]),
        "content/b.md": article("Beta ships", "https://example.com/b", "2024-05-02T10:00:00Z", ["AI"]),
        "content/c.md": article("Gamma", "https://example.com/c", "2024-05-03T10:00:00Z", ["Cloud"]),
    })


def test_same_input_gives_byte_identical_output(small_site, tmp_path, run):
    assert run("build", small_site, "-o", tmp_path / "one").code == 0
    assert run("build", small_site, "-o", tmp_path / "two").code == 0
    compare = filecmp.dircmp(tmp_path / "one", tmp_path / "two")
    one = {k: v[0] for k, v in snapshot(tmp_path / "one").items()}
    two = {k: v[0] for k, v in snapshot(tmp_path / "two").items()}
    assert one == two and not compare.diff_files


def test_second_build_writes_nothing(small_site, run):
    first = run("build", small_site)
    assert "0 removed" in first.out
    before = snapshot(small_site / "_site")
    second = run("build", small_site)
    assert "0 written, 0 removed" in second.out
    assert snapshot(small_site / "_site") == before  # same bytes, same mtimes


def test_an_edit_rewrites_only_pages_showing_the_story(small_site, run):
    run("build", small_site)
    before = snapshot(small_site / "_site")
    (small_site / "content/c.md").write_text(
        article("Gamma renamed", "https://example.com/c", "2024-05-03T10:00:00Z", ["Cloud"])
    )
    run("build", small_site)
    after = snapshot(small_site / "_site")
    changed = {k for k in after if k not in before or after[k] != before[k]}
    # old permalink gone, new one added, listings showing it rewritten; AI page untouched
    assert "2024/05/03/gamma-renamed/index.html" in changed
    assert "2024/05/03/gamma/index.html" not in after
    assert {"index.html", "topics/cloud/index.html"} <= changed
    assert "topics/ai/index.html" not in changed
    assert "2024/05/02/beta-ships/index.html" not in changed


def test_deleted_story_and_emptied_topic_disappear(small_site, run):
    run("build", small_site)
    out = BuiltSite(small_site / "_site")
    assert out.exists("/topics/cloud/")
    (small_site / "content/a.md").unlink()
    (small_site / "content/c.md").unlink()
    result = run("build", small_site)
    assert result.code == 0
    assert not out.exists("/2024/05/01/alpha-launches/")
    assert not out.exists("/topics/cloud/")
    assert [text_of(prop(e, "name")) for e in out.entries("/")] == ["Beta ships"]
    assert "removed" in result.out and " 0 removed" not in result.out


def test_template_error_leaves_previous_site(small_site, run):
    run("build", small_site)
    before = snapshot(small_site / "_site")
    make_site(small_site, {"templates/topic.html": "{% extends 'base.html' %}{% block main %}{{ nope }}{% endblock %}"})
    result = run("build", small_site)
    assert result.code == 1
    assert "topic.html" in result.err and "'nope' is undefined" in result.err
    assert "Traceback" not in result.err
    assert snapshot(small_site / "_site") == before
    assert not any(p.name.endswith(".staging") for p in small_site.iterdir())


def test_template_syntax_error_names_file_and_line(small_site, run):
    make_site(small_site, {"templates/topics.html": "{% extends 'base.html' %}\n{% block main %}\n{% for %}\n{% endblock %}"})
    result = run("build", small_site)
    assert result.code == 1
    assert "topics.html:3: template error" in result.err


def test_a_dangling_link_or_a_pipe_in_static_is_not_a_file_to_copy(small_site, run):
    """Only regular files (or links to them) are theme files: a build neither stops on a
    link to nothing nor waits forever on a named pipe; it names both and copies the rest."""
    site = make_site(small_site, {"static/kept.css": "a{}"})
    (site / "static/gone.css").symlink_to(site / "nowhere.css")
    os.mkfifo(site / "static/pipe.css")
    result = run("build", site)
    assert result.code == 1, result.err
    assert "static/gone.css: error: is a link to nothing" in result.err
    assert "static/pipe.css: error: is a named pipe" in result.err
    assert (site / "_site/kept.css").is_file()
    assert not (site / "_site/gone.css").exists() and not (site / "_site/pipe.css").exists()


def test_site_templates_and_static_override_the_theme(small_site, run):
    make_site(small_site, {
        "templates/404.html": "{% extends 'base.html' %}{% block main %}<h1>Lost at sea</h1>{% endblock %}",
        "static/assets/site.css": "body { color: red }",
        "static/favicon.ico": b"\x00\x01icon",
        "static/.DS_Store": b"junk",
    })
    assert run("build", small_site).code == 0
    out = small_site / "_site"
    assert "Lost at sea" in (out / "404.html").read_text()
    assert (out / "assets/site.css").read_text() == "body { color: red }"
    assert (out / "favicon.ico").read_bytes() == b"\x00\x01icon"
    assert not (out / ".DS_Store").exists()


def test_static_file_may_not_replace_a_page(small_site, run):
    make_site(small_site, {"static/topics/index.html": "<p>mine</p>"})
    result = run("build", small_site)
    assert result.code == 2
    assert "static/topics/index.html would overwrite a generated page" in result.err


def test_topics_that_slugify_alike_get_their_own_pages(tmp_path, run):
    site = make_site(tmp_path, {
        "content/a.md": article("Modules land", "https://example.com/a", topics=["C++"]),
        "content/b.md": article("Records land", "https://example.com/b", topics=["C#"]),
        "content/c.md": article("Plain C", "https://example.com/c", topics=["C", "ai"]),
        "content/d.md": article("Big AI", "https://example.com/d", topics=["AI"]),
        "content/e.md": article("More AI", "https://example.com/e", topics=["AI"]),
    })
    assert run("build", site).code == 0
    out = BuiltSite(site / "_site")
    index = out.mf2("/topics/")
    links = {index["rel-urls"][u]["text"]: u for u in index["rels"]["tag"]}
    assert set(links) == {"C++", "C#", "C", "AI"}  # "ai" and "AI" are one topic
    assert len(set(links.values())) == 4
    assert [text_of(prop(e, "name")) for e in out.entries(links["C++"])] == ["Modules land"]
    assert [text_of(prop(e, "name")) for e in out.entries(links["C#"])] == ["Records land"]
    assert len(out.entries(links["AI"])) == 3


def test_same_title_same_day_get_distinct_permalinks(tmp_path, run):
    site = make_site(tmp_path, {
        "content/x.md": article("Same headline", "https://one.example/s", "2024-05-01T08:00:00Z"),
        "content/y.md": article("Same headline", "https://two.example/s", "2024-05-01T09:00:00Z"),
        "content/z.md": article("Custom", "https://three.example/s", "2024-05-01T09:00:00Z", slug='"My Own Slug"'),
    })
    assert run("build", site).code == 0
    out = BuiltSite(site / "_site")
    urls = {prop(e, "bookmark-of"): prop(e, "url") for e in out.entries("/")}
    assert urls["https://one.example/s"] == url("/2024/05/01/same-headline/")
    assert urls["https://two.example/s"] == url("/2024/05/01/same-headline-2/")
    assert urls["https://three.example/s"] == url("/2024/05/01/my-own-slug/")


def test_permalink_and_pagination_settings(tmp_path, run):
    files = {"site.toml": 'permalink = "/news/{year}/{slug}/"\npaginate = 2\ntitle = "Chip Watch"\n'}
    for i in range(5):
        files[f"content/{i}.md"] = article(f"Story {i}", f"https://example.com/{i}", f"2024-05-0{i + 1}T10:00:00Z")
    site = make_site(tmp_path, files)
    assert run("build", site).code == 0
    out = BuiltSite(site / "_site")
    pages = out.follow("/")
    assert pages == [url("/"), url("/page/2/"), url("/page/3/")]
    assert [len(out.entries(p)) for p in pages] == [2, 2, 1]
    assert prop(out.entries("/")[0], "url") == url("/news/2024/story-4/")
    assert out.follow("/topics/ai/")[-1] == url("/topics/ai/page/3/")


@pytest.mark.parametrize(
    "toml, message",
    [
        ('titel = "x"', "unknown setting 'titel'. Did you mean 'title'?"),
        ("paginate = '20'", "'paginate' must be a whole number"),
        ('timezone = "Mars/Olympus"', "unknown timezone 'Mars/Olympus'"),
        ('permalink = "/{year}/"', "'permalink' must contain {slug}"),
        ('permalink = "/{author}/{slug}/"', "unknown field {author}"),
        ('base_url = "example.com"', "'base_url' must be an absolute http(s) URL"),
        ("title = ", "not valid TOML"),
        ('search = "no"', "'search' must be a true or false"),
        ('cname = "https://news.example.com/"', "'cname' must be a bare host name"),
    ],
)
def test_config_errors_exit_2_with_a_fix(tmp_path, run, toml, message):
    site = make_site(tmp_path, {"site.toml": toml, "content/a.md": article()})
    result = run("build", site)
    assert result.code == 2
    assert message in result.err and "site.toml" in result.err
    assert not (site / "_site").exists()


def test_missing_content_folder_and_usage_errors(tmp_path, run):
    result = run("build", tmp_path)
    assert result.code == 2 and "no content/ folder" in result.err
    with pytest.raises(SystemExit) as exit_info:
        run("build", "--no-such-flag")
    assert exit_info.value.code == 2


def test_output_folder_that_is_not_a_site_is_refused(tmp_path, run):
    site = make_site(tmp_path / "site", {"content/a.md": article()})
    precious = tmp_path / "docs"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    result = run("build", site, "-o", precious)
    assert result.code == 2 and "thesis.tex" in result.err and "-o" in result.err
    assert (precious / "thesis.tex").read_text() == "years of work"
    assert run("build", site, "-o", site).code == 2


def test_base_url_prefixes_every_link(small_site, run):
    assert run("build", small_site, "--base-url", "https://user.github.io/repo/").code == 0
    out = BuiltSite(small_site / "_site", base_path="/repo/")
    home = out.mf2("/repo/")
    for rel_urls in home["rel-urls"]:
        if rel_urls.startswith(url("")):
            assert rel_urls.startswith(url("/repo/")), rel_urls
    entry = out.entries("/repo/")[0]
    assert prop(entry, "url").startswith(url("/repo/2024/"))
    assert os.path.isfile(out.file_for(prop(entry, "url")))


def test_check_writes_nothing_in_the_site(small_site, run):
    before = sorted(p.relative_to(small_site) for p in small_site.rglob("*"))
    assert run("check", small_site).code == 0
    assert sorted(p.relative_to(small_site) for p in small_site.rglob("*")) == before


def test_search_can_be_turned_off(small_site, run):
    def search_parts() -> list[str]:  # the search box and script, as a browser finds them
        tree = lxml.html.fromstring((out / "index.html").read_bytes())
        return [e.tag for e in tree.xpath('//*[@role="search"] | //script[contains(@src, "search")]')]

    assert run("build", small_site).code == 0
    out = small_site / "_site"
    assert (out / "pagefind" / "pagefind.js").is_file() and (out / "search" / "index.html").is_file()
    assert sorted(search_parts()) == ["form", "script"]
    (small_site / "site.toml").write_text("search = false\n")
    assert run("build", small_site).code == 0
    assert not (out / "pagefind").exists() and not (out / "search").exists()
    assert search_parts() == []  # no search box, no search script


def test_pagefind_gets_its_allocator_setting_unless_the_user_set_one_and_the_index_is_the_same(small_site, tmp_path, monkeypatch):
    import subprocess

    from site_builder import search
    from site_builder.builder import BuildOptions, build

    environments = []
    real_popen = subprocess.Popen
    monkeypatch.setattr(search.subprocess, "Popen", lambda *a, **k: environments.append(k.get("env")) or real_popen(*a, **k))
    monkeypatch.delenv("_RJEM_MALLOC_CONF", raising=False)
    build(BuildOptions(small_site, out_dir=tmp_path / "tuned"))
    monkeypatch.setenv("_RJEM_MALLOC_CONF", "")  # the user's own (empty: jemalloc's defaults)
    build(BuildOptions(small_site, out_dir=tmp_path / "user"))
    assert [env["_RJEM_MALLOC_CONF"] for env in environments] == ["tcache_max:131072", ""]
    assert environments[0]["PATH"] == os.environ["PATH"]  # the rest of the environment is passed on
    tuned, user = (snapshot(tmp_path / name / "pagefind") for name in ("tuned", "user"))
    assert {k: v[0] for k, v in tuned.items()} == {k: v[0] for k, v in user.items()} and tuned

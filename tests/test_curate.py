"""`site-builder review`, `publish` and `reject` through the real CLI on real sites: the
built site (read with mf2py) follows each choice, a rejected story's file stays and
`import` never brings it back, and the files change by exactly the lines expected."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from conftest import EXAMPLE_RECORD, BuiltSite, article, make_site, prop, text_of

REAL_URL = ("https://www.cpomagazine.com/data-privacy/leading-law-enforcement-facial-recognition-provider-"
            "clearview-ai-faces-joint-international-privacy-investigation/")
REAL_TITLE = "Leading Law Enforcement Facial Recognition Provider Clearview AI Faces Joint International Privacy Investigation"


@pytest.fixture
def site(tmp_path) -> Path:
    return make_site(tmp_path / "site", {
        "content/000_e3a5008296bfb040.txt": EXAMPLE_RECORD.read_bytes(),
        "content/live.md": article("Already live", "https://example.com/live", published="true"),
        "content/cand-1.md": article("Candidate one", "https://example.com/one", "2024-05-15T09:00:00Z",
                                     topics=("Rust",), published="false", quality="80", heat="12",
                                     provider="\n  name: Example\n  domain: example.com"),
        "content/cand-2.md": article("Candidate two", "https://example.com/two", "2024-05-16T09:00:00Z",
                                     topics=("AI",), published="false", quality="20"),
    })


def names(out: BuiltSite, url: str = "/") -> list[str]:
    return sorted(text_of(prop(e, "name")) for e in out.entries(url))


def one_line_diff(before: bytes, after: bytes) -> list[str]:
    return [line for line in difflib.unified_diff(before.decode().splitlines(), after.decode().splitlines(), n=0, lineterm="")
            if not line.startswith(("---", "+++", "@@"))]


def test_publish_then_build_shows_the_story(site, run, monkeypatch):
    record = site / "content" / "000_e3a5008296bfb040.txt"
    before = record.read_bytes()
    monkeypatch.chdir(site)
    result = run("publish", "content/000_e3a5008296bfb040.txt")
    assert (result.code, result.out, result.err) == (0, "published content/000_e3a5008296bfb040.txt\n", "")
    assert one_line_diff(before, record.read_bytes()) == ["-published: false", "+published: true"]
    assert run("build", ".").code == 0
    out = BuiltSite(site / "_site")
    assert names(out) == sorted(["Already live", REAL_TITLE])
    [card] = [e for e in out.entries("/") if text_of(prop(e, "name")) == REAL_TITLE]
    assert prop(card, "bookmark-of") == REAL_URL
    again = run("publish", "content/000_e3a5008296bfb040.txt")
    assert (again.code, again.out) == (0, "already published content/000_e3a5008296bfb040.txt\n")


@pytest.mark.parametrize("drafts", [False, True])
def test_reject_then_build_leaves_it_out_and_keeps_its_file(site, run, drafts):
    record = site / "content" / "000_e3a5008296bfb040.txt"
    before = record.read_bytes()
    result = run("reject", "--site", site, REAL_URL.replace("https://www.cpomagazine.com", "HTTPS://WWW.CPOMAGAZINE.COM") + "#comments")
    assert (result.code, result.out) == (0, "rejected content/000_e3a5008296bfb040.txt\n")
    assert one_line_diff(before, record.read_bytes()) == ["+rejected: true"]
    assert run("build", site, *(["--drafts"] if drafts else [])).code == 0
    out = BuiltSite(site / "_site")
    assert names(out) == sorted(["Already live"] + (["Candidate one", "Candidate two"] if drafts else []))
    assert not any(REAL_URL in p.read_text("utf-8", errors="replace") for p in out.all_files())
    assert record.is_file()
    listed = json.loads(run("review", site, "--json").out)
    assert [item["path"] for item in listed] == ["content/cand-2.md", "content/cand-1.md"]


def test_import_never_brings_a_rejected_story_back(site, run, tmp_path):
    assert run("reject", "--site", site, site / "content" / "cand-1.md").code == 0
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "Example",
        "items": [{"id": "1", "url": "https://example.com/one", "title": "Candidate one, again",
                   "date_published": "2024-05-15T09:00:00Z", "content_text": "Back?"}],
    }))
    files = sorted((site / "content").iterdir())
    result = run("import", feed, "--site", site)
    assert (result.code, result.out.splitlines()[-1]) == (0, "0 new, 1 skipped, 0 invalid")
    assert sorted((site / "content").iterdir()) == files


def test_publish_clears_a_rejection(site, run):
    path = site / "content" / "cand-1.md"
    assert run("reject", "--site", site, path).out == "rejected content/cand-1.md\n"
    rejected = path.read_bytes()
    assert run("reject", "--site", site, path).out == "already rejected content/cand-1.md\n"
    assert run("publish", "--site", site, "content/cand-1.md").out == "published content/cand-1.md\n"
    assert one_line_diff(rejected, path.read_bytes()) == [
        "-published: false", "-rejected: true", "+published: true", "+rejected: false"]
    assert run("build", site).code == 0
    assert "Candidate one" in names(BuiltSite(site / "_site"))


def test_one_failure_never_stops_the_others(site, run, tmp_path):
    (site / "content" / "broken.md").write_text("---\ntitle: [unclosed\n---\n")
    outside = tmp_path / "outside.md"
    outside.write_text(article("Outside"))
    result = run("publish", "--site", site, "missing.md", "content/broken.md", "https://nowhere.example/x",
                 outside, "content/cand-2.md", "content/live.md")
    assert result.code == 1
    assert result.out.splitlines() == ["published content/cand-2.md", "already published content/live.md"]
    errors = result.err.splitlines()
    assert errors[0] == "missing.md: error: no such file; give a content file's path or a story's webUrl"
    assert errors[1].startswith("content/broken.md:2: error: invalid YAML")
    assert errors[2] == "https://nowhere.example/x: error: no article file in the site has this webUrl"
    assert errors[3] == f"{outside.as_posix()}: error: outside the site's content/ folder; only article files there are edited"
    assert len(errors) == 4
    assert outside.read_text() == article("Outside")


def test_review_lists_sorts_and_filters(site, run):
    listed = json.loads(run("review", site, "--json").out)
    assert [item["path"] for item in listed] == ["content/cand-2.md", "content/cand-1.md", "content/000_e3a5008296bfb040.txt"]
    real = listed[2]
    assert real == {
        "path": "content/000_e3a5008296bfb040.txt", "title": REAL_TITLE, "url": REAL_URL,
        "published": "2020-07-21T16:00:00+00:00", "quality": 53, "heat": -1, "source": "cpomagazine.com",
        "topics": ["Computer Vision", "AI"], "excerpt": real["excerpt"],
    }
    assert real["excerpt"].startswith("Facial recognition provider Clearview AI")

    def paths(*flags):
        result = run("review", site, "--json", *flags)
        assert result.code == 0, result.err
        return [item["path"].removeprefix("content/") for item in json.loads(result.out)]

    assert paths("--sort", "quality") == ["cand-1.md", "000_e3a5008296bfb040.txt", "cand-2.md"]
    assert paths("--sort", "heat") == ["cand-1.md", "000_e3a5008296bfb040.txt", "cand-2.md"]
    assert paths("--topic", "ai") == ["cand-2.md", "000_e3a5008296bfb040.txt"]
    assert paths("--source", "example.com") == ["cand-1.md"]
    assert paths("--min-quality", "50") == ["cand-1.md", "000_e3a5008296bfb040.txt"]
    assert paths("--search", "CLEARVIEW") == ["000_e3a5008296bfb040.txt"]

    table = run("review", site, "--sort", "quality")
    assert table.code == 0
    lines = table.out.splitlines()
    assert lines[0].split() == ["date", "quality", "heat", "source", "title", "path"]
    assert lines[1].split()[:5] == ["2024-05-15", "09:00", "80", "12", "example.com"]
    assert lines[1].endswith("  content/cand-1.md")
    assert lines[-1] == "3 candidates"
    assert run("review", site, "--topic", "rust").out.splitlines()[-1] == "1 of 3 candidates"
    (site / "content" / "broken.md").write_text("---\ntitle: [unclosed\n---\n")
    noted = run("review", site)
    assert (noted.code, noted.out.splitlines()[-1]) == (0, "3 candidates")
    assert noted.err == "note: 1 article file with errors not listed; 'site-builder check' names them\n"
    with pytest.raises(SystemExit) as usage:
        run("review", site, "--sort", "random")
    assert usage.value.code == 2

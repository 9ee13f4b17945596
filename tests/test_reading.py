"""Reading article files: what is accepted, and what an editor is told when it is not."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from conftest import BuiltSite, article, make_site, prop, text_of


def build_one(tmp_path, run, files, *flags):
    site = make_site(tmp_path / "site", files)
    result = run("build", site, *flags)
    return result, BuiltSite(site / "_site")


def home_entries(site: BuiltSite) -> dict[str, dict]:
    return {text_of(prop(e, "name")): e for e in site.entries("/")}


def test_bad_files_are_named_with_line_and_fix_and_good_ones_still_build(tmp_path, run):
    files = {
        "content/good.md": article("Good story", "https://example.com/good"),
        "content/bad-yaml.md": "---\ntitle: Broken: a colon story\nwebUrl: https://example.com/x\n---\n",
        "content/no-title.md": "---\nwebUrl: https://example.com/y\npublishedDateTime: 2024-01-01T00:00:00Z\n---\n",
        "content/bad-url.txt": article("Bad url", "ftp://example.com/z"),
        "content/bad-date.md": "---\ntitle: Dated\nwebUrl: https://example.com/d\n\npublishedDateTime: last tuesday\n---\n",
    }
    result, site = build_one(tmp_path, run, files)
    assert result.code == 1
    assert set(home_entries(site)) == {"Good story"}
    errors = result.err.splitlines()
    yaml_error = next(e for e in errors if e.startswith("content/bad-yaml.md"))
    assert yaml_error.startswith("content/bad-yaml.md:2: error: invalid YAML: mapping values are not allowed")
    assert "in quotes" in yaml_error
    assert any(e.startswith("content/no-title.md:1: error: missing required field 'title'") for e in errors)
    assert any(e.startswith("content/bad-url.txt:3: error: 'webUrl' must be an http:// or https:// address") for e in errors)
    assert any(e.startswith("content/bad-date.md:5: error: 'publishedDateTime' is not a valid date") and "ISO 8601" in e for e in errors)
    assert "Traceback" not in result.err
    assert re.search(r"4 errors in \d+\.\d\d s; the site is [\d.]+ KB$", result.out.strip()), result.out


def test_every_error_of_one_file_is_reported(tmp_path, run):
    text = "---\ntitle: ''\nwebUrl: nope\npublishedDateTime: soon\npublished: no\n---\n"
    result, _ = build_one(tmp_path, run, {"content/a.md": text})
    lines = [l for l in result.err.splitlines() if l.startswith("content/a.md")]
    assert [l.split(":")[1] for l in lines] == ["2", "3", "4", "5"]
    assert "'published' must be true or false, got 'no'" in lines[3]


def test_yaml_implicit_types_read_as_editors_mean_them(tmp_path, run):
    text = article("Norway", "https://example.com/no", topics=None) + ""
    text = text.replace("---\n", "---\ntopics:\n  - no\n  - 10:00\n  - 010\n  - on\n", 1)
    _, site = build_one(tmp_path, run, {"content/a.md": text})
    entry = home_entries(site)["Norway"]
    assert entry["properties"]["category"] == ["no", "10:00", "010", "on"]


def test_topics_as_one_string_and_unknown_fields(tmp_path, run):
    text = article("One topic", topics=None, topics_note="x").replace(
        "topics_note: x", "topics: Machine Learning\nfavouriteColour: blue\nlikes: [1, 2]"
    )
    result, site = build_one(tmp_path, run, {"content/a.md": text})
    assert result.code == 0 and "warning" not in result.err and "error" not in result.err
    assert home_entries(site)["One topic"]["properties"]["category"] == ["Machine Learning"]


def test_dates_without_offset_are_site_local_time(tmp_path, run):
    files = {
        "site.toml": 'timezone = "America/New_York"\n',
        "content/a.md": article("Local", "https://example.com/1", date="2024-03-01T23:30:00"),
        "content/b.md": article("Offset", "https://example.com/2", date="2024-03-01T23:30:00+01:00"),
        "content/c.md": "---\ntitle: Bare date\nwebUrl: https://example.com/3\npublishedDateTime: 2024-03-01\n---\n",
        "content/d.md": "---\ntitle: Unquoted\nwebUrl: https://example.com/4\npublishedDateTime: 2024-03-01T10:00:00Z\n---\n",
    }
    result, site = build_one(tmp_path, run, files)
    assert result.code == 0, result.err
    entries = home_entries(site)
    ny = ZoneInfo("America/New_York")
    when = {name: datetime.fromisoformat(prop(e, "published")) for name, e in entries.items()}
    assert when["Local"] == datetime(2024, 3, 1, 23, 30, tzinfo=ny)
    assert when["Offset"] == datetime(2024, 3, 1, 22, 30, tzinfo=timezone.utc)
    assert when["Bare date"] == datetime(2024, 3, 1, 0, 0, tzinfo=ny)
    assert when["Unquoted"] == datetime(2024, 3, 1, 10, 0, tzinfo=timezone.utc)
    # The permalink uses the local date: 23:30 in New York on 1 March stays on 1 March.
    assert "/2024/03/01/local/" in prop(entries["Local"], "url")


def test_future_stories_wait_unless_asked(tmp_path, run):
    soon = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
    files = {
        "content/now.md": article("Out now", "https://example.com/1"),
        "content/later.md": article("Embargoed", "https://example.com/2", date=soon),
    }
    _, site = build_one(tmp_path, run, files)
    assert set(home_entries(site)) == {"Out now"}
    _, site = build_one(tmp_path, run, {}, "--future")
    assert set(home_entries(site)) == {"Out now", "Embargoed"}


def test_hidden_and_editor_files_are_not_articles_but_subfolders_are(tmp_path, run):
    good = article("Nested", "https://example.com/n")
    files = {
        "content/2024/may/nested.markdown": good,
        "content/.hidden.md": article("Hidden", "https://example.com/h"),
        "content/.git/thing.md": article("Git", "https://example.com/g"),
        "content/draft.md~": article("Backup", "https://example.com/b"),
        "content/.#lock.md": "not even yaml",
        "content/notes.rst": "ignored: not an article suffix",
        "content/README": "ignored",
    }
    result, site = build_one(tmp_path, run, files)
    assert result.code == 0, result.err
    assert set(home_entries(site)) == {"Nested"}


def test_a_linked_article_file_is_read_and_a_linked_folder_is_not_walked(tmp_path, run):
    """A symlink to a file within the site counts; one to a folder (even one named like
    an article, even a loop back up) is neither read nor walked, and named when it leads
    out of the site (tests/test_trust_links.py has the files linked from outside)."""
    outside = make_site(tmp_path / "elsewhere", {"folder/inside.md": article("Behind a link", "https://example.com/b")})
    site = make_site(tmp_path / "site", {"content/own.md": article("Own", "https://example.com/o"),
                                         "kept/kept.md": article("Linked file", "https://example.com/l")})
    (site / "content/kept.md").symlink_to(site / "kept/kept.md")
    (site / "content/linked.md").symlink_to(outside / "folder", target_is_directory=True)
    (site / "content/loop").symlink_to(site / "content", target_is_directory=True)
    result = run("build", site)
    assert result.code == 1, result.err
    assert result.err.startswith("content/linked.md: error: is a link to a folder outside the site folder")
    assert "loop" not in result.err
    assert set(home_entries(BuiltSite(site / "_site"))) == {"Own", "Linked file"}


def test_bom_and_crlf_files_build(tmp_path, run):
    text = article("Windows file", "https://example.com/w").replace("\n", "\r\n")
    result, site = build_one(tmp_path, run, {"content/w.md": b"\xef\xbb\xbf" + text.encode()})
    assert result.code == 0, result.err
    assert set(home_entries(site)) == {"Windows file"}


def test_check_validates_without_writing(tmp_path, run):
    site = make_site(tmp_path, {
        "content/a.md": article("Fine"),
        "content/b.md": "---\ntitle: [unclosed\n---\n",
    })
    result = run("check", site)
    assert result.code == 1
    assert "content/b.md:2: error: invalid YAML" in result.err
    assert result.out.startswith("Checked 1 articles")
    assert not (site / "_site").exists()


def test_unclosed_front_matter_and_missing_fence(tmp_path, run):
    site = make_site(tmp_path, {
        "content/open.md": "---\ntitle: x\n",
        "content/plain.md": "Just some notes\n",
        "content/empty.md": "",
    })
    result = run("check", site)
    assert "content/open.md:1: error: the front matter opened by '---' on line 1 is never closed" in result.err
    assert "content/plain.md:1: error: no front matter" in result.err
    assert "content/empty.md:1: error: the file is empty" in result.err

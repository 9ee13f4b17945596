"""`site-builder import` with no SOURCE: every [[sources]] feed of site.toml refreshed
from a real HTTP server on 127.0.0.1 that counts its requests. Conditional GET (ETag and
Last-Modified answered with 304, nothing written), a feed that changes, failures that
cost only their source, gzip (and a gzip bomb), redirects, review and auto sources,
and a state file that may be broken or hostile."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from conftest import BuiltSite, make_site, prop, text_of
from feedserver import FeedServer, Route, json_feed, rss_feed
from site_builder import importer
from site_builder.content import parse_article
from site_builder.subscriptions import STATE_FILE
from site_builder.watch import SiteWatcher

TIMEOUT = 1.0  # importer.FETCH_TIMEOUT for these tests, seconds
CAP = 1024 * 1024  # importer.MAX_FEED_BYTES for these tests
LAST_MODIFIED = "Tue, 14 May 2024 08:00:00 GMT"


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(importer, "FETCH_TIMEOUT", TIMEOUT)
    monkeypatch.setattr(importer, "MAX_FEED_BYTES", CAP)
    feeds = FeedServer().start()
    yield feeds
    feeds.close()


def site_with(tmp_path: Path, *tables: str, extra: dict | None = None) -> Path:
    toml = 'base_url = "https://news.example/"\n' + "".join(f"\n[[sources]]\n{t.strip()}\n" for t in tables)
    return make_site(tmp_path / "site", {"site.toml": toml, **(extra or {})})


def stories(site: Path) -> dict[str, dict]:
    """Each article file's front matter by title, read as the site reads it."""
    found = {}
    for path in sorted((site / "content").iterdir()):
        result = parse_article(path.read_bytes(), path.name, None)
        assert not result.problems, result.problems
        found[result.article.title] = {"draft": result.article.draft, "topics": list(result.article.topics)}
    return found


def files(site: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted((site / "content").iterdir())}


def state(site: Path) -> dict:
    return json.loads((site / STATE_FILE).read_text(encoding="utf-8"))["sources"]


def lines(result) -> dict[str, str]:
    """The line each source ends with, by its url."""
    found = {}
    for line in result.out.splitlines():
        url, sep, rest = line.partition(": ")
        if sep and url.startswith("http"):
            found[url] = rest
    return found


def test_etag_and_last_modified_make_the_second_run_a_304_that_writes_nothing(server, tmp_path, run):
    server.routes = {
        "/etag.json": Route(json_feed("One", "Two"), etag='"v1"'),
        "/modified.xml": Route(rss_feed("Three"), last_modified=LAST_MODIFIED),
    }
    etag_url, modified_url = server.url + "/etag.json", server.url + "/modified.xml"
    site = site_with(tmp_path, f'url = "{etag_url}"', f'url = "{modified_url}"')

    first = run("import", "--site", site)
    assert first.code == 0, first.err
    assert lines(first) == {etag_url: "2 new, 0 skipped", modified_url: "1 new, 0 skipped"}
    assert set(stories(site)) == {"One", "Two", "Three"}
    remembered = state(site)
    assert remembered[etag_url]["etag"] == '"v1"' and "last_modified" not in remembered[etag_url]
    assert remembered[modified_url]["last_modified"] == LAST_MODIFIED
    # an old success, to see the second run move it
    for entry in remembered.values():
        entry["last_success"] = "2000-01-01T00:00:00Z"
    (site / STATE_FILE).write_text(json.dumps({"version": 1, "sources": remembered}), encoding="utf-8")
    before = files(site)

    second = run("import", "--site", site)
    assert second.code == 0, second.err
    assert lines(second) == {etag_url: "not modified", modified_url: "not modified"}
    assert second.out.splitlines()[-1] == "2 sources: 0 new, 0 skipped, 2 not modified, 0 failed"
    [_, etag_again] = server.served("/etag.json")
    [_, modified_again] = server.served("/modified.xml")
    assert (etag_again.if_none_match, etag_again.status) == ('"v1"', 304)
    assert (modified_again.if_modified_since, modified_again.status) == (LAST_MODIFIED, 304)
    assert files(site) == before  # not a byte, not a modification time
    after = state(site)
    for url in (etag_url, modified_url):
        assert after[url]["last_success"] > "2000-01-01T00:00:00Z"
        assert {k: v for k, v in after[url].items() if k != "last_success"} == \
               {k: v for k, v in remembered[url].items() if k != "last_success"}


def test_a_feed_that_changes_between_runs_brings_only_its_new_stories(server, tmp_path, run):
    server.routes = {"/feed.json": Route(json_feed("One", "Two"), etag='"v1"')}
    url = server.url + "/feed.json"
    site = site_with(tmp_path, f'url = "{url}"')
    assert run("import", "--site", site).code == 0
    server.routes["/feed.json"] = Route(json_feed("One", "Two", "Three"), etag='"v2"')

    again = run("import", "--site", site)
    assert lines(again) == {url: "1 new, 2 skipped"}
    assert set(stories(site)) == {"One", "Two", "Three"}
    assert state(site)[url]["etag"] == '"v2"'
    assert [seen.status for seen in server.served("/feed.json")] == [200, 200]


def test_one_failing_source_never_stops_the_others_and_the_run_exits_1(server, tmp_path, run):
    bomb = gzip.compress(b"\0" * (50 * CAP))  # 50 MiB once decompressed, 50 KiB on the wire
    server.routes = {
        "/500": Route(status=500),
        "/hang-1": Route(hang=True),
        "/hang-2": Route(hang=True),
        "/good.json": Route(json_feed("Good one")),
        "/moved": Route(location="/target.xml"),
        "/target.xml": Route(rss_feed("Moved one")),
        "/gzip.json": Route(json_feed("Zipped one", host="zip.example"), gzip=True),
        "/bomb": Route(raw_gzip=bomb),
        "/not-a-feed": Route(b"<html>hello</html>"),
        "/broken-gzip": Route(raw_gzip=b"these bytes are not gzip"),
    }
    site = site_with(tmp_path, *(f'url = "{server.url}{path}"' for path in server.routes if path != "/target.xml"))

    result = run("import", "--site", site)
    assert result.code == 1
    assert "Traceback" not in result.err
    u = server.url
    assert lines(result) == {
        f"{u}/500": "failed: could not fetch: HTTP 500 Internal Server Error",
        f"{u}/hang-1": f"failed: could not fetch: no complete response within {TIMEOUT:g} s; gave up",
        f"{u}/hang-2": f"failed: could not fetch: no complete response within {TIMEOUT:g} s; gave up",
        f"{u}/good.json": "1 new, 0 skipped",
        f"{u}/moved": "1 new, 0 skipped",
        f"{u}/gzip.json": "1 new, 0 skipped",
        f"{u}/bomb": "failed: could not fetch: the response is larger than the 1 MiB limit once decompressed; stopped reading",
        f"{u}/not-a-feed": "failed: not a feed: no Atom, RSS or JSON Feed found",
        f"{u}/broken-gzip": "failed: could not fetch: the response's gzip encoding is broken",
    }
    assert set(stories(site)) == {"Good one", "Moved one", "Zipped one"}
    assert server.served("/gzip.json")[0].accept_encoding == "gzip"
    assert server.most_hanging == 2  # the two slow sources were waited on at once, not in turn
    remembered = state(site)
    assert remembered[f"{u}/500"]["last_error"] == "could not fetch: HTTP 500 Internal Server Error"
    assert "last_success" not in remembered[f"{u}/500"] and "last_error_at" in remembered[f"{u}/500"]
    assert "last_error" not in remembered[f"{u}/good.json"] and "last_success" in remembered[f"{u}/good.json"]

    listed = run("sources", "--site", site)
    assert listed.code == 0
    assert "last success never; last error " in listed.out
    assert ": could not fetch: HTTP 500 Internal Server Error" in listed.out


def test_review_sources_bring_candidates_auto_sources_publish_and_topics_are_added(server, tmp_path, run):
    server.routes = {"/review.json": Route(json_feed("Candidate one", "Rejected one", host="r.example")),
                     "/auto.xml": Route(rss_feed("Published one"))}
    # the editor rejected this story earlier: it stays in content/, so it never comes back
    rejected = ('---\ntitle: "Rejected one"\nwebUrl: "https://r.example/rejected-one"\n'
                'publishedDateTime: "2024-05-14T08:00:00Z"\npublished: false\nrejected: true\n---\n')
    site = site_with(tmp_path, f'url = "{server.url}/review.json"\ntopics = ["Inbox", "Review"]',
                     f'url = "{server.url}/auto.xml"\npublish = "auto"\nname = "RSS News"\ntopics = ["Auto"]',
                     extra={"content/rejected.md": rejected})
    result = run("import", "--site", site)
    assert result.code == 0, result.err
    assert lines(result)[f"{server.url}/review.json"] == "1 new, 1 skipped"
    found = stories(site)
    assert found["Candidate one"] == {"draft": True, "topics": ["Feed tag", "Inbox", "Review"]}
    assert found["Published one"] == {"draft": False, "topics": ["Auto"]}
    assert (site / "content" / "rejected.md").read_text(encoding="utf-8") == rejected

    assert run("build", site).code == 0
    cards = {text_of(prop(e, "name")): e for e in BuiltSite(site / "_site").entries("/")}
    assert set(cards) == {"Published one"}  # candidates wait for the desk
    assert cards["Published one"]["properties"]["category"] == ["Auto"]


def test_the_state_file_is_not_published_and_not_a_reason_to_rebuild(server, tmp_path, run):
    server.routes = {"/feed.json": Route(json_feed("One"), etag='"v1"')}
    site = site_with(tmp_path, f'url = "{server.url}/feed.json"\npublish = "auto"')
    assert run("import", "--site", site).code == 0
    assert (site / STATE_FILE).is_file()
    assert run("build", site).code == 0
    assert not [p for p in (site / "_site").rglob("*") if "sources" in p.name and p.suffix == ".json"]
    watcher = SiteWatcher(site, on_change=lambda: None)
    assert not watcher.is_source(site / STATE_FILE)
    assert watcher.is_source(site / "site.toml")  # what it is compared with


@pytest.mark.parametrize("bad", [
    b"{not json",
    b'{"version": 1, "sources": {"http://x/": {"etag": "\\"v1\\"\\r\\nX-Evil: 1"}}}',  # a header injection
    b'{"version": 1, "sources": {"http://x/": {"etag": 5}}}',
    b'{"version": 2, "sources": {}}',
    b'{"version": 1, "sources": {"http://x/": {"last_success": "yesterday"}}}',
    b'{"version": 1, "sources": {"http://x/": {"owner": "me"}}}',
    b"[" * 100_000 + b"]" * 100_000,
    b"\xff\xfe",
    b" " * (2 * 1024 * 1024),  # over the limit
    "symlink",
])
def test_a_broken_or_hostile_state_file_is_a_warning_and_a_full_refetch(server, tmp_path, run, bad):
    server.routes = {"/feed.json": Route(json_feed("One"), etag='"v1"')}
    url = f"{server.url}/feed.json"
    site = site_with(tmp_path, f'url = "{url}"')
    if bad == "symlink":
        os.symlink("/dev/zero", site / STATE_FILE)
    else:
        (site / STATE_FILE).write_bytes(bad.replace(b"http://x/", url.encode()))
    result = run("import", "--site", site)
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    assert f"warning: {site / STATE_FILE}: " in result.err
    assert "; ignored, every source is fetched in full" in result.err
    [seen] = server.served("/feed.json")
    assert (seen.if_none_match, seen.status) == (None, 200)
    assert state(site)[url]["etag"] == '"v1"'  # and the file is whole again
    assert not (site / STATE_FILE).is_symlink()


def test_dry_run_writes_no_story_and_no_state(server, tmp_path, run):
    server.routes = {"/feed.json": Route(json_feed("One"), etag='"v1"')}
    site = site_with(tmp_path, f'url = "{server.url}/feed.json"')
    result = run("import", "--site", site, "--dry-run")
    assert result.code == 0
    assert lines(result) == {f"{server.url}/feed.json": "1 would write, 0 skipped"}
    assert list((site / "content").iterdir()) == [] and not (site / STATE_FILE).exists()


def test_a_file_source_is_read_from_the_site_folder(tmp_path, run):
    site = site_with(tmp_path, 'url = "feeds/saved.json"\npublish = "auto"',
                     extra={"feeds/saved.json": json_feed("Saved one").decode()})
    result = run("import", "--site", site)
    assert result.code == 0, result.err
    assert lines(result) == {} and "feeds/saved.json: 1 new, 0 skipped" in result.out
    assert stories(site) == {"Saved one": {"draft": False, "topics": ["Feed tag"]}}


def test_a_file_source_that_leaves_the_site_through_a_link_is_refused(tmp_path, run):
    secret = tmp_path / "secret.json"
    secret.write_bytes(json_feed("Secret one"))
    site = site_with(tmp_path, 'url = "feeds/link.json"', 'url = "feeds/saved.json"',
                     extra={"feeds/saved.json": json_feed("Saved one").decode()})
    os.symlink(secret, site / "feeds" / "link.json")
    result = run("import", "--site", site)
    assert result.code == 1
    assert "feeds/link.json: failed: the file is outside the site folder; not read" in result.out
    assert set(stories(site)) == {"Saved one"}


@pytest.mark.parametrize("table, message", [
    ('url = "https://a.example/feed"\npublish = "yes"',
     "site.toml: [[sources]] number 1 (https://a.example/feed): 'publish' must be \"review\" (stories wait in "
     "the desk) or \"auto\" (published at once), got 'yes'."),
    ('url = "https://a.example/feed"\ntopic = ["AI"]',
     "site.toml: [[sources]] number 1 (https://a.example/feed): unknown key 'topic'; a source has url, name, "
     "topics, publish."),
    ('name = "No url"', "site.toml: [[sources]] number 1: 'url' is required: a feed's http(s) address or a "
     "file path in the site."),
    ('url = "../elsewhere.xml"', "site.toml: [[sources]] number 1 (../elsewhere.xml): a file 'url' must be a "
     "path inside the site folder, such as \"feeds/saved.xml\", got '../elsewhere.xml'."),
    ('url = "ftp://a.example/feed"', "site.toml: [[sources]] number 1 (ftp://a.example/feed): 'url' must be an "
     "http(s) address or a file path, got 'ftp://a.example/feed'."),
    ('url = "https://a.example/feed"\n\n[[sources]]\nurl = "https://A.example/feed#top"',
     "site.toml: [[sources]] number 2 (https://A.example/feed#top): the same url as [[sources]] number 1; "
     "list a feed once."),
])
def test_invalid_sources_are_refused_with_the_file_and_the_source_named(tmp_path, run, table, message):
    site = site_with(tmp_path, table)
    result = run("import", "--site", site)
    assert result.code == 2
    assert result.err.strip().endswith(message), result.err
    assert list((site / "content").iterdir()) == []


def test_import_with_no_source_and_no_sources_says_what_to_do(tmp_path, run):
    site = site_with(tmp_path)
    result = run("import", "--site", site)
    assert result.code == 2
    assert "no [[sources]] to refresh; name a feed (site-builder import URL) or add one" in result.err


def test_a_removed_source_leaves_the_state_at_the_next_import(server, tmp_path, run):
    server.routes = {"/a.json": Route(json_feed("A one", host="a.example"), etag='"a"'),
                     "/b.json": Route(json_feed("B one", host="b.example"), etag='"b"')}
    site = site_with(tmp_path, f'url = "{server.url}/a.json"', f'url = "{server.url}/b.json"')
    assert run("import", "--site", site).code == 0
    assert set(state(site)) == {f"{server.url}/a.json", f"{server.url}/b.json"}
    assert run("sources", "remove", f"{server.url}/a.json", "--site", site).code == 0
    again = run("import", "--site", site)
    assert lines(again) == {f"{server.url}/b.json": "not modified"}
    assert set(state(site)) == {f"{server.url}/b.json"}

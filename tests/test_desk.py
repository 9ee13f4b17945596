"""The curation desk at /_desk/ of `site-builder serve`, driven over plain HTTP as a
browser without JavaScript drives it: the queue read with mf2py, forms posted with the
page's token, every write checked byte for byte on disk and in the preview's pages."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import mf2py
import pytest
from conftest import EXAMPLE_RECORD, PINNED_NOW, article, atomic_save, make_site, prop, text_of, wait_until
from deskclient import DESK, cards, changed_lines, folder_bytes, get, post, request, shown_digest, token

from site_builder.yamlfm import split_and_parse

SAMPLE = "content/000_e3a5008296bfb040.txt"
SAMPLE_TITLE = "Leading Law Enforcement Facial Recognition Provider Clearview AI Faces Joint International Privacy Investigation"


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "site", {
        "site.toml": 'title = "Newsroom"\nbase_url = "https://example.org/newsroom/"\n',
        SAMPLE: EXAMPLE_RECORD.read_bytes(),
        "content/live.md": article(title="Already live", url="https://example.com/live", topics=("AI",)),
        "content/draft-a.md": article(title="Candidate about robots", url="https://example.com/a",
                                      date="2024-05-12T08:00:00Z", topics=("Robots",), published="false", quality="70"),
        "content/draft-b.md": article(title="Candidate about chips", url="https://example.com/b",
                                      date="2024-05-11T08:00:00Z", topics=("Chips", "AI"), published="false", quality="40",
                                      body="An editor's note.\n"),
    })


def names(entries) -> list[str]:
    return [text_of(prop(entry, "name")) for entry in entries]


def card_digest(port: int, title: str) -> str:
    """The digest the queue shows with a card (the card's data-digest)."""
    html = get(port, DESK).body
    for match in re.finditer(r'<article [^>]*data-digest="([0-9a-f]{32})"', html):
        if f">{title}</h2>" in html[match.end():].split("</article>")[0]:
            return match.group(1)
    raise AssertionError(f"{title} is not in the queue")


def live_url(port: int, source: str) -> str:
    reply = get(port, f"/_desk/live?wait=1&path={source}").json()
    assert reply["live"], reply
    return reply["url"]


def test_the_queue_shows_every_candidate_newest_first_as_h_entries(site, start_preview):
    preview = start_preview(site)
    port = preview.server.port
    reply = get(port, DESK)
    assert reply.status == 200
    assert reply.headers["x-robots-tag"] == "noindex" and reply.headers["cache-control"] == "no-store"
    assert '<meta name="robots" content="noindex">' in reply.body
    entries = cards(port)
    assert names(entries) == ["Candidate about robots", "Candidate about chips", SAMPLE_TITLE]
    sample = entries[2]
    assert prop(sample, "bookmark-of").startswith("https://www.cpomagazine.com/data-privacy/")
    assert datetime.fromisoformat(prop(sample, "published")) == datetime(2020, 7, 21, 16, tzinfo=timezone.utc)
    assert text_of(prop(prop(sample, "author"), "name")) == "CPO Magazine"
    assert sample["properties"]["category"] == ["Computer Vision", "AI"]
    assert prop(sample, "summary").startswith("Facial recognition provider Clearview AI")
    assert "url" not in sample["properties"]  # not live: no permalink
    assert SAMPLE in reply.body and ">53<" in reply.body  # file path and quality
    assert names(cards(port, "?sort=quality")) == ["Candidate about robots", SAMPLE_TITLE, "Candidate about chips"]
    assert names(cards(port, "?topic=ai")) == ["Candidate about chips", SAMPLE_TITLE]
    assert names(cards(port, "?min_quality=50")) == ["Candidate about robots", SAMPLE_TITLE]
    assert names(cards(port, "?source=cpomagazine.com")) == [SAMPLE_TITLE]
    assert names(cards(port, "?q=CHIPS")) == ["Candidate about chips"]
    assert "Robots (1)" in get(port, DESK).body  # counts per filter


def test_publishing_the_sample_record_changes_one_line_and_its_page_goes_live(site, start_preview):
    preview = start_preview(site)
    port = preview.server.port
    before = (site / SAMPLE).read_bytes()
    reply = post(port, {"token": token(port), "action": "publish", "path": SAMPLE, "digest": shown_digest(site / SAMPLE),
                        "back": "sort=quality"})
    assert reply.status == 303 and reply.headers["location"].startswith("/_desk/?sort=quality&flash=")
    assert changed_lines(before, (site / SAMPLE).read_bytes()) == [("published: false", "published: true")]
    page = get(port, reply.headers["location"])
    assert f"Published “{SAMPLE_TITLE}”." in page.body
    assert SAMPLE_TITLE not in names(cards(port))
    url = live_url(port, SAMPLE)
    assert url.startswith("/newsroom/2020/07/21/")
    served = get(port, url)
    assert served.status == 200
    entry = next(i for i in mf2py.parse(doc=served.body, url="http://127.0.0.1" + url)["items"] if "h-entry" in i["type"])
    assert text_of(prop(entry, "name")) == SAMPLE_TITLE


def test_a_desk_write_costs_one_extra_no_op_build_at_most(site, start_preview):
    preview = start_preview(site)
    port = preview.server.port
    wait_until(lambda: not preview.builder.pending and not preview.session.debouncer.pending, what="an idle preview")
    rebuilds = preview.rebuilds
    post(port, {"token": token(port), "action": "publish", "path": "content/draft-a.md", "digest": shown_digest(site / "content/draft-a.md")})
    live_url(port, "content/draft-a.md")
    wait_until(lambda: not preview.builder.pending and not preview.session.debouncer.pending, what="an idle preview")
    assert 1 <= preview.rebuilds - rebuilds <= 2
    if preview.rebuilds - rebuilds == 2:  # the watcher's own event for the file: nothing left to render
        assert not preview.last_outcome.report.rendered


def test_rejecting_keeps_the_file_and_leaves_it_out_of_queue_and_build(site, start_preview, run):
    preview = start_preview(site)
    port = preview.server.port
    path = site / "content/draft-b.md"
    before = path.read_bytes()
    reply = post(port, {"token": token(port), "action": "reject", "path": "content/draft-b.md", "digest": shown_digest(path)})
    assert reply.status == 303
    assert "Candidate about chips" not in names(cards(port))
    after = path.read_bytes()
    assert after.replace(b"rejected: true\n", b"", 1) == before  # kept, marked by one line
    result = run("build", site, "--drafts")  # even a build with drafts leaves a rejected story out
    assert result.code == 0, result.err
    assert not any("Candidate about chips" in p.read_text(errors="replace") for p in (site / "_site").rglob("*.html"))


def test_edit_then_undo_puts_the_file_back_byte_for_byte(site, start_preview):
    preview = start_preview(site)
    port = preview.server.port
    path = site / "content/draft-b.md"
    before = path.read_bytes()
    reply = post(port, {"token": token(port), "action": "edit", "path": "content/draft-b.md", "digest": shown_digest(path),
                        "title": "Candidate about chips", "excerpt": "", "topics": "Chips, Semiconductors",
                        "note": "A new note.\r\nSecond line.\r\n"}, accept_json=True)
    assert reply.status == 200 and reply.json()["ok"], reply.body
    text = path.read_text()
    assert split_and_parse(text).data["topics"] == ["Chips", "Semiconductors"]
    assert text.endswith("\n---\nA new note.\nSecond line.\n")
    assert 'title: "Candidate about chips"' in text  # untouched field, untouched line
    entry = next(e for e in cards(port) if text_of(prop(e, "name")) == "Candidate about chips")
    assert entry["properties"]["category"] == ["Chips", "Semiconductors"]
    undo = post(port, {"token": token(port), "action": "undo"}, accept_json=True)
    assert undo.status == 200 and undo.json()["message"] == "Undone: edited “Candidate about chips”.", undo.body
    assert path.read_bytes() == before
    assert post(port, {"token": token(port), "action": "undo"}, accept_json=True).status == 409  # nothing left


@pytest.mark.parametrize("forgery", ["no token", "wrong token", "foreign Origin", "cross-site fetch", "Origin null"])
def test_a_forged_post_is_refused_and_changes_nothing(site, start_preview, forgery):
    preview = start_preview(site)
    port = preview.server.port
    before = folder_bytes(site / "content")
    fields = {"token": token(port), "action": "publish", "path": SAMPLE, "digest": shown_digest(site / SAMPLE)}
    headers = {}
    if forgery == "no token":
        del fields["token"]
    elif forgery == "wrong token":
        fields["token"] = "x" * len(fields["token"])
    elif forgery == "foreign Origin":
        headers["Origin"] = "https://evil.example"
    elif forgery == "cross-site fetch":
        headers["Sec-Fetch-Site"] = "cross-site"
    else:
        headers["Origin"] = "null"
    reply = post(port, fields, headers)
    assert reply.status == 403
    assert folder_bytes(site / "content") == before
    # The same request from the desk itself goes through.
    own = post(port, {**fields, "token": token(port)}, {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"})
    assert own.status == 303 and folder_bytes(site / "content") != before


def test_a_post_for_another_host_or_without_length_changes_nothing(site, start_preview):
    preview = start_preview(site)
    port = preview.server.port
    before = folder_bytes(site / "content")
    body = f"token={token(port)}&action=publish&path={SAMPLE}&digest={shown_digest(site / SAMPLE)}".encode()
    rebound = request(port, "POST", "/_desk/act", body, {"Host": "evil.example", "Content-Length": str(len(body))})
    assert rebound.status == 403
    chunked = request(port, "POST", "/_desk/act", None, {"Transfer-Encoding": "chunked"})
    assert chunked.status == 411
    huge = request(port, "POST", "/_desk/act", b"", {"Content-Length": str(2 << 20)})
    assert huge.status == 413
    assert folder_bytes(site / "content") == before


def test_a_file_changed_behind_the_desks_back_is_refused(site, start_preview):
    preview = start_preview(site)
    port = preview.server.port
    shown = card_digest(port, "Candidate about robots")
    path = site / "content/draft-a.md"
    changed = path.read_text().replace("Candidate about robots", "Candidate about robots, rewritten elsewhere")
    atomic_save(path, changed)
    for action in ("publish", "reject"):
        reply = post(port, {"token": token(port), "action": action, "path": "content/draft-a.md", "digest": shown})
        assert reply.status == 303
        assert "changed on disk since the desk showed it; nothing was written" in get(port, reply.headers["location"]).body
    edit = post(port, {"token": token(port), "action": "edit", "path": "content/draft-a.md", "digest": shown,
                       "title": "Mine"}, accept_json=True)
    assert edit.status == 409 and "changed on disk" in edit.json()["message"]
    assert path.read_text() == changed


def test_bulk_publish_of_the_selected_cards(site, start_preview):
    preview = start_preview(site)
    port = preview.server.port
    items = [f"{shown_digest(site / p)} {p}" for p in ("content/draft-a.md", "content/draft-b.md")]
    reply = post(port, {"token": token(port), "action": "publish", "item": items}, accept_json=True)
    assert reply.json()["message"] == "Published 2 stories.", reply.body
    assert names(cards(port)) == [SAMPLE_TITLE]
    assert live_url(port, "content/draft-a.md") and live_url(port, "content/draft-b.md")
    post(port, {"token": token(port), "action": "undo"})
    assert names(cards(port)) == ["Candidate about robots", "Candidate about chips", SAMPLE_TITLE]


def test_only_article_files_of_the_site_can_be_written(site, start_preview, tmp_path):
    preview = start_preview(site)
    port = preview.server.port
    outside = tmp_path / "elsewhere.md"
    outside.write_text(article(published="false"))
    for path in ("site.toml", "../elsewhere.md", str(outside), "content/missing.md"):
        reply = post(port, {"token": token(port), "action": "publish", "path": path, "digest": "0" * 64}, accept_json=True)
        assert reply.status == 404, (path, reply.body)
    assert outside.read_text() == article(published="false")


def test_the_desk_is_at_the_server_root_and_never_in_a_build(site, start_preview, run):
    preview = start_preview(site)
    port = preview.server.port
    assert preview.url.endswith("/newsroom/") and preview.desk_url == f"http://127.0.0.1:{port}/_desk/"
    assert get(port, "/_desk/").status == 200
    assert get(port, "/_desk").headers["location"] == "/_desk/"
    assert get(port, "/newsroom/_desk/").status == 404
    assert get(port, "/_desk/desk.js").headers["content-type"].startswith("text/javascript")
    assert get(port, "/_desk/?" + "&".join(f"k{n}=1" for n in range(60))).status == 400
    result = run("build", site)
    assert result.code == 0, result.err
    built = [p.relative_to(site / "_site").as_posix() for p in (site / "_site").rglob("*")]
    assert not [p for p in built if "_desk" in p or "desk." in p]


def test_the_queue_is_paginated(tmp_path, start_preview):
    files = {f"content/d{n:03}.md": article(title=f"Draft {n:03}", url=f"https://example.com/{n}",
                                             date=f"2024-05-{1 + n // 10:02}T{n % 10:02}:00:00Z", published="false")
             for n in range(120)}
    preview = start_preview(make_site(tmp_path / "site", files))
    port = preview.server.port
    first = cards(port)
    assert len(first) == 50 and names(first)[0] == "Draft 119"
    assert "Page 1 of 3" in get(port, DESK).body
    assert names(cards(port, "?page=3")) == [f"Draft {n:03}" for n in range(19, -1, -1)]


def test_publishing_one_story_renders_the_pages_that_show_it_not_the_site(tmp_path):
    """Topic counts changed by a new story are shown on /topics/ only: the other pages
    are not rendered again for them (Hugo's rebuild test: the output, and how much work)."""
    from site_builder.builder import BuildOptions, Builder

    files = {f"content/s{n:02}.md": article(title=f"Story {n}", url=f"https://example.com/{n}", date=f"2024-04-{1 + n % 28:02}T08:00:00Z",
                                             topics=(f"Topic {n % 6}",)) for n in range(40)}
    files["content/new.md"] = article(title="The newest", url="https://example.com/new", topics=("Topic 0",), published="false")
    site = make_site(tmp_path / "site", files)
    builder = Builder(BuildOptions(site, now=PINNED_NOW))
    first = builder.build()
    atomic_save(site / "content/new.md", (site / "content/new.md").read_text().replace("published: false", "published: true"))
    report = builder.build()
    assert report.articles == first.articles + 1 and not report.errors
    assert report.rendered < first.pages / 2, (report.rendered, first.pages)


def test_a_post_body_sent_a_byte_at_a_time_is_cut_at_the_request_deadline(site, start_preview):
    """The body gets the request's one deadline (serve_guard), not a timeout per read that
    a byte now and then would renew."""
    import socket
    import time

    from site_builder.serve_guard import Limits

    preview = start_preview(site, limits=Limits(request_seconds=1.0))
    port = preview.server.port
    before = folder_bytes(site / "content")
    body = f"token={token(port)}&action=publish&path={SAMPLE}&digest={shown_digest(site / SAMPLE)}".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=0.25) as sock:
        sock.sendall(f"POST /_desk/act HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        started, sent, closed = time.monotonic(), 0, False
        while not closed and sent < len(body) - 1:  # never the last byte
            try:
                closed = sock.recv(1024) == b""  # the pace: a quarter of a second a byte
            except TimeoutError:
                try:
                    sock.sendall(body[sent:sent + 1])
                    sent += 1
                except OSError:
                    closed = True
        assert closed and time.monotonic() - started < 5, (sent, len(body))
    assert folder_bytes(site / "content") == before


def test_the_desk_is_beside_the_server_and_the_builder_never_imports_it():
    import subprocess
    import sys

    def desk_modules_after(*modules: str) -> str:
        code = (f"import sys, {', '.join(modules)}; "
                "print(sorted(m for m in sys.modules if m.startswith('site_builder.desk')))")
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()

    assert desk_modules_after("site_builder.builder", "site_builder.cli", "site_builder.deploy") == "[]"
    assert desk_modules_after("site_builder.server") == "['site_builder.desk', 'site_builder.desk_actions']"

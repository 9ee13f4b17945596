"""`site-builder serve`: a real server on an ephemeral port and a real watcher on a temp
site, driven over HTTP as an author's browser would. Waits are on conditions only."""

from __future__ import annotations

import errno
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import mf2py
import pytest
from conftest import PINNED_NOW, REPO, article, atomic_save, make_site, wait_until

from site_builder import watch
from site_builder.server import LIVERELOAD

NEWSROOM = 'title = "Newsroom"\nbase_url = "https://example.org/newsroom/"\n'
STORY = "/newsroom/2024/05/14/a-story/"


def fetch(preview, path: str, method: str = "GET") -> tuple[int, http.client.HTTPResponse, str]:
    """One request with the path sent exactly as given (no client-side normalising)."""
    conn = http.client.HTTPConnection("127.0.0.1", preview.server.port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def shows(preview, path: str, *texts: str, status: int = 200):
    """A condition: the page is served with this status and every text."""
    def served():
        code, _, body = fetch(preview, path)
        return code == status and all(t in body for t in texts) and body
    return served


def state(preview) -> dict:
    return json.loads(fetch(preview, f"/newsroom/{LIVERELOAD}.json")[2])


@pytest.fixture
def newsroom(tmp_path) -> Path:
    return make_site(tmp_path / "site", {
        "site.toml": NEWSROOM,
        "content/story.md": article(title="A story", topics=("AI",)),
        "content/other.md": article(title="Another story", url="https://example.com/other",
                                    date="2024-05-10T09:00:00Z", topics=("AI", "Robots")),
    })


def test_serves_the_built_site_like_github_pages(newsroom, start_preview):
    preview = start_preview(newsroom)
    assert preview.url.endswith("/newsroom/")
    for path, location in (("/", "/newsroom/"), ("/newsroom", "/newsroom/"), ("/newsroom/topics", "/newsroom/topics/")):
        code, response, _ = fetch(preview, path)
        assert (code, response.getheader("Location")) == (301, location)
    code, response, body = fetch(preview, "/newsroom/")
    assert code == 200 and response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert "A story" in body and "Another story" in body
    assert fetch(preview, STORY)[0] == 200
    assert fetch(preview, STORY + "index.html")[0] == 200
    code, response, body = fetch(preview, "/newsroom/assets/site.css")
    assert code == 200 and response.getheader("Content-Type").startswith("text/css")
    code, _, body = fetch(preview, "/newsroom/no/such/page/")
    assert code == 404 and "Page not found" in body
    assert fetch(preview, "/elsewhere/")[0] == 404  # outside the base path
    code, response, body = fetch(preview, "/newsroom/", method="HEAD")
    assert code == 200 and body == "" and int(response.getheader("Content-Length")) > 0


def test_live_reload_client_is_in_served_html_only(newsroom, start_preview):
    preview = start_preview(newsroom)
    _, _, body = fetch(preview, STORY)
    assert f'src="/newsroom/{LIVERELOAD}.js"' in body
    code, response, script = fetch(preview, f"/newsroom/{LIVERELOAD}.js")
    assert code == 200 and response.getheader("Content-Type").startswith("text/javascript")
    assert "EventSource" in script
    built = [p for p in preview.state.root.rglob("*") if p.is_file()]
    assert built and not any(LIVERELOAD.encode() in p.read_bytes() for p in built)
    _, _, css = fetch(preview, "/newsroom/assets/site.css")
    assert LIVERELOAD not in css


def test_no_reload_serves_pages_untouched(newsroom, start_preview):
    preview = start_preview(newsroom, live_reload=False)
    _, _, body = fetch(preview, STORY)
    assert "A story" in body and LIVERELOAD not in body
    assert fetch(preview, f"/newsroom/{LIVERELOAD}.js")[0] == 404


@pytest.mark.parametrize("path", [
    "/newsroom/../site.toml",
    "/newsroom/../../secret.txt",
    "/newsroom/%2e%2e/site.toml",
    "/newsroom/%2e%2e/%2e%2e/secret.txt",
    "/newsroom/%2E%2E%2Fsite.toml",
    "/newsroom/..%2fsite.toml",
    "/newsroom/assets%2f..%2f..%2fsite.toml",
    "/newsroom/..%5csite.toml",
    "/newsroom/..\\site.toml",
    "/newsroom/%00",
    "/newsroom//etc/passwd",
    "/newsroom/./././../site.toml",
    "/newsroom/%252e%252e/site.toml",
])
def test_paths_never_leave_the_site(newsroom, start_preview, path):
    (newsroom.parent / "secret.txt").write_text("TOP SECRET", encoding="utf-8")
    preview = start_preview(newsroom)
    code, _, body = fetch(preview, path)
    assert code in (301, 404), code
    assert "TOP SECRET" not in body and "base_url" not in body and "root:" not in body


def test_atomic_save_updates_every_page_that_shows_the_title(newsroom, start_preview):
    preview = start_preview(newsroom)
    atomic_save(newsroom / "content/story.md", article(title="A rewritten story", topics=("AI",)))
    wait_until(shows(preview, "/newsroom/2024/05/14/a-rewritten-story/", "A rewritten story"), what="the renamed page")
    for listing in ("/newsroom/", "/newsroom/topics/ai/"):
        _, _, body = fetch(preview, listing)
        assert "A rewritten story" in body and ">A story<" not in body
    assert fetch(preview, STORY)[0] == 404  # its old permalink is gone


def test_vim_style_save_counts(newsroom, start_preview):
    """vim: probe file 4913, rename the original to a backup~, write anew, delete the backup."""
    preview = start_preview(newsroom)
    story = newsroom / "content/story.md"
    (story.parent / "4913").write_text("", encoding="utf-8")
    (story.parent / "4913").unlink()
    backup = story.with_name("story.md~")
    os.rename(story, backup)
    story.write_text(article(title="Saved by vim", topics=("AI",)), encoding="utf-8")
    backup.unlink()
    wait_until(shows(preview, "/newsroom/", "Saved by vim"), what="the vim save")


def test_deleting_an_article_removes_its_page_and_cards(newsroom, start_preview):
    preview = start_preview(newsroom)
    assert fetch(preview, "/newsroom/topics/robots/")[0] == 200
    (newsroom / "content/other.md").unlink()
    wait_until(lambda: fetch(preview, "/newsroom/2024/05/10/another-story/")[0] == 404, what="the page to go")
    for listing in ("/newsroom/", "/newsroom/topics/ai/", "/newsroom/topics/"):
        assert "Another story" not in fetch(preview, listing)[2]
    assert fetch(preview, "/newsroom/topics/robots/")[0] == 404  # its only story is gone


def test_a_new_article_with_a_new_topic_gets_its_topic_page(newsroom, start_preview):
    preview = start_preview(newsroom)
    atomic_save(newsroom / "content/new.md", article(title="Qubits at last", url="https://example.com/q",
                                                     date="2024-06-01T08:00:00Z", topics=("Quantum",)))
    wait_until(shows(preview, "/newsroom/topics/quantum/", "Qubits at last"), what="the new topic page")
    assert "Qubits at last" in fetch(preview, "/newsroom/")[2]
    assert "Quantum" in fetch(preview, "/newsroom/topics/")[2]


def test_an_invalid_article_keeps_the_last_good_site_and_recovers(newsroom, start_preview, capsys):
    preview = start_preview(newsroom)
    generation = state(preview)["generation"]
    atomic_save(newsroom / "content/story.md", "---\ntitle: \"Broken\nwebUrl: [\n---\n")
    broken = wait_until(lambda: (s := state(preview)) and not s["ok"] and s, what="the error to be reported")
    assert broken["generation"] == generation  # browsers are not told to reload
    assert any(m.startswith("content/story.md:") for m in broken["messages"]), broken
    assert "A story" in fetch(preview, STORY)[2]  # the last good site is still served
    atomic_save(newsroom / "content/story.md", article(title="A fixed story", topics=("AI",)))
    wait_until(shows(preview, "/newsroom/", "A fixed story"), what="the recovery")
    recovered = {"generation": generation + 1, "ok": True, "messages": []}
    wait_until(lambda: state(preview) == recovered, what="browsers to be told to reload")
    err = capsys.readouterr().err
    assert "content/story.md:" in err and "Traceback" not in err


@pytest.mark.parametrize("breakage, fixed, where", [
    ({"templates/base.html": "{% block main %}{% endblock"}, {}, "base.html"),
    ({"site.toml": "title = [unclosed\n"}, {"site.toml": NEWSROOM}, "site.toml"),
    ({"site.toml": NEWSROOM + "paginate = 0\n"}, {"site.toml": NEWSROOM}, "paginate"),
])
def test_template_and_config_errors_show_then_recover(newsroom, start_preview, breakage, fixed, where):
    preview = start_preview(newsroom)
    for rel, text in breakage.items():
        make_site(newsroom, {rel: text})
    broken = wait_until(lambda: (s := state(preview)) and not s["ok"] and s, what="the error")
    assert where in broken["messages"][0]
    assert fetch(preview, STORY)[0] == 200
    for rel in breakage:
        if rel in fixed:
            atomic_save(newsroom / rel, fixed[rel])
        else:
            (newsroom / rel).unlink()
    wait_until(lambda: state(preview)["ok"], what="the recovery")
    assert fetch(preview, STORY)[0] == 200


class EventStream:
    """A browser's EventSource, reduced to reading the server's `state` events in order."""

    def __init__(self, preview):
        self.conn = http.client.HTTPConnection("127.0.0.1", preview.server.port, timeout=20)
        self.conn.request("GET", f"/newsroom/{LIVERELOAD}")
        self.response = self.conn.getresponse()
        assert self.response.getheader("Content-Type") == "text/event-stream"

    def next_state(self) -> dict:
        event, data = None, None
        while True:
            line = self.response.fp.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and event == "state":
                return json.loads(data)

    def close(self):
        self.conn.close()


def test_browsers_are_told_to_reload_only_after_a_good_build(newsroom, start_preview):
    preview = start_preview(newsroom)
    stream = EventStream(preview)
    try:
        first = stream.next_state()
        assert first["ok"]
        (newsroom / "content/story.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
        failed = stream.next_state()
        assert not failed["ok"] and failed["generation"] == first["generation"]
        atomic_save(newsroom / "content/story.md", article(title="Good again", topics=("AI",)))
        recovered = stream.next_state()
        assert recovered["ok"] and recovered["generation"] == first["generation"] + 1
    finally:
        stream.close()


def test_polling_observer_sees_changes(newsroom, start_preview):
    preview = start_preview(newsroom, poll=True)
    atomic_save(newsroom / "content/story.md", article(title="Polled story", topics=("AI",)))
    wait_until(shows(preview, "/newsroom/", "Polled story"), what="the polled change")


def test_a_burst_of_200_changes_is_a_few_rebuilds(newsroom, start_preview):
    preview = start_preview(newsroom)
    for n in range(200):
        (newsroom / f"content/burst-{n:03d}.md").write_text(
            article(title=f"Burst {n:03d}", url=f"https://example.com/burst/{n}", topics=("Burst",)), encoding="utf-8")
    wait_until(shows(preview, "/newsroom/2024/05/14/burst-199/", "Burst 199"), what="the burst to be built")
    wait_until(lambda: not preview.session.debouncer.pending, what="no build pending")
    assert 1 <= preview.rebuilds <= 4, preview.rebuilds


def test_an_author_session_on_a_200_article_site(tmp_path, start_preview, capsys):
    from corpus import generate

    site = make_site(tmp_path / "site", {"site.toml": NEWSROOM})
    generate(200, 467, site / "content")
    preview = start_preview(site)
    stories = _stories_on(fetch(preview, "/newsroom/")[2], site / "content")
    (title, path, source), (gone_title, gone_path, gone) = stories[:2]

    atomic_save(source, source.read_text(encoding="utf-8").replace(f'title: "{title}"', 'title: "Edited by the author"'))
    wait_until(shows(preview, "/newsroom/", "Edited by the author"), what="the edited title")
    gone.unlink()
    wait_until(lambda: fetch(preview, gone_path)[0] == 404, what="the deleted story's page to go")
    assert gone_title not in fetch(preview, "/newsroom/")[2]
    atomic_save(site / "content/zz-new.md", article(title="Brand new", url="https://example.com/new",
                                                    date="2026-10-30T08:00:00Z", topics=("Zeppelins",)))
    wait_until(shows(preview, "/newsroom/topics/zeppelins/", "Brand new"), what="the new topic")
    atomic_save(site / "content/zz-new.md", "---\ntitle: oops\n---\n")
    wait_until(lambda: not state(preview)["ok"], what="the error")
    assert fetch(preview, "/newsroom/topics/zeppelins/")[0] == 200
    (site / "content/zz-new.md").unlink()
    wait_until(lambda: state(preview)["ok"], what="the recovery")
    assert fetch(preview, "/newsroom/topics/zeppelins/")[0] == 404
    assert fetch(preview, path.replace(path.rstrip("/").rsplit("/", 1)[1], "edited-by-the-author"))[0] == 200
    assert "Traceback" not in capsys.readouterr().err


def _stories_on(html: str, content: Path) -> list[tuple[str, str, Path]]:
    """(title, path, source file) of each story card on a page whose title is one file's alone."""
    found = []

    def walk(items):
        for item in items:
            if "h-entry" in item["type"]:
                found.append((item["properties"]["name"][0], item["properties"]["url"][0]))
            walk(item.get("children", []))

    walk(mf2py.parse(doc=html, url="http://127.0.0.1/")["items"])
    texts = {p: p.read_text(encoding="utf-8") for p in content.iterdir()}
    stories = []
    for title, link in found:
        line = re.compile("^title: " + re.escape(json.dumps(title, ensure_ascii=False)) + "$", re.M)
        sources = [p for p, text in texts.items() if line.search(text)]
        if len(sources) == 1:
            stories.append((title, re.sub(r"^https?://[^/]+", "", link), sources[0]))
    return stories


def test_a_busy_port_is_a_clear_error(newsroom, run):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run("serve", newsroom, "--port", taken.getsockname()[1])
    assert result.code == 2
    assert "already in use" in result.err and "--port" in result.err and "Traceback" not in result.err


def test_the_inotify_limit_gives_a_hint(newsroom, run, monkeypatch):
    def no_more_watches(*args, **kwargs):
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(watch.Observer, "schedule", no_more_watches)
    result = run("serve", newsroom, "--port", "0")
    assert result.code == 2
    assert "max_user_watches" in result.err and "--poll" in result.err


def _start_cli(*args: str) -> tuple[subprocess.Popen, list[str]]:
    """The real command in a subprocess; returns it once it says it is ready. Started
    with Ctrl-C (SIGINT) at its default, as from a terminal: a test run started in the
    background (`cmd &` in a script) ignores SIGINT, and a child would inherit that."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the child gets the default
    try:
        process = subprocess.Popen([sys.executable, "-m", "site_builder", *args], env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    lines: list[str] = []
    while not any(line.startswith(("Serving", "Watching")) for line in lines):
        line = process.stdout.readline()  # bounded by pytest-timeout should it never come
        assert line, f"exited early: {process.wait()} {process.stderr.read()}"
        lines.append(line)
    return process, lines


def _interrupt(process: subprocess.Popen) -> tuple[int, str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def test_ctrl_c_stops_serve_cleanly(newsroom):
    process, lines = _start_cli("serve", str(newsroom), "--port", "0")
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/newsroom/)", lines[-1])
    conn = http.client.HTTPConnection("127.0.0.1", int(url.group(1)), timeout=10)
    conn.request("GET", url.group(2))
    assert conn.getresponse().status == 200
    conn.close()
    code, out, err = _interrupt(process)
    assert code == 0 and "Stopped." in out and "Traceback" not in err


def test_build_watch_rebuilds_the_output_folder(newsroom):
    process, _ = _start_cli("build", str(newsroom), "--watch")
    try:
        index = newsroom / "_site/index.html"
        atomic_save(newsroom / "content/story.md", article(title="Watched story", topics=("AI",)))
        wait_until(lambda: "Watched story" in index.read_text(encoding="utf-8"), what="the rebuilt _site")
        assert LIVERELOAD not in index.read_text(encoding="utf-8")
    finally:
        code, out, err = _interrupt(process)
    assert code == 0 and "Stopped." in out and "Traceback" not in err


def test_a_missing_site_folder_is_a_clear_error(tmp_path, run):
    for command in (("serve", "--port", "0"), ("build", "--watch")):
        result = run(command[0], tmp_path / "nowhere", *command[1:])
        assert result.code == 2 and "no such folder" in result.err and "Traceback" not in result.err


def test_a_site_that_cannot_build_yet_is_served_once_it_can(tmp_path, start_preview):
    site = tmp_path / "site"
    site.mkdir()
    (site / "site.toml").write_text(NEWSROOM, encoding="utf-8")
    preview = start_preview(site)
    code, _, body = fetch(preview, "/newsroom/")
    assert code == 503 and "no content/ folder" in body and LIVERELOAD in body
    make_site(site, {"content/story.md": article()})
    wait_until(shows(preview, STORY, "A story"), what="the first good build")
    assert json.loads(fetch(preview, f"/{LIVERELOAD}.json")[2])["ok"]  # what that first page listens to


def test_a_stream_of_edits_delays_the_search_index_a_few_rounds_only(newsroom):
    """Each edit saved while the preview builds gets its pages first; after
    PAGES_FIRST_ROUNDS such rounds in a row the index is built all the same."""
    from site_builder.builder import BuildOptions, SearchMode
    from site_builder.server import PAGES_FIRST_ROUNDS, Preview

    preview = Preview(BuildOptions(newsroom, now=PINNED_NOW), port=0)  # not started: no watcher
    try:
        preview.rebuild("Built")
        real_build, modes = preview.builder.build, []

        def build_while_someone_edits(**options):
            modes.append(options["search"])
            assert len(modes) < 10, "the index waited for ever"  # fails the build, ends the loop
            story = newsroom / "content/story.md"
            story.write_text(article(title=f"A story, edit {len(modes)}", topics=("AI",)))
            return real_build(**options)

        preview.builder.build = build_while_someone_edits
        outcome = preview.rebuild()
        assert outcome.ok and not preview.builder.pending
        assert modes == [SearchMode.PAGES_FIRST] * PAGES_FIRST_ROUNDS + [SearchMode.NOW]
    finally:
        preview.stop()

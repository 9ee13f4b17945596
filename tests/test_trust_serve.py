"""What `serve` exposes, tried as an attacker would: a real preview on an ephemeral port,
driven over HTTP and raw sockets; the real command in a subprocess for signals and
flags. Waits are on conditions (a socket's end, a line of output), never fixed sleeps."""

from __future__ import annotations

import http.client
import re
import select
import signal
import socket
import threading
import time
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from conftest import article, make_site, wait_until
from test_serve import NEWSROOM, STORY, _interrupt, _start_cli, fetch

from site_builder.serve_guard import Limits
from site_builder.server import LIVERELOAD

PARTIAL = b"GET /newsroom/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "  # never finished


@pytest.fixture
def newsroom(tmp_path):
    return make_site(tmp_path / "site", {
        "site.toml": NEWSROOM,
        "content/story.md": article(title="A story", topics=("AI",)),
    })


def ask(port: int, path: str, host: str | None, method: str = "GET") -> tuple[int, http.client.HTTPResponse, str]:
    """One request with exactly this Host header (None: the port's own, as a browser sends)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers={} if host is None else {"Host": host})
        response = conn.getresponse()
        return response.status, response, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def raw(port: int, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(data)
    return sock


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    received = b""
    while marker not in received:
        chunk = sock.recv(65536)  # bounded by the socket's timeout
        assert chunk, f"closed before {marker!r}: {received!r}"
        received += chunk
    return received


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server ends this connection (within the socket's timeout)."""
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.mark.parametrize("host", [
    "rebind.attacker.example", "rebind.attacker.example:{port}", "127.0.0.1.attacker.example:{port}",
    "localhost.attacker.example", "127.0.0.1@attacker.example", "::1", "",
])
def test_a_request_for_another_host_is_refused(newsroom, start_preview, host):
    """DNS rebinding: a page from elsewhere whose name now points here sends its own name."""
    preview = start_preview(newsroom)
    port = preview.server.port
    for path in ("/newsroom/", STORY, f"/newsroom/{LIVERELOAD}.json"):
        code, response, body = ask(port, path, host.format(port=port))
        assert code == 403 and response.getheader("Content-Type").startswith("text/plain"), (path, code)
        assert "story" not in body and "generation" not in body and len(body) < 200
    code, _, body = ask(port, "/newsroom/", host.format(port=port), method="HEAD")
    assert code == 403 and body == ""


def test_a_request_without_host_is_refused(newsroom, start_preview):
    preview = start_preview(newsroom)
    with raw(preview.server.port, b"GET /newsroom/ HTTP/1.0\r\n\r\n") as sock:
        response = read_until(sock, b"\r\n\r\n")
        assert response.startswith(b"HTTP/1.1 403") and closed_by_server(sock)


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "127.0.0.1", "localhost:{port}", "LOCALHOST", "[::1]:{port}",
                                  "localhost.", None])
def test_requests_for_this_server_are_answered(newsroom, start_preview, host):
    preview = start_preview(newsroom)
    port = preview.server.port
    code, _, body = ask(port, STORY, None if host is None else host.format(port=port))
    assert code == 200 and "A story" in body


def test_every_response_says_nosniff_and_pagefind_files_have_their_types(newsroom, start_preview):
    preview = start_preview(newsroom)
    port = preview.server.port
    for path, status in ((STORY, 200), ("/newsroom/assets/site.css", 200), ("/newsroom/nowhere", 404),
                         ("/newsroom/topics", 301), (f"/newsroom/{LIVERELOAD}.js", 200)):
        code, response, _ = ask(port, path, None)
        assert code == status and response.getheader("X-Content-Type-Options") == "nosniff", path
    assert ask(port, STORY, "elsewhere.example")[1].getheader("X-Content-Type-Options") == "nosniff"
    expected = {".pf_meta": "application/octet-stream", ".pf_fragment": "application/octet-stream",
                ".pf_index": "application/octet-stream", ".pagefind": "application/octet-stream",
                ".js": "text/javascript; charset=utf-8", ".json": "application/json"}
    bundle = [p for p in (preview.state.root / "pagefind").rglob("*") if p.is_file()]
    assert {p.suffix for p in bundle} == set(expected)  # what Pagefind emits, every kind checked
    for file in bundle:
        path = "/newsroom/" + file.relative_to(preview.state.root).as_posix()
        code, response, _ = ask(port, path, None)
        assert code == 200 and response.getheader("Content-Type") == expected[file.suffix], path
        assert response.getheader("X-Content-Type-Options") == "nosniff"


def test_half_sent_requests_cannot_pile_up_threads(newsroom, start_preview):
    cap = 16
    preview = start_preview(newsroom, limits=Limits(connections=cap, request_seconds=60))
    port, before, peak = preview.server.port, threading.active_count(), 0
    sockets = []
    try:
        for _ in range(200):
            sockets.append(raw(port, PARTIAL))
            peak = max(peak, threading.active_count())
        wait_until(lambda: threading.active_count() <= before + cap, what="the dropped connections' threads to end")
        assert peak <= before + cap + 8, f"{peak - before} threads for 200 half-sent requests"
        started = time.monotonic()
        code, _, body = fetch(preview, STORY)
        assert code == 200 and "A story" in body and time.monotonic() - started < 5
        assert all(closed_by_server(sock) for sock in sockets[:200 - cap])  # the oldest went first
    finally:
        for sock in sockets:
            sock.close()


def test_a_request_not_received_in_time_is_dropped(newsroom, start_preview):
    """A byte every 0.1 s would keep a per-read timeout waiting for ever: the deadline is total."""
    preview = start_preview(newsroom, limits=Limits(request_seconds=0.5))
    started = time.monotonic()
    with raw(preview.server.port, PARTIAL) as sock:
        closed = False
        while not closed and time.monotonic() - started < 10:
            try:
                sock.sendall(b"x")
            except (BrokenPipeError, ConnectionResetError):
                break
            if select.select([sock], [], [], 0.1)[0]:  # readable: the server ended it
                closed = closed_by_server(sock)
        elapsed = time.monotonic() - started
    assert 0.45 < elapsed < 5, elapsed
    assert fetch(preview, STORY)[0] == 200  # a request sent whole is answered as ever


def test_live_reload_clients_are_capped_oldest_first(newsroom, start_preview):
    cap = 10
    preview = start_preview(newsroom, limits=Limits(live_clients=cap))
    port, before = preview.server.port, threading.active_count()
    request = f"GET /newsroom/{LIVERELOAD} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    streams = []
    try:
        for _ in range(100):
            streams.append(raw(port, request))
            read_until(streams[-1], b"event: state")  # each one listening before the next comes
        assert all(closed_by_server(sock) for sock in streams[:-cap])
        wait_until(lambda: threading.active_count() <= before + cap, what="the dropped streams' threads to end")
        preview.state.fail(["a new problem"])
        for sock in streams[-cap:]:
            read_until(sock, b"a new problem")  # the newest still hear every build
    finally:
        for sock in streams:
            sock.close()


class Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[dict] = []
        self.code: list[str] = []
        self._inside = False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.tags.append(dict(attrs))
            self._inside = True

    def handle_endtag(self, tag):
        self._inside = self._inside and tag != "script"

    def handle_data(self, data):
        if self._inside:
            self.code.append(data)


def test_the_base_path_cannot_break_out_of_the_injected_script_tag(tmp_path, start_preview):
    base_path = '/a"b</script><script>alert(1)</script>/'
    site = make_site(tmp_path / "site", {
        "site.toml": f"title = \"N\"\nbase_url = 'https://example.org{base_path}'\n",
        "content/story.md": article(title="A story"),
    })
    preview = start_preview(site)
    code, _, body = fetch(preview, quote(base_path))
    assert code == 200 and "A story" in body
    page = Scripts()
    page.feed(body)
    live = [tag for tag in page.tags if LIVERELOAD in tag.get("src", "")]
    assert live == [{"src": base_path + LIVERELOAD + ".js", "data-events": base_path + LIVERELOAD, "data-generation": "1"}]
    assert not any("alert" in code for code in page.code)
    assert all(tag["src"].startswith(base_path) for tag in page.tags if "src" in tag)


def test_folder_redirects_keep_the_query_and_stay_on_this_server(newsroom, tmp_path, start_preview):
    preview = start_preview(newsroom)
    for path, location in (("/newsroom/search?q=ai", "/newsroom/search/?q=ai"), ("/?q=ai", "/newsroom/?q=ai"),
                           ("/newsroom/topics?", "/newsroom/topics/")):
        code, response, _ = fetch(preview, path)
        assert (code, response.getheader("Location")) == (301, location)
    rooted = start_preview(make_site(tmp_path / "rooted", {"content/story.md": article()}))
    for path, location in (("////topics", "/topics/"), ("////topics?q=ai", "/topics/?q=ai")):
        code, response, _ = fetch(rooted, path)
        assert (code, response.getheader("Location")) == (301, location)  # never "//topics/": another host


def _temp_folders(tmp) -> list:
    return sorted(p.name for p in tmp.glob("site-builder-serve-*"))


def test_sigterm_removes_the_temporary_folder_as_ctrl_c_does(newsroom, tmp_path, monkeypatch):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    process, _ = _start_cli("serve", str(newsroom), "--port", "0")
    try:
        assert len(_temp_folders(tmp)) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0 and "Stopped." in out and "Traceback" not in err
    assert _temp_folders(tmp) == []


@pytest.mark.parametrize("host, warns", [("0.0.0.0", True), ("localhost", False)])
def test_serving_beyond_this_machine_warns_that_drafts_show(newsroom, host, warns):
    process, lines = _start_cli("serve", str(newsroom), "--host", host, "--port", "0")
    try:
        printed = re.search(r"http://([^/]+:(\d+))/", lines[-1])
        port = int(printed.group(2))
        for name in (None, printed.group(1), *[socket.gethostname()] * warns):  # sent to loopback only
            assert ask(port, STORY, name)[0] == 200, name
        assert ask(port, STORY, f"rebind.attacker.example:{port}")[0] == 403  # on every interface too
    finally:
        code, out, err = _interrupt(process)
    assert code == 0 and "Traceback" not in err
    assert ("warning:" in err and "drafts" in err and "network" in err) is warns, err


def test_a_name_too_long_for_the_file_system_is_a_404(newsroom, start_preview):
    """Any web page may ask the preview for such a path (an <img> needs no Host of its own)."""
    preview = start_preview(newsroom)
    for path in ("/newsroom/" + "a" * 300, "/newsroom/topics/" + "b" * 300 + "/"):
        code, _, _ = ask(preview.server.port, path, None)
        assert code == 404
    assert ask(preview.server.port, STORY, None)[0] == 200


def test_every_spelling_of_every_interface_is_a_wildcard():
    from site_builder.serve_guard import is_wildcard

    assert all(map(is_wildcard, ("", "0", "0.0.0.0", "::", "[::]", "::0", "0:0:0:0:0:0:0:0")))
    assert not any(map(is_wildcard, ("127.0.0.1", "localhost", "::1", "[::1]", "example.org")))

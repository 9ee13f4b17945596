"""`site-builder import` from addresses and files that are hostile or broken, served by a
real HTTP server on 127.0.0.1: a body is only ever parsed as feed bytes, never opened as a
path; each response is bounded in bytes and in total time; redirects stay on http(s); and
each bad source is named with its reason while the good one beside it still imports."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import REPO, make_site, wait_until
from site_builder import importer

CAP = 1024 * 1024  # MAX_FEED_BYTES for these tests
DEADLINE = 1.0  # FETCH_TIMEOUT for these tests, seconds


def json_feed(*titles: str, host: str = "good.example") -> bytes:
    return json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "Good", "items": [
            {"id": t, "url": f"https://{host}/{t.lower().replace(' ', '-')}", "title": t,
             "date_published": "2024-05-14T08:00:00Z"} for t in titles],
    }).encode()


PRIVATE_RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Private</title>
<item><title>Private story</title><link>https://private.example/secret</link>
<pubDate>Tue, 14 May 2024 08:00:00 GMT</pubDate></item></channel></rss>"""


class Handler(BaseHTTPRequestHandler):
    routes: dict = {}
    stop = threading.Event()
    left_after: dict[str, float] = {}  # path -> seconds until the client hung up

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        route = self.routes.get(self.path)
        if route is None and self.path.startswith("/hop/"):  # an endless chain of redirects
            route = ("redirect", f"/hop/{int(self.path[5:]) + 1}")
        kind, value = route
        if kind == "redirect":
            self.send_response(302)
            self.send_header("Location", value)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif kind == "status":
            self.send_error(value)
        elif kind == "body":
            self._headers(len(value))
            self.wfile.write(value)
        elif kind == "truncated":  # promises more than it sends, then closes
            self._headers(len(value) * 4)
            self.wfile.write(value)
        elif kind == "declared":  # a huge declared length; a few bytes, then silence
            self._headers(value)
            self.wfile.write(b"{" * 100)
            self.wfile.flush()
            self.stop.wait(10)
        elif kind == "slow-headers":  # a header line that never ends
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            self._drip(b"a")
        elif kind == "drip":  # no length, a byte at a time, each well under the socket timeout
            self._headers(None)
            self._drip(b" ")
        elif kind == "endless":  # no length, as fast as the client reads
            self._headers(None)
            self._drip(b"\0" * 65536, pause=0)

    def _drip(self, data: bytes, pause: float = 0.05):
        """`data` again and again for up to ten seconds, or until the client gives up."""
        started = time.monotonic()
        try:
            while not self.stop.is_set() and time.monotonic() - started < 10:
                self.wfile.write(data)
                self.wfile.flush()
                if pause:
                    self.stop.wait(pause)
        except OSError:
            self.left_after[self.path] = time.monotonic() - started

    def _headers(self, length):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close")
        self.end_headers()


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    Handler.stop.clear()
    Handler.left_after.clear()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    Handler.stop.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def limits(monkeypatch):
    monkeypatch.setattr(importer, "MAX_FEED_BYTES", CAP)
    monkeypatch.setattr(importer, "FETCH_TIMEOUT", DEADLINE)


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "site", {"site.toml": 'base_url = "https://news.example/"\n'})


def titles_in(site: Path) -> set[str]:
    found = set()
    for path in (site / "content").iterdir():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("title: "):
                found.add(json.loads(line[len("title: "):]))
    return found


def test_each_bad_address_is_named_with_its_reason_and_the_good_ones_import(server, limits, site, run, tmp_path):
    private = tmp_path / "private" / "feed.xml"
    private.parent.mkdir()
    private.write_bytes(PRIVATE_RSS)
    ftp = socket.create_server(("127.0.0.1", 0))  # stands in for an FTP server: nobody may connect
    ftp_port = ftp.getsockname()[1]
    deep = b'{"version": "https://jsonfeed.org/version/1.1", "items": [' + b"[" * 200_000 + b"]" * 200_000 + b"]}"
    Handler.routes = {
        "/good.json": ("body", json_feed("Good one", "Good two")),
        "/moved": ("redirect", "/moved.json"),  # a redirect within http is followed
        "/moved.json": ("body", json_feed("Moved one", host="moved.example")),
        "/path": ("body", str(private).encode()),
        "/drip": ("drip", None),
        "/endless": ("endless", None),
        "/declared": ("declared", 50 * CAP),
        "/truncated": ("truncated", json_feed("Cut one", host="cut.example")),
        "/to-file": ("redirect", "file:///etc/passwd"),
        "/to-ftp": ("redirect", f"ftp://127.0.0.1:{ftp_port}/feed.xml"),
        "/to-data": ("redirect", "data:application/json," + json_feed("Data one").decode()),
        "/hop/0": ("redirect", "/hop/1"),
        "/500": ("status", 500),
        "/empty": ("body", b""),
        "/deep.json": ("body", deep),
        "/slow-headers": ("slow-headers", None),
        "/bad.xml": ("body", b'<?xml version="1.0"?><rss version="2.0"><channel><title>Fish & chips</title>'
                             b"</channel></rss>"),
    }
    expected = {
        "/path": "not a feed: bad XML",
        "/drip": f"could not fetch: no complete response within {DEADLINE:g} s; gave up",
        "/slow-headers": f"could not fetch: no complete response within {DEADLINE:g} s; gave up",
        "/endless": "could not fetch: the response is larger than the 1 MiB limit; stopped reading",
        "/declared": "could not fetch: the response is 50 MiB, larger than the 1 MiB limit; not read",
        "/truncated": "could not fetch: the connection closed before the whole response arrived",
        "/to-file": "could not fetch: redirected to file:///etc/passwd; only http and https addresses are followed",
        "/to-ftp": f"could not fetch: redirected to ftp://127.0.0.1:{ftp_port}/feed.xml; only http and https",
        "/to-data": "could not fetch: redirected to data:application/json,",
        "/hop/0": "could not fetch: more than 5 redirects; gave up",
        "/500": "could not fetch: HTTP 500 Internal Server Error",
        "/empty": "not a feed: no Atom, RSS or JSON Feed found",
        "/deep.json": "not a feed: JSON nested too deeply to read",
        "/bad.xml": "not a feed: bad XML: not well-formed (invalid token)",
    }
    bad = [server + path for path in expected]
    # the good sources first, between and last: no failure stops the sources after it
    sources = [server + "/good.json", *bad[:6], server + "/moved", *bad[6:]]
    started = time.monotonic()
    result = run("import", *sources, "--site", site)
    elapsed = time.monotonic() - started

    assert result.code == 1
    assert "Traceback" not in result.err
    assert titles_in(site) == {"Good one", "Good two", "Moved one"}  # not "Private story"
    assert result.out.splitlines()[-1] == "3 new, 0 skipped, 0 invalid"
    errors = [line for line in result.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(bad), result.err
    for path, reason in expected.items():
        assert f"error: {server}{path}: {reason}" in result.err, (path, result.err)
    # the slow responses were cut at the deadline, not after their ten seconds
    wait_until(lambda: {"/drip", "/slow-headers"} <= set(Handler.left_after), what="the client to hang up")
    for path in ("/drip", "/slow-headers"):
        assert DEADLINE - 0.2 < Handler.left_after[path] < DEADLINE + 1, (path, Handler.left_after)
    assert elapsed < 8, elapsed
    ftp.setblocking(False)
    with pytest.raises(BlockingIOError):  # nothing connected to the ftp: address
        ftp.accept()
    ftp.close()


CHILD = """
import sys
from site_builder import importer
importer.MAX_FEED_BYTES = 1024 * 1024
importer.FETCH_TIMEOUT = 10
from site_builder.cli import main
sys.exit(main(sys.argv[1:]))
"""


def import_in_child(*args) -> tuple[subprocess.CompletedProcess, int]:
    """The CLI in a child process capped at 1 GiB of address space (so a regression
    fails, it does not exhaust the machine); its output and peak resident KiB."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1024 ** 3, 1024 ** 3))

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen([sys.executable, "-c", CHILD, *map(str, args)], env=env, preexec_fn=limit,
                                 stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # the child's own rusage
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(args, child.returncode, out.read().decode(), err.read().decode())
    return done, usage.ru_maxrss


def test_endless_bodies_and_a_body_naming_dev_zero_keep_memory_bounded(server, site, tmp_path):
    """A body '/dev/zero' once made the parser read that device until memory ran out; an
    endless body is read to the cap and no further."""
    Handler.routes = {
        "/good.json": ("body", json_feed("Good one")),
        "/zero": ("body", b"/dev/zero"),
        "/endless": ("endless", None),
    }
    baseline_site = make_site(tmp_path / "baseline", {"site.toml": 'base_url = "https://news.example/"\n'})
    baseline, baseline_peak = import_in_child("import", server + "/good.json", "--site", baseline_site)
    assert baseline.returncode == 0, baseline.stderr

    result, peak = import_in_child("import", server + "/zero", server + "/endless", server + "/good.json",
                                   "--site", site)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert f"error: {server}/zero: not a feed: " in result.stderr
    assert f"error: {server}/endless: could not fetch: the response is larger than the 1 MiB limit" in result.stderr
    assert titles_in(site) == {"Good one"}
    assert peak - baseline_peak < 32 * 1024, (peak, baseline_peak)  # KiB: a few copies of 1 MiB at most


@pytest.mark.timeout(60)  # opening the FIFO once blocked for ever
def test_local_files_that_are_not_regular_or_too_large_are_refused_unread(site, run, tmp_path):
    fifo = tmp_path / "feed.fifo"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.xml"
    with open(huge, "wb") as file:  # sparse: no disk used
        file.truncate(4 * 1024 ** 3)
    good = tmp_path / "good.json"
    good.write_bytes(json_feed("Good one"))
    result = run("import", "/dev/zero", fifo, huge, good, "--site", site)
    assert result.code == 1
    assert "error: /dev/zero: not a regular file; not read" in result.err
    assert f"error: {fifo}: not a regular file; not read" in result.err
    assert f"error: {huge}: the file is 4096 MiB, larger than the 20 MiB limit; not read" in result.err
    assert titles_in(site) == {"Good one"}

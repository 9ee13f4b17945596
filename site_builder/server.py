"""SERVE: preview a site over HTTP while its author edits it, reloading browsers.

`Preview` keeps one ordinary Builder (so a rebuild redoes only what the change touched)
building into a private folder, and holds requests while a build moves its files into
place, so a request sees one whole build or the next, never a mix. A clean build tells browsers to reload; a build
with errors leaves the last good site as it is (the builder writes nothing then) and shows
its errors in an overlay. Pages are
served the way GitHub Pages serves the built folder: under the base path of base_url,
index.html for folders, 404.html for the rest. Only served HTML gets the live-reload
script; the files the builder writes never do.
"""

from __future__ import annotations

import errno
import io
import json
import mimetypes
import os
import re
import shutil
import socket
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from html import escape as escape_html
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from .builder import BuildOptions, Builder, CacheMode, SearchMode, gc_paused
from .config import ConfigError, load_config
from .desk import DESK, Desk, is_desk_path
from .search import SEARCH_DIR
from .serve_guard import Connections, DeadlineReader, Limits, Redirect, allowed_names, host_allowed, resolve
from .watch import BuildOutcome, WatchedBuild, print_outcome, run_build
from .workspace import preview_folder

DEFAULT_PORT = 8000
PORT_TRIES = 20  # with no --port given, a busy 8000 moves on to the next free port
LIVERELOAD = "__livereload"  # under the base path: the event stream; + ".js", ".json"
KEEPALIVE_SECONDS = 15.0
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_TYPES = {
    ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8", ".json": "application/json",
    ".xml": "application/xml", ".txt": "text/plain; charset=utf-8", ".svg": "image/svg+xml",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".avif": "image/avif", ".ico": "image/x-icon", ".woff2": "font/woff2",
    ".woff": "font/woff", ".pdf": "application/pdf", ".webmanifest": "application/manifest+json",
    # Pagefind's bundle, named here rather than left to the machine's mime.types:
    ".wasm": "application/wasm", ".pagefind": "application/octet-stream", ".pf_meta": "application/octet-stream",
    ".pf_fragment": "application/octet-stream", ".pf_index": "application/octet-stream",
}
_FORBIDDEN = b"403 Forbidden: this preview answers only requests for localhost, 127.0.0.1, [::1] or its --host\n"

CLIENT_SCRIPT = (Path(__file__).parent / "livereload.js").read_bytes()


class PortInUseError(Exception):
    pass


@dataclass
class LiveState:
    """What is served now, shared by the build thread and request threads."""

    root: Path | None = None  # the folder of the last good build (None before the first)
    base_path: str = "/"
    generation: int = 0  # counts the builds served; a page that has an older one reloads
    messages: list[str] = field(default_factory=list)  # errors of the newest build
    closed: bool = False
    changed: threading.Condition = field(default_factory=threading.Condition)
    building: threading.Lock = field(default_factory=threading.Lock)  # held while a build moves its files into place

    def publish(self, root: Path, base_path: str, messages: list[str]) -> None:
        with self.changed:
            self.root, self.base_path, self.messages = root, base_path, messages
            self.generation += 1
            self.changed.notify_all()

    def fail(self, messages: list[str]) -> None:
        with self.changed:
            self.messages = messages
            self.changed.notify_all()

    def settle(self) -> None:
        """A good build that changed no page: any error shown is gone, no reload needed."""
        self.fail([])

    def close(self) -> None:
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def wake(self) -> None:
        """Wake every event stream, so a dropped one can leave."""
        with self.changed:
            self.changed.notify_all()

    def snapshot(self) -> dict:
        with self.changed:
            return {"generation": self.generation, "ok": not self.messages, "messages": list(self.messages)}


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True  # event streams stay open; never wait for them at shutdown
    request_queue_size = 128  # not 5: past the backlog a new connection waits a second (SYN resent)

    def __init__(self, address: tuple[str, int], state: LiveState, live_reload: bool, limits: Limits = Limits()):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.state, self.live_reload, self.limits = state, live_reload, limits
        self.host_names = allowed_names(address[0])
        self.connections = Connections(limits, state.wake)
        self.desk: Desk | None = None  # the curation desk at /_desk/ (a Preview's only)
        super().__init__(address, PreviewHandler)

    def process_request(self, request, client_address) -> None:
        self.connections.admit(request)  # in the accepting thread, before the request's own
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        self.connections.forget(request)
        super().shutdown_request(request)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError):  # a browser that left mid-response is normal
            print(f"warning: serving {client_address[0]}: {type(exc).__name__}: {exc}", file=sys.stderr)


def bind_server(host: str, port: int | None, state: LiveState, live_reload: bool, limits: Limits = Limits()) -> PreviewServer:
    """Bind the port now, so a busy one is a clear error before any build starts."""
    candidates = [port] if port is not None else range(DEFAULT_PORT, DEFAULT_PORT + PORT_TRIES)
    for candidate in candidates:
        try:
            server = PreviewServer((host, candidate), state, live_reload, limits)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        if port is None and candidate != DEFAULT_PORT:
            print(f"Port {DEFAULT_PORT} is in use; using port {candidate} instead.", flush=True)
        return server
    if port is None:
        raise PortInUseError(f"ports {DEFAULT_PORT}-{DEFAULT_PORT + PORT_TRIES - 1} on {host} are all in use; choose one with --port")
    raise PortInUseError(f"port {port} on {host} is already in use; stop whatever uses it or choose another with --port")


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:
        pass  # a request log would drown the build messages the author is watching for

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # replaced by one with a deadline (closed, so the socket can close)
        self.reader = DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self.reader)

    def handle_one_request(self) -> None:
        self.reader.deadline = time.monotonic() + self.server.limits.request_seconds
        self.server.connections.waiting(self.connection, True)
        super().handle_one_request()

    def parse_request(self) -> bool:
        """Read the headers (still under the deadline), then refuse a Host that is not ours."""
        parsed = super().parse_request()
        self.reader.deadline = None
        self.connection.settimeout(self.server.limits.request_seconds)  # each send, from now on
        self.server.connections.waiting(self.connection, False)
        if parsed and not host_allowed(self.headers.get("Host"), self.server.host_names, self.connection.getsockname()[0]):
            self.close_connection = True
            self._send(HTTPStatus.FORBIDDEN, "text/plain; charset=utf-8", _FORBIDDEN, self.command == "HEAD")
            return False
        return parsed

    def send_response(self, code, message=None) -> None:
        super().send_response(code, message)
        self.send_header("X-Content-Type-Options", "nosniff")  # every file is served as its type says

    def do_HEAD(self) -> None:
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:
        state = self.server.state
        with state.changed:
            root, base_path, generation = state.root, state.base_path, state.generation
        request = urlsplit(self.path)
        raw_path = request.path
        if self.server.desk is not None and is_desk_path(raw_path):  # at the root, whatever the base path
            return self.server.desk.handle(self, head)
        folder, _, name = raw_path.rpartition("/")
        # Under the base path, or the root for pages served before base_url was known.
        if self.server.live_reload and name.startswith(LIVERELOAD) and folder + "/" in ("/", base_path):
            return self._live_reload(name, head)
        if root is None:
            return self._no_site_yet(base_path, generation, head)
        target = resolve(root, base_path, raw_path)
        if isinstance(target, Redirect):
            return self._redirect(target.location, request.query)
        if target is None:
            not_found = root / "404.html"
            if not_found.is_file():
                return self._file(not_found, base_path, generation, head, HTTPStatus.NOT_FOUND)
            return self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"404 Not Found\n", head)
        self._file(target, base_path, generation, head)

    def do_POST(self) -> None:
        """Only the desk takes a POST; anything else is refused as before there was one."""
        if self.server.desk is not None and is_desk_path(urlsplit(self.path).path):
            return self.server.desk.handle(self, post=True)
        self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({self.command!r})")

    def _file(self, path: Path, base_path: str, generation: int, head: bool, status=HTTPStatus.OK) -> None:
        try:
            with self.server.state.building:  # never a file from a build still being written
                body = path.read_bytes()
        except OSError:
            return self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"404 Not Found\n", head)
        content_type = _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/html"):
            body = self._with_client(body, base_path, generation)
        self._send(status, content_type, body, head)

    def _with_client(self, html: bytes, base_path: str, generation: int) -> bytes:
        if not self.server.live_reload:
            return html
        src, events = (escape_html(base_path + LIVERELOAD + end) for end in (".js", ""))
        tag = f'<script src="{src}" data-events="{events}" data-generation="{generation}"></script>\n'.encode()
        ends = list(_BODY_END.finditer(html))
        at = ends[-1].start() if ends else len(html)
        return html[:at] + tag + html[at:]

    def _no_site_yet(self, base_path: str, generation: int, head: bool) -> None:
        """Before the first build that could be served: say why, and reload when there is one."""
        messages = "\n".join(self.server.state.snapshot()["messages"]) or "The site is being built."
        page = (
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Site not built</title></head>"
            f"<body><h1>The site could not be built</h1><pre>{escape_html(messages)}</pre></body></html>"
        ).encode()
        self._send(HTTPStatus.SERVICE_UNAVAILABLE, "text/html; charset=utf-8", self._with_client(page, base_path, generation), head)

    def _live_reload(self, name: str, head: bool) -> None:
        if name == LIVERELOAD + ".js":
            return self._send(HTTPStatus.OK, "text/javascript; charset=utf-8", CLIENT_SCRIPT, head)
        if name == LIVERELOAD + ".json":
            return self._send(HTTPStatus.OK, "application/json", json.dumps(self.server.state.snapshot()).encode(), head)
        if name != LIVERELOAD or head:
            return self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"404 Not Found\n", head)
        self._event_stream()

    def _event_stream(self) -> None:
        """Server-Sent Events: the state now, then again after every build, until either side leaves."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        state = self.server.state
        dropped = self.server.connections.stream(self.connection)
        sent = None
        try:
            self.wfile.write(b"retry: 500\n\n")
            while True:
                with state.changed:
                    if state.closed or dropped.is_set():
                        return
                    now = state.snapshot()
                    if now == sent:
                        woken = state.changed.wait(KEEPALIVE_SECONDS)
                        now = state.snapshot()
                        if woken and now == sent:
                            continue  # woken for another stream's sake
                if state.closed or dropped.is_set():
                    return
                message = f"event: state\ndata: {json.dumps(now)}\n\n" if now != sent else ": keep-alive\n\n"
                self.wfile.write(message.encode())
                self.wfile.flush()
                sent = now
        except (ConnectionError, OSError):
            return  # the page was closed or reloaded

    def _redirect(self, location: str, query: str = "") -> None:
        location = "/" + location.lstrip("/")  # a path on this server: "//name/..." would be another site
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", location + ("?" + query if query else ""))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: HTTPStatus, content_type: str, body: bytes, head: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")  # always revalidate: the files change under the browser
        self.end_headers()
        if not head:
            self.wfile.write(body)


def _pages_changed(report) -> bool:
    """Whether a build changed what a page shows (not just the search index)."""
    removed = report.write.removed if report.write else []
    return bool(report.rendered) or any(not rel.startswith(SEARCH_DIR + "/") for rel in removed)


PAGES_FIRST_ROUNDS = 3  # edits served ahead of a pending search index, at most, in a row
FOLLOW_UP_PAUSE = 0.15  # seconds the browsers reloading after an edit's pages get before the follow-up build takes the CPU


class Preview:
    """`serve`: build, serve, watch, rebuild, reload. `start()` returns once the site is served."""

    def __init__(self, options: BuildOptions, host: str = "127.0.0.1", port: int | None = 0,
                 poll: bool = False, live_reload: bool = True, limits: Limits = Limits()):
        self.options = options
        self.state = LiveState()
        self.server = bind_server(host, port, self.state, live_reload, limits)
        self.work = preview_folder(options.site_dir / "content")  # in memory when there is room (workspace.py)
        self.builder = Builder(replace(options, out_dir=self.work / "site"), cache=CacheMode.READ)
        self.session = WatchedBuild(options.site_dir, self.rebuild, poll)
        # The desk's writes rebuild at once; their file events then cost one no-op build at most.
        self.desk = Desk(options.site_dir, self.state, self.builder.current, self._desk_wrote)
        self.server.desk = self.desk
        # images = "local": builds show an image not yet in the cache from the publisher and
        # do not wait for it; once a background fetch brought it, a rebuild swaps it in.
        self.builder.images.arrived = self.session.debouncer.poke
        self._serving = threading.Thread(target=self.server.serve_forever, name="site-builder-serve", daemon=True)
        self.last_outcome: BuildOutcome | None = None

    @property
    def url(self) -> str:
        host = self.server.server_address[0]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.server.port}{self.state.base_path}"

    @property
    def desk_url(self) -> str:
        """The desk is at the server's root, whatever the base path."""
        return self.url[: -len(self.state.base_path)] + DESK + "/"

    @property
    def rebuilds(self) -> int:
        return self.session.rebuilds

    def start(self) -> None:
        try:
            self.session.start_watching()
            self.rebuild(verb="Built")
            self._serving.start()
            self.session.start_rebuilding()
        except BaseException:
            self.stop()
            raise

    def _desk_wrote(self, paths: list[Path]) -> None:
        self.session.watcher.changes.add(os.path.realpath(path) for path in paths)  # as the watcher names them
        self.session.debouncer.poke(now=True)

    def rebuild(self, verb: str = "Rebuilt") -> BuildOutcome:
        """Rebuild; serve the result and reload browsers if the build is good. Pages come
        first, looking only at the files the watcher saw change; a second build right after
        looks at every file, renders what the first left, indexes a changed search shard
        (it takes longest) and checks the files of the pages not rendered. An edit saved
        meanwhile gets its pages first too: the index waits, but not for ever (a program
        writing into content/ without pause)."""
        first = self.state.root is None
        # The collector stays off until the browsers reloading after the first build have
        # their pages: it would scan what the build made (tens of ms) before they are served.
        with gc_paused():
            changed = None if first else self.session.watcher.changes.take()
            outcome = self._build(verb, SearchMode.NOW if first else SearchMode.PAGES_FIRST, changed)
            if outcome.ok and self.builder.pending:
                time.sleep(FOLLOW_UP_PAUSE)
        rounds = 0
        while outcome.ok and self.builder.pending:
            rounds += 1  # each round indexes, unless yet another edit came first
            outcome = self._build(verb, SearchMode.PAGES_FIRST if rounds < PAGES_FIRST_ROUNDS else SearchMode.NOW)
        self.last_outcome = outcome
        return outcome

    def _build(self, verb: str, search: str, changed=None) -> BuildOutcome:
        first = self.state.root is None
        # The first site is built even with invalid articles: better than none. Requests
        # are served from the last build until this one moves its files into place.
        outcome = run_build(self.builder, publish_with_errors=first, commit_lock=self.state.building, search=search, changed=changed)
        report = outcome.report
        pages_changed = first or (report is not None and _pages_changed(report))
        if outcome.ok or (report is not None and first):
            if pages_changed:
                self.state.publish(self.builder.options.output, self._base_path(), outcome.messages)
            else:
                self.state.settle()  # only the search index changed: nothing to reload
        else:
            self.state.fail(outcome.messages)
        if pages_changed or not outcome.ok:
            print_outcome(outcome, verb)
        if outcome.ok:
            self.desk.warm()  # the page is served already; the next build waits for this
        return outcome

    def _base_path(self) -> str:
        try:
            return load_config(self.options.site_dir, self.options.base_url).base_path
        except ConfigError:
            return self.state.base_path  # site.toml broke after the build; its own rebuild will say so

    def stop(self) -> None:
        self.builder.images.stop()
        self.session.stop()
        self.state.close()
        if self._serving.is_alive():
            self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.work, ignore_errors=True)

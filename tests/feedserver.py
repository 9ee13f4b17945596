"""A real HTTP server on 127.0.0.1 serving feeds the way publishers do: with an ETag or
a Last-Modified date, answering 304 to a request that sends them back, gzip when asked,
redirects, errors and a response that never comes. Every request is counted."""

from __future__ import annotations

import gzip
import json
import select
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    etag: str = ""
    last_modified: str = ""
    status: int = 200
    gzip: bool = False  # gzip the body when the client accepts it
    raw_gzip: bytes = b""  # these bytes, sent as a gzip body as they are (a bomb)
    location: str = ""  # a redirect's target
    hang: bool = False  # headers never come (until the client hangs up)


@dataclass
class Seen:
    path: str
    if_none_match: str | None
    if_modified_since: str | None
    accept_encoding: str | None
    status: int = 0


@dataclass
class FeedServer:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    hanging: int = 0  # requests in a hang whose client is still waiting
    most_hanging: int = 0  # the most that ever waited at once
    url: str = ""

    def __post_init__(self):
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def served(self, path: str) -> list[Seen]:
        with self.lock:
            return [seen for seen in self.requests if seen.path == path]

    def start(self) -> FeedServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                seen = Seen(self.path, self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"),
                            self.headers.get("Accept-Encoding"))
                with server.lock:
                    server.requests.append(seen)
                route = server.routes.get(self.path)
                if route is None:
                    return self._send(seen, 404, b"not found")
                if route.hang:
                    with server.lock:
                        server.hanging += 1
                        server.most_hanging = max(server.most_hanging, server.hanging)
                    self._wait_for_hang_up()
                    with server.lock:
                        server.hanging -= 1
                    return
                if route.location:
                    return self._send(seen, 301, b"", {"Location": route.location})
                if route.status != 200:
                    return self._send(seen, route.status, b"error")
                validators = {k: v for k, v in (("ETag", route.etag), ("Last-Modified", route.last_modified)) if v}
                if (route.etag and seen.if_none_match == route.etag) or \
                        (route.last_modified and not route.etag and seen.if_modified_since == route.last_modified):
                    return self._send(seen, 304, b"", validators)
                if route.raw_gzip:
                    return self._send(seen, 200, route.raw_gzip, {**validators, "Content-Encoding": "gzip"})
                if route.gzip and "gzip" in (seen.accept_encoding or ""):
                    return self._send(seen, 200, gzip.compress(route.body), {**validators, "Content-Encoding": "gzip"})
                self._send(seen, 200, route.body, validators)

            def _wait_for_hang_up(self):
                """Until the client closes the connection (or the server stops)."""
                while not server.stop.is_set():
                    if select.select([self.connection], [], [], 0.02)[0]:
                        try:
                            if not self.connection.recv(1, socket.MSG_PEEK):
                                return
                        except OSError:
                            return

            def _send(self, seen: Seen, status: int, body: bytes, headers: dict | None = None):
                seen.status = status
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        return self

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def json_feed(*titles: str, host: str = "news.example", title: str = "Example News") -> bytes:
    """A JSON Feed 1.1 with one item per title, each at https://host/<slug>."""
    return json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": title, "items": [
            {"id": t, "url": f"https://{host}/{t.lower().replace(' ', '-')}", "title": t,
             "date_published": "2024-05-14T08:00:00Z", "tags": ["Feed tag"]} for t in titles],
    }).encode()


def rss_feed(*titles: str, host: str = "rss.example") -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>https://{host}/{t.lower().replace(' ', '-')}</link>"
        f"<pubDate>Tue, 14 May 2024 08:00:00 GMT</pubDate></item>" for t in titles)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>RSS News</title>{items}'
            f"</channel></rss>").encode()

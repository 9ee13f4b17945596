"""FETCH: the body of one http(s) response as bytes, bounded in size and in total time.

One helper for every network read (feeds for `import` now, images later). Only http and
https are spoken, here and in redirects; a response must be complete, headers and body,
within one deadline for the whole exchange (not per read: a server that drips a byte a
second is cut off too); a body is read in chunks and refused one byte past the cap, which
bounds a gzip body once decompressed. A request can be conditional (the ETag and
Last-Modified of an earlier answer), so a feed with nothing new costs a 304. Every
failure is a FetchError whose message says why in words a user understands. Looking up
the host's name is the one step no deadline can cut short (the system resolver has none).
"""

from __future__ import annotations

import functools
import http.client
import io
import os
import socket
import ssl
import stat
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from . import __version__
from .models import printable

MAX_BYTES = 20 * 1024 * 1024
DEADLINE = 20.0  # seconds for connect, headers and body together
MAX_REDIRECTS = 5
CHUNK = 64 * 1024
SCHEMES = ("http", "https")


class FetchError(Exception):
    """An address that could not be fetched; the message says why (without the address)."""


@dataclass(frozen=True)
class Response:
    """A complete answer: 200 with its body (decompressed), or 304 with none; `etag` and
    `last_modified` are the validators to send next time ("" when the server gave none)."""

    status: int
    body: bytes
    etag: str = ""
    last_modified: str = ""


def fetch(url: str, max_bytes: int = MAX_BYTES, deadline: float = DEADLINE) -> bytes:
    """The body of a 200 response for `url` (http or https), at most `max_bytes` long,
    complete within `deadline` seconds. Raises FetchError."""
    return fetch_response(url, max_bytes, deadline).body


def fetch_response(url: str, max_bytes: int = MAX_BYTES, deadline: float = DEADLINE,
                   etag: str = "", last_modified: str = "") -> Response:
    """fetch(), conditional when given the validators of an earlier answer: a server that
    has nothing new answers 304, which comes back as Response(304, b""). A gzip body is
    decompressed, and `max_bytes` bounds the decompressed bytes, so a small gzip bomb is
    refused like a large body."""
    if not is_http_url(url):
        raise FetchError("not an http(s) address")
    end = time.monotonic() + deadline
    headers = {"User-Agent": f"site-builder/{__version__}", "Accept-Encoding": "gzip"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        request = urllib.request.Request(url, headers=headers)
    except ValueError as exc:
        raise FetchError(f"not a valid address ({shown(str(exc))})") from None
    try:
        with _opener(end).open(request, timeout=_left(end)) as response:
            body = _read_body(response, max_bytes)
            return Response(200, body, *_validators(response.headers))
    except FetchError:
        raise
    except urllib.error.HTTPError as exc:
        if exc.code == 304 and (etag or last_modified):
            exc.close()
            return Response(304, b"", *_validators(exc.headers))
        raise FetchError(f"HTTP {exc.code} {shown(str(exc.reason))}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason if isinstance(exc.reason, BaseException) else None
        raise _failure(reason, str(exc.reason), deadline) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _failure(exc, str(exc), deadline) from None


def _validators(headers) -> tuple[str, str]:
    """ETag and Last-Modified as sent, if they are short printable lines (they are sent back)."""
    found = []
    for name in ("ETag", "Last-Modified"):
        value = (headers.get(name) or "").strip()
        found.append(value if len(value) <= 200 and value.isascii() and value.isprintable() else "")
    return found[0], found[1]


def _read_body(response, max_bytes: int) -> bytes:
    """The body, read in chunks and refused one byte past `max_bytes`, after gzip
    decoding when the server used it; a length declared larger is refused unread."""
    length = response.headers.get("Content-Length", "").strip()
    declared = int(length) if length.isascii() and length.isdigit() else None
    if declared is not None and declared > max_bytes:
        raise FetchError(f"the response is {human_size(declared)}, "
                         f"larger than the {human_size(max_bytes)} limit; not read")
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return _read_gzip(response, max_bytes, declared)
    if encoding not in ("", "identity"):
        raise FetchError(f"the response uses Content-Encoding {shown(encoding, 40)!r}, which is not read (only gzip is)")
    body = bytearray()
    while len(body) <= max_bytes:
        chunk = response.read(min(CHUNK, max_bytes + 1 - len(body)))
        if not chunk:
            if declared is not None and len(body) < declared:  # http.client returns it short
                raise FetchError("the connection closed before the whole response arrived")
            return bytes(body)
        body += chunk
    raise FetchError(f"the response is larger than the {human_size(max_bytes)} limit; stopped reading")


def _read_gzip(response, max_bytes: int, declared: int | None) -> bytes:
    """A gzip body decompressed as it arrives, never producing more than one byte past
    `max_bytes`: the decoder's output is bounded, and the bytes on the wire too."""
    decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    body = bytearray()
    received = 0
    too_large = f"the response is larger than the {human_size(max_bytes)} limit once decompressed; stopped reading"
    try:
        while True:
            chunk = response.read(CHUNK)
            if not chunk:
                if declared is not None and received < declared:
                    raise FetchError("the connection closed before the whole response arrived")
                break
            received += len(chunk)
            if received > max_bytes:
                raise FetchError(f"the response is larger than the {human_size(max_bytes)} limit; stopped reading")
            body += decoder.decompress(chunk, max_bytes + 1 - len(body))
            if len(body) > max_bytes or decoder.unconsumed_tail:
                raise FetchError(too_large)
        body += decoder.flush()
    except zlib.error:
        raise FetchError("the response's gzip encoding is broken") from None
    if len(body) > max_bytes:
        raise FetchError(too_large)
    if not decoder.eof:
        raise FetchError("the connection closed before the whole response arrived")
    return bytes(body)


def read_file(path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> bytes:
    """A regular file's bytes, refused by its size before reading when over `max_bytes`.
    A FIFO, a device or a socket is refused unopened (opening a FIFO blocks, a tape
    rewinds), and checked again on the open file, in case the path was swapped."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise FetchError("not a regular file; not read")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(fd, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise FetchError("not a regular file; not read")
            if info.st_size > max_bytes:
                raise FetchError(f"the file is {human_size(info.st_size)}, "
                                 f"larger than the {human_size(max_bytes)} limit; not read")
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError(f"cannot read: {exc.strerror}") from None
    if len(data) > max_bytes:  # it grew while read
        raise FetchError(f"larger than the {human_size(max_bytes)} limit; stopped reading")
    return data


def is_http_url(text: str) -> bool:
    return text[:8].lower().startswith(("http://", "https://"))


def _failure(exc: BaseException | None, text: str, deadline: float) -> FetchError:
    if isinstance(exc, TimeoutError):  # socket timeouts never exceed the time left
        return FetchError(f"no complete response within {deadline:g} s; gave up")
    if isinstance(exc, http.client.IncompleteRead):
        return FetchError("the connection closed before the whole response arrived")
    if isinstance(exc, http.client.RemoteDisconnected):
        return FetchError("the server closed the connection without a response")
    if isinstance(exc, http.client.InvalidURL):
        return FetchError(f"not a valid address ({shown(text)})")
    if isinstance(exc, (http.client.HTTPException, ValueError)):
        return FetchError(f"not a valid HTTP response ({type(exc).__name__})")
    if isinstance(exc, ssl.SSLError):
        why = getattr(exc, "verify_message", None) or exc.reason or text
        return FetchError(f"the secure connection failed ({shown(why)})")
    if isinstance(exc, socket.gaierror):
        return FetchError(f"cannot find the host ({shown(exc.strerror or text)})")
    if isinstance(exc, OSError) and exc.strerror:
        return FetchError(f"cannot connect: {shown(exc.strerror)}")
    return FetchError(shown(text) or type(exc).__name__)


def _left(end: float) -> float:
    left = end - time.monotonic()
    if left <= 0:
        raise TimeoutError("out of time")
    return left


def shown(text: str, limit: int = 200) -> str:
    """Text from the network as one printable line: controls escaped, length bounded."""
    text = printable(text[: limit + 1])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def human_size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB" if n >= 1024 * 1024 else f"{n / 1024:g} KiB"


# -- the deadline, enforced below http.client --------------------------------------------

class _DeadlineReader(io.RawIOBase):
    """The socket's stream, checking the deadline before every read and giving the socket
    no longer than the time left, so no sequence of slow reads outlasts the deadline."""

    def __init__(self, raw: io.RawIOBase, sock: socket.socket, end: float):
        super().__init__()
        self._raw, self._sock, self._end = raw, sock, end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self._sock.settimeout(_left(self._end))
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock, *args, end: float, **kwargs):
        super().__init__(sock, *args, **kwargs)
        # the socket's own stream (which holds the socket open) under a deadline check
        self.fp = io.BufferedReader(_DeadlineReader(self.fp.detach(), sock, end))


def _connection(base: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
    class Connection(base):
        def __init__(self, *args, end: float, **kwargs):
            super().__init__(*args, **kwargs)
            self._end = end
            self.response_class = functools.partial(_DeadlineResponse, end=end)

        def connect(self) -> None:
            # Each step (TCP connect, TLS handshake, sending the request) gets only what is
            # left of the one deadline, for each connection, redirects' too.
            self.timeout = _left(self._end)
            create = self._create_connection

            def connected(*args, **kwargs):
                sock = create(*args, **kwargs)
                sock.settimeout(_left(self._end))
                return sock

            self._create_connection = connected
            super().connect()
            self.sock.settimeout(_left(self._end))

    return Connection


_HTTPConnection = _connection(http.client.HTTPConnection)
_HTTPSConnection = _connection(http.client.HTTPSConnection)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, end: float):
        super().__init__()
        self._end = end

    def http_open(self, req):
        return self.do_open(functools.partial(_HTTPConnection, end=self._end), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, end: float):
        super().__init__()
        self._end = end

    def https_open(self, req):
        return self.do_open(functools.partial(_HTTPSConnection, end=self._end), req, context=self._context)


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows at most MAX_REDIRECTS redirects, and only to http(s) addresses."""

    max_redirections = MAX_REDIRECTS

    def http_error_302(self, req, fp, code, msg, headers):
        location = headers.get("location") or headers.get("uri")
        if location:
            target = urljoin(req.full_url, location)
            scheme = urlsplit(target).scheme.lower()
            problem = None
            if scheme not in SCHEMES:
                problem = f"redirected to {shown(target, 80)}; only http and https addresses are followed"
            elif len(getattr(req, "redirect_dict", {})) >= self.max_redirections:
                problem = f"more than {self.max_redirections} redirects; gave up"
            if problem:
                fp.close()
                raise FetchError(problem)
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _opener(end: float) -> urllib.request.OpenerDirector:
    """Only the handlers for http(s): no file:, ftp: or data: handler exists to reach."""
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), urllib.request.UnknownHandler(), _HTTPHandler(end),
                    _HTTPSHandler(end), urllib.request.HTTPDefaultErrorHandler(), _RedirectHandler(),
                    urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener

"""SERVE's gatekeeping: which requests the preview answers, which file a request path
may reach (never one outside the built site), and how long and how many connections it
keeps, so that a web page elsewhere cannot read the preview (DNS rebinding) and no
client can pile up threads (half-sent requests, event streams).
"""

from __future__ import annotations

import io
import ipaddress
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import unquote

_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|00)", re.IGNORECASE)  # an encoded / \ or NUL
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
_PORT = re.compile(r"(:\d{1,5})?")


@dataclass(frozen=True)
class Limits:
    request_seconds: float = 15.0  # to receive a whole request line and headers; also per send
    connections: int = 64  # open connections other than event streams; the oldest idle one goes
    live_clients: int = 64  # live-reload event streams; the oldest one goes


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    """Every interface: "", 0.0.0.0, ::, and their other spellings (0, ::0, ...)."""
    bare = host.strip("[]")
    try:
        return bare in ("", "0") or ipaddress.ip_address(bare).is_unspecified
    except ValueError:
        return False


def allowed_names(bind_host: str) -> frozenset[str]:
    """Host names the preview answers to: loopback, the --host value, and when bound to
    every interface the machine's own name (its other names, e.g. mDNS or DNS aliases,
    cannot be known; its addresses are checked per connection by `host_allowed`). A page
    served by another site's name never matches, which is what defeats DNS rebinding."""
    names = set(LOOPBACK_NAMES) | {bind_host.strip("[]").lower()}  # "0.0.0.0" too: the printed URL
    if is_wildcard(bind_host):
        names.add(socket.gethostname().lower())
    return frozenset(names - {""})


def host_allowed(header: str | None, names: frozenset[str], local_address: str) -> bool:
    """Whether a Host header names this server: one of `names`, or the address literal
    the connection came in on (what a browser sends when given an address, e.g. a phone
    on the LAN with --host 0.0.0.0). The port is not compared: an SSH tunnel or a
    container's port mapping changes it, and a rebinding page cannot change the name.
    No Host at all (HTTP/1.0) is refused."""
    header = (header or "").strip().lower()
    if header.startswith("["):
        host, bracket, port = header[1:].partition("]")
    else:
        host, bracket, port = header.partition(":")
        port = bracket + port
    if not host or not _PORT.fullmatch(port):
        return False
    host = host.rstrip(".")  # "localhost." is the same name
    local = local_address.lower().removeprefix("::ffff:")  # an IPv4 client of a dual-stack socket
    return host in names or host == local


class DeadlineReader(io.RawIOBase):
    """A connection's input with a total deadline rather than one per read, so a client
    sending a byte now and then (slowloris) is dropped all the same."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.deadline: float | None = None  # time.monotonic() by which the request must be in

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("request not received in time")
            self.sock.settimeout(left)
        return self.sock.recv_into(buffer)


class Connections:
    """The server's open connections, oldest first. A new one past the cap ends the oldest
    still waiting for its request (or, if none is, the oldest); a new event stream past
    its own cap ends the oldest stream. Ending a connection shuts its socket down, which
    wakes its thread from a read; `wake` wakes stream threads waiting for a build."""

    def __init__(self, limits: Limits, wake: Callable[[], None]):
        self.limits, self._wake = limits, wake
        self._lock = threading.Lock()
        self._open: dict[socket.socket, bool] = {}  # connection -> waiting for a request
        self._streams: dict[socket.socket, threading.Event] = {}  # -> set when dropped

    def admit(self, sock: socket.socket) -> None:
        with self._lock:
            while len(self._open) >= self.limits.connections:
                waiting = [s for s, idle in self._open.items() if idle]
                oldest = waiting[0] if waiting else next(iter(self._open))
                del self._open[oldest]
                _shut(oldest)
            self._open[sock] = True

    def waiting(self, sock: socket.socket, waiting: bool) -> None:
        with self._lock:
            if sock in self._open:
                self._open[sock] = waiting

    def stream(self, sock: socket.socket) -> threading.Event:
        """Count `sock` as an event stream from now on; the Event is set if it is dropped."""
        dropped, ended = threading.Event(), False
        with self._lock:
            self._open.pop(sock, None)
            while self._streams and len(self._streams) >= self.limits.live_clients:
                oldest = next(iter(self._streams))
                self._streams.pop(oldest).set()
                _shut(oldest)
                ended = True
            self._streams[sock] = dropped
        if ended:
            self._wake()
        return dropped

    def forget(self, sock: socket.socket) -> None:
        """Before the server closes `sock`: never shut a closed (and maybe reused) socket."""
        with self._lock:
            self._open.pop(sock, None)
            self._streams.pop(sock, None)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already gone


@dataclass(frozen=True)
class Redirect:
    location: str


def resolve(root: Path, base_path: str, raw_path: str) -> Path | Redirect | None:
    """The file GitHub Pages would serve for a request path (still percent-encoded), a
    redirect, or None for 404. Nothing outside `root` is ever returned."""
    if _ENCODED_SEPARATOR.search(raw_path):
        return None
    path = unquote(raw_path)
    if "\\" in path or "\x00" in path:
        return None
    if path in ("/", base_path.rstrip("/")) and path != base_path:
        return Redirect(base_path)
    if not path.startswith(base_path):
        return None
    parts = path[len(base_path):].split("/")
    if any(part in (".", "..") for part in parts):
        return None
    target = root.joinpath(*[part for part in parts if part])
    try:  # a name too long for the file system is a 404, like any other missing file
        if parts[-1] == "":
            target = target / "index.html"
        elif target.is_dir():
            return Redirect(raw_path + "/")
        elif not target.is_file() and target.with_name(target.name + ".html").is_file():
            target = target.with_name(target.name + ".html")  # GitHub Pages serves /about from about.html
        inside = target.resolve().is_relative_to(root.resolve())
        return target if inside and target.is_file() else None
    except OSError:
        return None

"""Cache files carry a MAC (HMAC-SHA256) keyed by a secret of this user's, kept outside
any site (XDG_CACHE_HOME/site-builder/key). A pickle or compiled template is only
unpickled or unmarshalled after its bytes pass that check, so a cache our builds did
not write (committed with a site, copied from another user, tampered with) runs nothing:
it is Untrusted, and the build starts afresh.

Large files are written and read as a stream of records, each with a MAC over it and
every record before it, so neither side holds more than one record (1 MiB) of bytes,
and no byte reaches the unpickler before the record holding it was checked.
"""

from __future__ import annotations

import hmac
import json
import os
import stat
from pathlib import Path
from typing import BinaryIO

MAGIC = b"site-builder signed 1\n"
TAG = 32  # bytes of an HMAC-SHA256
KEY_BYTES = 32
RECORD = 1 << 20  # bytes per record of a signed stream

_keys: dict[str, bytes | None] = {}  # by key file path: read once per process


class Untrusted(Exception):
    """A cache file whose MAC does not verify with this user's key."""


def key_path() -> Path:
    """The user's key file. XDG_CACHE_HOME counts only when absolute, as the spec says."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "site-builder" / "key"


def user_key() -> bytes | None:
    """This user's secret, made (0600, atomically) on first use; None when it cannot be
    made or read, or is not this user's alone: then the disk cache is not used."""
    try:
        path = key_path()
    except RuntimeError:  # no home folder to be found
        return None
    name = str(path)
    if name not in _keys:
        _keys[name] = _read_key(path) or _create_key(path)
    return _keys[name]


def _read_key(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    with open(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077 or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            return None
        key = handle.read(KEY_BYTES + 1)
    return key if len(key) == KEY_BYTES else None


def _create_key(path: Path) -> bytes | None:
    """Written beside, then linked into place: a build running meanwhile never sees half a
    key, and two builds that both make one agree on the first linked."""
    temp = path.with_name(f"key.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with open(fd, "wb") as handle:
            handle.write(os.urandom(KEY_BYTES))
            handle.flush()
            os.fsync(fd)
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
    except OSError:
        return None
    finally:
        try:
            temp.unlink()
        except OSError:
            pass
    return _read_key(path)


def open_regular(path, limit: int | None = None) -> BinaryIO:
    """Open a cache file for reading, if it is a regular file (of at most `limit` bytes):
    a planted named pipe would block the build, a device never end. Raises Untrusted
    when it is something else, OSError when it cannot be opened."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or (limit is not None and info.st_size > limit):
        os.close(fd)
        raise Untrusted("not a regular file, or too large")
    return open(fd, "rb")


def _mac(key: bytes, *parts: bytes) -> bytes:
    mac = hmac.new(key, digestmod="sha256")
    for part in parts:
        mac.update(part)
    return mac.digest()


class SignedWriter:
    """A file-like for pickle.dump: the bytes go to `handle` in records (an 8-byte length,
    the bytes, a MAC over the previous MAC, the length and the bytes); `close` ends the
    stream with an empty record, so a file cut short at a record's end is caught too.
    `purpose` (the file's name) seeds the chain: one cache file cannot stand for another."""

    def __init__(self, handle: BinaryIO, key: bytes, purpose: str):
        self._handle, self._key, self._chain = handle, key, purpose.encode()
        self._buffer = bytearray()
        handle.write(MAGIC)

    def write(self, data) -> int:
        """Buffered, and written in records of exactly RECORD bytes (pickle writes a large
        object in one call): the reader then refuses any longer record unread."""
        self._buffer += data
        if len(self._buffer) >= RECORD:
            whole = len(self._buffer) - len(self._buffer) % RECORD
            with memoryview(self._buffer) as view:
                for start in range(0, whole, RECORD):
                    self._record(view[start : start + RECORD])
            del self._buffer[:whole]
        return len(data)

    def close(self) -> None:
        if self._buffer:
            self._record(self._buffer)
            self._buffer = bytearray()
        self._record(b"")

    def _record(self, payload) -> None:
        header = len(payload).to_bytes(8, "big")
        self._chain = _mac(self._key, self._chain, header, payload)
        self._handle.write(header)
        self._handle.write(payload)
        self._handle.write(self._chain)


class SignedReader:
    """A file-like for pickle.load over what SignedWriter wrote: each record is read and
    checked whole before any of its bytes are handed out. Raises Untrusted on the first
    record that fails (or a length beyond the file's end or over RECORD, before reading
    it: a planted file never makes us hold more than one record)."""

    def __init__(self, handle: BinaryIO, key: bytes, purpose: str):
        self._handle, self._key, self._chain = handle, key, purpose.encode()
        if handle.read(len(MAGIC)) != MAGIC:
            raise Untrusted("not a signed cache file")
        self._left = os.fstat(handle.fileno()).st_size - len(MAGIC)
        self._data, self._pos, self._ended = b"", 0, False

    def _next(self) -> bool:
        """Load the next record; False at the end of the stream."""
        if self._ended:
            return False
        header = self._handle.read(8)
        size = int.from_bytes(header, "big")
        if len(header) < 8 or size > RECORD or size > self._left - 8 - TAG:
            raise Untrusted("cut short, or a record longer than any we write")
        payload = self._handle.read(size)
        tag = self._handle.read(TAG)
        self._left -= 8 + size + TAG
        if len(payload) != size or not hmac.compare_digest(_mac(self._key, self._chain, header, payload), tag):
            raise Untrusted("MAC does not verify")
        self._chain = tag
        if size == 0:
            self._ended = True
            if self._left:
                raise Untrusted("bytes after the end")
            return False
        self._data, self._pos = payload, 0
        return True

    def read(self, n: int = -1) -> bytes:
        pos, data = self._pos, self._data
        if 0 <= n <= len(data) - pos:  # the usual case: within the current record
            self._pos = pos + n
            return data[pos : pos + n]
        parts = []
        while n != 0:
            if self._pos >= len(self._data) and not self._next():
                break
            end = len(self._data) if n < 0 else min(len(self._data), self._pos + n)
            parts.append(self._data[self._pos : end])
            n = n - (end - self._pos) if n > 0 else n
            self._pos = end
        return b"".join(parts)

    def readline(self) -> bytes:
        parts = []
        while (byte := self.read(1)) and byte != b"\n":
            parts.append(byte)
        return b"".join(parts) + byte

    def end(self) -> None:
        """Check that what was read is the whole stream, up to its closing record."""
        if self._pos < len(self._data) or self._next():
            raise Untrusted("more than was written")


def seal(key: bytes, purpose: str, data: bytes) -> bytes:
    """A small file's bytes with its MAC after them."""
    return data + _mac(key, purpose.encode(), data)


def unseal(key: bytes, purpose: str, sealed: bytes) -> bytes:
    data, tag = sealed[:-TAG], sealed[-TAG:]
    if len(sealed) < TAG or not hmac.compare_digest(_mac(key, purpose.encode(), data), tag):
        raise Untrusted("MAC does not verify")
    return data


# A JSON file keeps its fields, plus "mac" first: the MAC of the file's bytes with the
# MAC's own 64 hex digits written as zeros, so no re-encoding is needed to check it.
_JSON_START = b'{"mac": "'
_BLANK = b"0" * 64


def seal_json(key: bytes, purpose: str, data: dict) -> bytes:
    blank = json.dumps({"mac": _BLANK.decode(), **data}).encode()
    start = len(_JSON_START)
    return blank[:start] + _mac(key, purpose.encode(), blank).hex().encode() + blank[start + 64 :]


def unseal_json(key: bytes, purpose: str, sealed: bytes) -> dict:
    start = len(_JSON_START)
    tag = sealed[start : start + 64]
    blank = sealed[:start] + _BLANK + sealed[start + 64 :]
    if not sealed.startswith(_JSON_START) or not hmac.compare_digest(_mac(key, purpose.encode(), blank).hex().encode(), tag):
        raise Untrusted("MAC does not verify")
    data = json.loads(sealed)
    del data["mac"]
    return data

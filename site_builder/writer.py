"""WRITE: put a complete new site in place of the old one, atomically.

A build writes into a staging folder beside the output: files whose bytes did not change
are hard-linked from the current output (no rewrite, same mtime), new or changed files
are written. Only when every file is staged does the staging folder replace the output,
in one atomic exchange of the two folders (Linux renameat2), or two renames elsewhere.
So a failed or killed build leaves the previous site untouched, and files that no page
produced any more (orphans) are gone because they were never staged.
"""

from __future__ import annotations

import ctypes
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

STAGING_SUFFIX = ".staging"
OLD_SUFFIX = ".previous"


class WriteError(Exception):
    pass


@dataclass
class WriteResult:
    written: list[str] = field(default_factory=list)  # new or changed files
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)  # orphans of the previous build

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)


def safe_relative(rel: str) -> PurePosixPath:
    """An output path that cannot climb out of the output folder."""
    path = PurePosixPath(rel)
    if path.is_absolute() or any(part in ("..", "") for part in path.parts) or "\\" in rel or "\x00" in rel:
        raise WriteError(f"refusing to write outside the output folder: {rel!r}")
    return path


class SiteWriter:
    """Stage files with `add`, then `commit()` swaps them in; `abort()` discards them."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.staging = out_dir.with_name(out_dir.name + STAGING_SUFFIX)
        self.result = WriteResult()
        self._staged: set[str] = set()
        _recover_interrupted_swap(out_dir)
        if self.staging.exists():
            shutil.rmtree(self.staging)  # left by a build that was killed
        self.staging.mkdir(parents=True)

    def add(self, rel: str, data: bytes) -> None:
        rel_path = safe_relative(rel)
        key = str(rel_path)
        if key in self._staged:
            raise WriteError(f"two sources write {key}")
        self._staged.add(key)
        target = self.staging / rel_path
        target.parent.mkdir(parents=True, exist_ok=True)
        current = self.out_dir / rel_path
        if _same_bytes(current, data):
            try:
                os.link(current, target)
                self.result.unchanged += 1
                return
            except OSError:
                pass  # e.g. a file system without hard links: write a copy instead
        target.write_bytes(data)
        self.result.written.append(key)

    def add_file(self, rel: str, source: Path) -> None:
        self.add(rel, source.read_bytes())

    def commit(self) -> WriteResult:
        self.result.removed = sorted(
            rel for rel in _files_below(self.out_dir) if rel not in self._staged
        )
        if not self.result.changed and self.out_dir.is_dir():
            shutil.rmtree(self.staging)  # nothing to do: leave the output exactly as it is
            return self.result
        _fsync_tree(self.staging)
        if self.out_dir.exists():
            if not _exchange(self.staging, self.out_dir):
                old = self.out_dir.with_name(self.out_dir.name + OLD_SUFFIX)
                if old.exists():
                    shutil.rmtree(old)
                os.rename(self.out_dir, old)
                os.rename(self.staging, self.out_dir)
                self.staging = old
            shutil.rmtree(self.staging)  # now holds the previous site
        else:
            os.rename(self.staging, self.out_dir)
        self.result.written.sort()
        return self.result

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _files_below(root: Path) -> Iterator[str]:
    if not root.is_dir():
        return
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            yield str(PurePosixPath(Path(dirpath, name).relative_to(root)))


def _fsync_tree(root: Path) -> None:
    """Not every file: only directories, so the renames are durable; the data follows."""
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _renameat2 = _libc.renameat2
    _renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
except (OSError, AttributeError):  # not Linux/glibc
    _renameat2 = None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step; False where the system cannot."""
    if _renameat2 is None:
        return False
    result = _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def _recover_interrupted_swap(out_dir: Path) -> None:
    """If a build died between the two fallback renames, put the previous site back."""
    old = out_dir.with_name(out_dir.name + OLD_SUFFIX)
    if old.is_dir() and not out_dir.exists():
        os.rename(old, out_dir)
    elif old.is_dir():
        shutil.rmtree(old)

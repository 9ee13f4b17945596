"""Where `serve` builds its preview: in memory (a tmpfs, /dev/shm on Linux) when that has
room for the site, as Hugo's server renders to memory; else the system's temporary folder.

Why: a preview's builds write thousands of files (a publish at 10,000 stories shifts 500
listing pages), and a disk flushes them later. Whoever then forces a small write of its
own to disk waits for all of them: the desk's publish, which makes the record durable
before it renames it into place, waited 30-50 ms. In memory there is nothing to flush.
The folder is removed when `serve` stops, and one left by a `serve` that was killed is
removed by the next `serve` of the same user (its folder names the process that made it).
Set TMPDIR to choose the folder yourself."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .parallel import process_alive

MEMORY = Path("/dev/shm")
PREFIX = "site-builder-serve-"
OWNER = ".site-builder-serve-pid"  # in the folder: the process that made it
# A built site takes about 28 KB per story (280 MB at 10,000): room for twice that, and
# half a gigabyte to spare, or the preview stays on disk.
BYTES_PER_STORY = 64 * 1024
SPARE = 512 * 1024 * 1024


def preview_folder(content: Path, memory: Path = MEMORY) -> Path:
    """A new folder of this process's own for the preview (mode 0700)."""
    if "TMPDIR" not in os.environ and _has_room(memory, _article_count(content)):
        clear_abandoned(memory)
        try:
            folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=memory))
        except OSError:
            pass
        else:
            (folder / OWNER).write_text(str(os.getpid()), encoding="ascii")
            return folder
    return Path(tempfile.mkdtemp(prefix=PREFIX))


def clear_abandoned(memory: Path = MEMORY) -> list[Path]:
    """Remove the preview folders in `memory` that this user's `serve`s left when they
    were killed: a folder of this user (not a link), named as ours, whose owner file
    names a process that no longer runs. Anything else there is left alone."""
    removed = []
    try:
        entries = list(os.scandir(memory))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not entry.is_dir(follow_symlinks=False) or info.st_uid != os.getuid():
                continue
            pid = int(Path(entry.path, OWNER).read_text(encoding="ascii"))
        except (OSError, ValueError):
            continue  # not one we made, or being made: left alone
        if pid != os.getpid() and not process_alive(pid):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def _has_room(memory: Path, stories: int) -> bool:
    try:
        if not memory.is_dir() or not os.access(memory, os.W_OK | os.X_OK):
            return False
        return shutil.disk_usage(memory).free >= SPARE + BYTES_PER_STORY * stories
    except OSError:
        return False


def _article_count(content: Path) -> int:
    """How many files content/ holds, roughly (its stories, for the room they need)."""
    count = 0
    for _, _, files in os.walk(content):
        count += len(files)
    return count

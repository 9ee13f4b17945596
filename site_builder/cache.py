"""What one build leaves for the next, so unchanged work is not done again.

- Parsed articles, keyed by file path and validated by (size, mtime) and, when those
  differ, by a hash of the bytes: an article is re-read only when its file changed.
- Each output file's input fingerprint: a page is re-rendered only when what it shows
  (its template set, the site settings, every story and link on it) changed.

Kept in memory by long-running commands (serve, build --watch) and in SITE/.cache/ for
the next `build`. The cache is an optimisation only: it is safe to delete, a version
change or any damage falls back to a full build, and a page whose output file is
missing is always rendered again.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .models import ReadResult

CACHE_DIR = ".cache"
CACHE_FILE = "build-state.pickle"
FORMAT = 1  # bump when the layout of BuildState or of the model changes


@dataclass
class CachedFile:
    size: int
    mtime_ns: int
    digest: str
    result: ReadResult


@dataclass
class BuildState:
    key: tuple = ()  # (format, version, settings that change how files are read)
    files: dict[str, CachedFile] = field(default_factory=dict)  # by path relative to the site
    pages: dict[str, str] = field(default_factory=dict)  # output file -> input fingerprint
    outputs: set[str] = field(default_factory=set)  # every file the last build produced
    output_dir: str = ""

    def reset_outputs(self) -> None:
        self.pages, self.outputs = {}, set()


def state_key(*settings) -> tuple:
    return (FORMAT, __version__, *settings)


def load_state(site_dir: Path, key: tuple) -> BuildState:
    path = site_dir / CACHE_DIR / CACHE_FILE
    try:
        with open(path, "rb") as handle:
            state = pickle.load(handle)
    except FileNotFoundError:
        return BuildState(key)
    except Exception:  # a damaged or foreign cache is never trusted
        return BuildState(key)
    if not isinstance(state, BuildState) or state.key != key:
        return BuildState(key)
    return state


def save_state(site_dir: Path, state: BuildState) -> None:
    folder = site_dir / CACHE_DIR
    try:
        folder.mkdir(exist_ok=True)
        (folder / ".gitignore").write_text("*\n") if not (folder / ".gitignore").exists() else None
        temp = folder / f"{CACHE_FILE}.{os.getpid()}.tmp"
        with open(temp, "wb") as handle:
            pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, folder / CACHE_FILE)
    except OSError:
        pass  # a read-only site folder still builds; it just will not be faster next time


def file_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()

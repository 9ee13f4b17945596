"""READ: which files are inputs. Kept apart from content.py (which parses them, with YAML,
Markdown and a sanitiser) so that a build that finds nothing changed, which only needs
to list and stat the files, starts without loading any of that."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

ARTICLE_SUFFIXES = (".md", ".markdown", ".txt")


def is_ignored_name(name: str) -> bool:
    """Dotfiles, editor backups and swap files are never content (nor worth a rebuild)."""
    return (
        name.startswith((".", "#", "~"))
        or name.endswith(("~", ".swp", ".swx", ".swo", ".tmp", ".bak", ".part"))
        or name == "4913"  # vim's write-permission probe
    )


def scan_article_files(content_dir: Path) -> list[tuple[str, int, int]]:
    """Every article file below content_dir as (path, size, mtime_ns), in a stable order;
    hidden folders skipped. One walk serves both the "did anything change" check and the
    parse cache (at 10,000 stories a second walk and stat would cost 50 ms)."""
    found = []
    for _, entry in files_below(str(content_dir), is_ignored_name):
        if entry.name.lower().endswith(ARTICLE_SUFFIXES):
            try:
                stat = entry.stat()
            except OSError:
                continue  # deleted while we looked
            found.append((entry.path, stat.st_size, stat.st_mtime_ns))
    found.sort()
    return found


def find_article_files(content_dir: Path) -> list[Path]:
    """Every article file below content_dir, in a stable order; hidden folders skipped."""
    return [Path(path) for path, _, _ in scan_article_files(content_dir)]


def theme_files(folder: Path) -> list[tuple[str, str]]:
    """(path relative to folder as "a/b.css", full path) of every template or static file
    below folder, sorted; none when it is missing. Editors' swap and backup files and
    dotfiles are skipped, as in content/: a build never reads them, so they must not
    count as a change either (a vim swap file would otherwise re-render every page).
    Only regular files (or links to them): a link to nothing or a named pipe is no file."""
    return sorted((rel, entry.path) for rel, entry in files_below(str(folder), is_ignored_name))


def files_below(root: str, ignore: Callable[[str], bool] | None = None, regular: bool = True) -> Iterator[tuple[str, os.DirEntry]]:
    """(path relative to root as "a/b.md", entry) of every file below root: a regular file
    or a link to one, or (regular=False) any entry but a folder, such as a link to nothing,
    a link to a folder or a named pipe. Names `ignore` accepts are skipped (a folder too,
    never entered); a link to a folder is never followed (no loops, and nothing behind it
    is ever taken for a file of ours); a folder gone or unreadable is skipped.
    scandir, not os.walk or pathlib: its entries carry their file type, so listing costs
    no stat call, and plain strings keep 20,000 files under a tenth of a second."""
    folders = [("", root)]
    while folders:
        prefix, folder = folders.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            continue  # missing (no templates/ of its own), or deleted while we looked
        with entries:
            for entry in entries:
                name = entry.name
                if ignore is not None and ignore(name):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append((f"{prefix}{name}/", entry.path))
                    elif not regular or entry.is_file():
                        yield prefix + name, entry
                except OSError:
                    continue  # deleted while we looked

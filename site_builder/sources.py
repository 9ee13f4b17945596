"""READ: which files are inputs. Kept apart from content.py (which parses them, with YAML,
Markdown and a sanitiser) so that a build that finds nothing changed, which only needs
to list and stat the files, starts without loading any of that."""

from __future__ import annotations

import os
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
    parse cache (at 10,000 stories a second walk and stat would cost 50 ms). scandir, not
    os.walk: its entries carry their path and file type, so a file costs one stat call."""
    found: list[tuple[str, int, int]] = []
    folders = [str(content_dir)]
    while folders:
        try:
            entries = os.scandir(folders.pop())
        except OSError:
            continue  # no content/ (yet), or a folder deleted while we looked
        with entries:
            for entry in entries:
                name = entry.name
                if is_ignored_name(name):  # never descend into .git etc.
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):  # as os.walk: no symlink loops
                        folders.append(entry.path)
                    elif name.lower().endswith(ARTICLE_SUFFIXES) and entry.is_file():  # a link to a file counts
                        stat = entry.stat()
                        found.append((entry.path, stat.st_size, stat.st_mtime_ns))
                except OSError:
                    continue  # deleted while we looked
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
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not is_ignored_name(d)]
        for name in names:
            path = os.path.join(root, name)
            if not is_ignored_name(name) and os.path.isfile(path):
                found.append((os.path.relpath(path, folder).replace(os.sep, "/"), path))
    return sorted(found)

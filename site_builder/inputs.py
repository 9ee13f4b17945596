"""READ: which files are inputs. Kept apart from content.py (which parses them, with YAML,
Markdown and a sanitiser) so that a build that finds nothing changed, which only needs
to list and stat the files, starts without loading any of that."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from .config import ConfigError
from .models import Problem

ARTICLE_SUFFIXES = (".md", ".markdown", ".txt")


def is_ignored_name(name: str) -> bool:
    """Dotfiles, editor backups and swap files are never content (nor worth a rebuild)."""
    return (
        name.startswith((".", "#", "~"))
        or name.endswith(("~", ".swp", ".swx", ".swo", ".tmp", ".bak", ".part"))
        or name == "4913"  # vim's write-permission probe
    )


def scan_article_files(
    content_dir: Path, refused: list[Problem] | None = None, links: list[str] | None = None,
) -> list[tuple[str, int, int]]:
    """Every article file below content_dir as (path, size, mtime_ns), in a stable order;
    hidden folders skipped. One walk serves both the "did anything change" check and the
    parse cache, as a second walk and stat of every file would add to every build. Article
    files a build must not read (see files_below) are left out, and added to `refused`;
    those listed that are links (to files in the site) are added to `links`."""
    found = []
    for _, entry in files_below(str(content_dir), is_ignored_name, refused=refused, wanted=_is_article_name):
        try:
            info = entry.stat()
            if links is not None and entry.is_symlink():
                links.append(entry.path)
        except OSError:
            continue  # deleted while we looked
        found.append((entry.path, info.st_size, info.st_mtime_ns))
    found.sort()
    return found


def _is_article_name(name: str) -> bool:
    return name.lower().endswith(ARTICLE_SUFFIXES)


def find_article_files(content_dir: Path) -> list[Path]:
    """Every article file below content_dir, in a stable order; hidden folders skipped."""
    return [Path(path) for path, _, _ in scan_article_files(content_dir)]


def theme_files(folder: Path, refused: list[Problem] | None = None, trusted: bool = False) -> list[tuple[str, str]]:
    """(path relative to folder as "a/b.css", full path) of every template or static file
    below folder, sorted; none when it is missing. Editors' swap and backup files and
    dotfiles are skipped, as in content/: a build never reads them, so they must not
    count as a change either (a vim swap file would otherwise re-render every page).
    Files a build must not read (see files_below) are left out, and added to `refused`;
    trusted (the package's own theme, which an installer may lay out as links): any link
    to a file is listed."""
    return sorted(
        (rel, entry.path) for rel, entry in files_below(str(folder), is_ignored_name, refused=refused, trusted=trusted)
    )


def files_below(
    root: str,
    ignore: Callable[[str], bool] | None = None,
    regular: bool = True,
    refused: list[Problem] | None = None,
    wanted: Callable[[str], bool] | None = None,
    trusted: bool = False,
) -> Iterator[tuple[str, os.DirEntry]]:
    """(path relative to root as "a/b.md", entry) of every file below root. Names `ignore`
    accepts are skipped (a folder too, never entered); a folder gone or unreadable is
    skipped. scandir, not os.walk or pathlib: its entries carry their file type, so
    listing costs no stat call, and plain strings keep listing a large site's files quick.

    regular=True lists a site's own files (root is content/, templates/ or static/ and its
    parent the site folder): regular files, and links to regular files inside the site
    folder and outside its hidden ones (.git/ holds a token in CI). Anything else is never
    opened nor listed: a link leaving the site or into a hidden folder, a link to nothing,
    a named pipe (opening one waits forever), a socket or device; when `refused` is a list,
    each is added to it as an error naming it by its path from the site folder. Of files,
    only names `wanted` accepts (all when None) are listed or refused. A link to a folder
    is never followed (no loops, nothing behind it taken for ours); one to a folder below
    root is passed over in silence, as its files are listed there anyway, while one to
    anywhere else (elsewhere in the site, out of it, into a hidden folder) is refused:
    its files will not be published, so say so.
    Only links cost a realpath call: a plain file's type comes with the listing.

    regular=False lists anything that is not a folder, links to folders too (a build's
    output, to check and prune). trusted=True lists regular files and links to them
    wherever they lead, and passes over anything else in silence (the package's theme)."""
    site = label = real_root = ""
    if regular and not trusted:
        site = os.path.realpath(os.path.dirname(root) or ".")
        label = os.path.basename(root)
        real_root = os.path.realpath(root)
        outside = _outside(real_root, site, "folder")
        if outside is not None:  # root itself is a link (content/ kept elsewhere): nothing read
            if os.path.isdir(root) and refused is not None:
                refused.append(Problem(label, outside))
            return
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
                        continue
                    if not regular:  # anything else, links to folders too (never followed)
                        yield prefix + name, entry
                        continue
                    if entry.is_file(follow_symlinks=trusted):
                        if wanted is None or wanted(name):
                            yield prefix + name, entry
                        continue
                    if trusted:
                        continue
                    is_folder, why = refusal(entry, site, real_root)
                except OSError:
                    continue  # deleted while we looked
                if not is_folder and wanted is not None and not wanted(name):
                    continue
                if why is None:
                    if not is_folder:
                        yield prefix + name, entry
                elif refused is not None:
                    refused.append(Problem(f"{label}/{prefix}{name}", why))


def refusal(entry: os.DirEntry, site: str, root: str = "") -> tuple[bool, str | None]:
    """For an entry that is neither a plain file nor a plain folder: whether it stands for
    a folder, and why a build must not read it (None: it may, or a folder link may be
    passed over). `site` is the site folder's real path, `root` the real path of the
    folder being listed. The one place that decides which links and special files a
    build trusts; see files_below."""
    if not entry.is_symlink():
        return False, f"is {_kind(entry.stat(follow_symlinks=False).st_mode)}, not a file; not read: remove it"
    target = os.path.realpath(entry.path)
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False, ("is a link to nothing (its target is missing, or links go round in a loop); "
                       "not read: fix or remove the link")
    if stat.S_ISDIR(mode):
        outside = _outside(target, site, "folder")
        if outside is None and root and not (target + os.sep).startswith(root + os.sep):
            # Inside the site but not below the folder listed: its files are listed nowhere.
            name = os.path.basename(root)
            return True, f"is a link to a folder outside {name}/; not followed: move its files into {name}/ instead"
        return True, outside
    outside = _outside(target, site, "file")
    if outside is not None:
        return False, outside
    if not stat.S_ISREG(mode):
        return False, f"is a link to {_kind(mode)}, not to a file; not read: remove it"
    return False, None


def _outside(real: str, site: str, noun: str) -> str | None:
    """Why a link to `real` (a real path; `noun`: "file" or "folder") must not be followed:
    it leaves the site folder, or leads into a hidden folder of it (or to a dotfile), which
    a site never publishes. None when it is fair to follow."""
    top = site if site.endswith(os.sep) else site + os.sep
    done = "not read: copy the file" if noun == "file" else "not followed: copy its files"
    if not real.startswith(top):
        return f"is a link to a {noun} outside the site folder; {done} into the site instead"
    parts = real[len(top):].split(os.sep)
    for depth, part in enumerate(parts):
        if part.startswith("."):
            if depth == len(parts) - 1:
                return f"is a link to a hidden {noun} of the site ({part}); {done} to a name without a dot instead"
            return f"is a link into {part}/, a hidden folder of the site; {done} out of it instead"
    return None


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "something other than a file"


def content_folder(site_dir: Path) -> Path:
    """SITE/content, which must exist: a command run in the wrong folder says so."""
    if not site_dir.is_dir():
        raise ConfigError(f"{site_dir}: no such folder")
    content_dir = site_dir / "content"
    if not content_dir.is_dir():
        raise ConfigError(
            f"{site_dir}: no content/ folder here; run this in a site folder, "
            f"or create content/ with article files (.md, .txt, .markdown)"
        )
    return content_dir

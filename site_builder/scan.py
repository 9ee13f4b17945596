"""READ: what a build reads, listed with each file's size and mtime: when the listing is
the same as the last build's, so is the site (Builder's "a second build builds nothing").

The preview's watcher knows which files an edit touched; rescan() lists those again and
takes the last listing for the rest, instead of a stat of every article file (10,000 at
10,000 stories: about a tenth of a second). A build on such a listing leaves a full scan
to the build that follows it (Builder.pending), which finds whatever the watcher missed.
"""

from __future__ import annotations

import os
import stat
from bisect import bisect_left
from collections.abc import Collection
from dataclasses import dataclass

from . import __version__
from .cache import FORMAT, Inputs, file_stamp
from .config import CONFIG_FILE, read_config_bytes
from .inputs import ARTICLE_SUFFIXES, is_ignored_name, scan_article_files, theme_files
from .models import Problem
from .theme import default_theme_dir, listed_files


@dataclass(frozen=True)
class Scan:
    inputs: Inputs
    articles: list[tuple[str, int, int]]  # (path, size, mtime_ns) of every article file, sorted
    refused: list[Problem]  # the files found that a build will not read (inputs.files_below), by path
    content_refused: tuple[Problem, ...]  # those of them in content/
    links: bool  # some article file is a link (its target's changes reach no watcher of content/)
    partial: bool = False  # rescan(): only the files the watcher named were looked at
    # rescan(): the entries of the files it looked at again, when each is one the last
    # listing had (the reader then looks at them alone); None when a file came or went.
    restamped: tuple[tuple[str, int, int], ...] | None = None


def scan_inputs(options) -> Scan:
    """The size and mtime of every file a build reads (articles, templates, static files,
    site.toml) and the options: if they are unchanged, so is the site. Also the article
    files with their size and mtime, for the parse cache, and the files found there that
    a build will not read (links leaving the site, pipes: inputs.files_below), as errors;
    they are inputs too, so one added or removed makes a build."""
    refused: list[Problem] = []
    links: list[str] = []
    articles = scan_article_files(options.site_dir / "content", refused, links)
    return _scan(options, articles, tuple(sorted(refused, key=_by_path)), bool(links))


def rescan(options, last: Scan, changed: Collection[str]) -> Scan | None:
    """`last` with the article files in `changed` (absolute paths the watcher saw change)
    looked at again; None when the watcher's word is not enough: a change outside
    content/ article files (a folder, a link, a file it refused), which a full scan sees."""
    if last.content_refused or last.links:
        return None  # links or pipes in content/: only a full scan judges them
    watched = os.path.realpath(options.site_dir / "content") + os.sep  # the watcher's paths are real ones
    listed_as = str(options.site_dir / "content") + os.sep  # the scan's are as the site folder was given
    articles = list(last.articles)
    restamped: list | None = []
    for changed_path in sorted(set(changed)):
        if not changed_path.startswith(watched):
            return None
        rel = changed_path[len(watched):]
        if any(is_ignored_name(part) for part in rel.split(os.sep)):
            continue  # never listed: an editor's swap file, a dotfile
        if not rel.lower().endswith(ARTICLE_SUFFIXES):
            return None
        path = listed_as + rel
        at = bisect_left(articles, (path,))
        listed = at < len(articles) and articles[at][0] == path
        following = articles[at + listed][0] if at + listed < len(articles) else ""
        if following.startswith(path + os.sep):
            return None  # a folder with an article's name, whose files the scan listed
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            if listed:
                del articles[at]
                restamped = None
            continue
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        entry = (path, info.st_size, info.st_mtime_ns)
        if listed:
            articles[at] = entry
            if restamped is not None:
                restamped.append(entry)
        else:
            articles.insert(at, entry)
            restamped = None
    return _scan(options, articles, last.content_refused, False, True, None if restamped is None else tuple(restamped))


def _scan(
    options, articles: list[tuple[str, int, int]], content_refused: tuple[Problem, ...], links: bool, partial: bool = False,
    restamped: tuple | None = None,
) -> Scan:
    site = options.site_dir
    theme = default_theme_dir()
    refused: list[Problem] = list(content_refused)
    parts: list = [FORMAT, __version__, options.drafts, options.future, options.base_url, str(options.output), articles]
    for folder in (site / "templates", site / "static"):
        parts += [(path, file_stamp(path)) for _, path in theme_files(folder, refused)]
    for folder in (theme / "templates", theme / "static"):  # the package's own: trusted
        parts += [(path, file_stamp(path)) for _, path in listed_files(folder)]
    refused.sort(key=_by_path)  # scandir's order is the file system's
    parts.append([(problem.path, problem.message) for problem in refused])
    try:
        parts.append(read_config_bytes(site / CONFIG_FILE))
    except OSError:
        parts.append(None)
    return Scan(Inputs(parts), articles, refused, content_refused, links, partial, restamped)


def _by_path(problem: Problem) -> str:
    return problem.path

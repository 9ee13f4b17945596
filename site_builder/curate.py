"""CURATE: `site-builder review`, `publish` and `reject`: the desk's queue and buttons for
scripts and CI. The queue comes from candidates.py, every change from record_edit.py, so
the command line and the desk do the same thing to a file."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .candidates import Filter, Queue, candidates, queue, source_key
from .identity import normalize_url
from .inputs import content_folder
from .markup import is_web_url
from .models import Article, printable
from .record_edit import Edit, EditError, edit_record

PUBLISH = Edit(published=True, rejected=False)  # a rejected story published is no longer rejected
REJECT = Edit(published=False, rejected=True)


def review(site_dir: Path, f: Filter) -> tuple[Queue, int]:
    """The candidates of the site's articles as they are now, filtered and sorted, and how
    many article files have errors (those are not listed). The build cache is used when
    it is there and never written."""
    from .builder import BuildOptions, Builder, CacheMode  # publish and reject need none of a build

    model = Builder(BuildOptions(site_dir), cache=CacheMode.READ_ONLY).load_model()
    broken = len({p.path for p in model.problems if p.severity == "error"})
    return queue(candidates(model.selection.unique), f), broken


def as_json(q: Queue) -> str:
    return json.dumps([_record(a) for a in q.items], ensure_ascii=False, indent=1)


def _record(a: Article) -> dict:
    return {
        "path": a.source, "title": a.title, "url": a.web_url, "published": a.published.isoformat(),
        "quality": a.quality, "heat": a.heat, "source": source_key(a), "topics": list(a.topics), "excerpt": a.excerpt,
    }


def as_table(q: Queue) -> str:
    """One line per candidate: date, quality, heat, source, title, path; then the count."""
    rows = [("date", "quality", "heat", "source", "title", "path")]
    for a in q.items:
        rows.append((
            a.published.strftime("%Y-%m-%d %H:%M"), _number(a.quality), _number(a.heat), _cut(source_key(a), 24),
            _cut(a.title, 60), a.source,
        ))
    widths = [max(len(row[n]) for row in rows) for n in range(5)]
    lines = ["  ".join(cell.ljust(width) if n not in (1, 2) else cell.rjust(width)
                       for n, (cell, width) in enumerate(zip(row, widths))) + "  " + row[5] for row in rows]
    noun = "candidate" if q.total == 1 else "candidates"
    shown = f"{len(q.items):,} of {q.total:,} {noun}" if len(q.items) != q.total else f"{q.total:,} {noun}"
    return "\n".join(printable(line) for line in lines[1 if not q.items else 0:]) + ("\n" if q.items else "") + shown


def _number(value: int | None) -> str:
    return "-" if value is None else str(value)


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class Outcome:
    line: str  # what the command prints for the target
    failed: bool


def curate(site_dir: Path, targets: list[str], action: str) -> list[Outcome]:
    """Publish or reject (action) each target: a content file's path (from the current
    folder or the site) or a story's webUrl (every file with that URL). One line each;
    one failure never stops the others."""
    edit, verb = (PUBLISH, "published") if action == "publish" else (REJECT, "rejected")
    content_dir = content_folder(site_dir)
    by_url = None
    outcomes = []
    for target in targets:
        if is_web_url(target.strip()):
            if by_url is None:
                from .importer import record_urls

                by_url = {}
                for path, url in record_urls(content_dir):
                    by_url.setdefault(url, []).append(path)
            paths = by_url.get(normalize_url(target.strip()))
            if not paths:
                outcomes.append(Outcome(printable(f"{target}: error: no article file in the site has this webUrl"), True))
                continue
        else:
            paths = [_path(site_dir, target)]
            if not os.path.lexists(paths[0]):
                outcomes.append(Outcome(printable(f"{target}: error: no such file; give a content file's path or a story's webUrl"), True))
                continue
        for path in paths:
            outcomes.append(_apply(site_dir, path, edit, verb))
    return outcomes


def _path(site_dir: Path, target: str) -> Path:
    """A path given on the command line: as it stands from the current folder, else from the site."""
    given = Path(target)
    if given.is_absolute() or os.path.lexists(given) or not os.path.lexists(site_dir / given):
        return given
    return site_dir / given


def _shown(site_dir: Path, path: Path) -> str:
    """A file's path from the site folder (content/x.md) when it is inside it, else as given."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(site_dir))
    return path.as_posix() if rel.startswith(os.pardir) else Path(rel).as_posix()


_LOCATED = re.compile(r"(:\d+)?: (.*)", re.S)


def _apply(site_dir: Path, path: Path, edit: Edit, verb: str) -> Outcome:
    shown = _shown(site_dir, path)
    try:
        edited = edit_record(path, edit, site_dir=site_dir)
    except EditError as exc:
        message = str(exc)
        located = _LOCATED.fullmatch(message[len(str(path)):]) if message.startswith(str(path)) else None
        line, reason = (located.group(1) or "", located.group(2)) if located else ("", message)
        return Outcome(printable(f"{shown}{line}: error: {reason}"), True)
    if edited.after == edited.before:
        return Outcome(printable(f"already {verb} {shown}"), False)
    return Outcome(printable(f"{verb} {shown}"), False)

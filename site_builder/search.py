"""SEARCH: the Pagefind index of the published stories, built from the model.

One record per story: its title, excerpt, topics and provider, at its permalink under
the base path. Only `plan.entries` are indexed (drafts and future stories are already
left out there), and `secured` is never read into the model, so it cannot reach the index.

How: small HTML records written from the model (never the rendered pages) into a
temporary folder, laid out so that each record's URL is the story's link, then indexed by
the Pagefind binary that `pagefind[bin]` installs. Measured, not guessed: the Python API's
service client reads one reply per 0.1 s, so `add_custom_record` would take over 16
minutes for 10,000 stories, and even one `add_directory` call through it costs about
0.6 s of fixed waiting per build; the same binary run once on the folder takes 0.1 s.
"""

from __future__ import annotations

import html
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .config import SiteConfig
from .routes import Entry
from .writer import WriteError

SEARCH_DIR = "pagefind"  # the bundle's folder under the site root
_UNUSED = ("pagefind-ui.", "pagefind-modular-ui.", "pagefind-component-ui.", "pagefind-highlight.")


class SearchError(WriteError):
    """Pagefind could not build the index; like any write failure, the previous site stays."""


def search_files(entries: Sequence[Entry], config: SiteConfig) -> dict[str, bytes]:
    """The search bundle: {path under the output folder: bytes}, for SiteWriter.add().
    Empty for a site with no stories yet: Pagefind refuses to build an empty index."""
    if not entries:
        return {}
    with tempfile.TemporaryDirectory(prefix="site-builder-search-") as temp:
        records, bundle = Path(temp) / "records", Path(temp) / "bundle"
        records.mkdir()
        for entry in entries:
            url = config.base_path + entry.path.lstrip("/")
            rel = url.lstrip("/") + ("index.html" if url.endswith("/") else "")
            target = records / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_record(entry, config.language), encoding="utf-8")
        _run_pagefind(records, bundle, config.language)
        return {
            f"{SEARCH_DIR}/{path.relative_to(bundle).as_posix()}": path.read_bytes()
            for path in sorted(bundle.rglob("*"))
            if path.is_file() and not path.name.startswith(_UNUSED)
        }


def _run_pagefind(records: Path, bundle: Path, language: str) -> None:
    from pagefind.service import get_executable  # honours PAGEFIND_BINARY_PATH

    binary = get_executable()
    if binary is None:
        raise SearchError('search index: no Pagefind binary; pip install "pagefind[bin]"')
    command = [str(binary), "--site", str(records), "--output-path", str(bundle),
               "--force-language", language.split("-")[0].lower(), "--quiet"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SearchError(f"search index: could not run Pagefind: {exc}") from None
    if done.returncode != 0:
        raise SearchError(f"search index: Pagefind failed: {(done.stderr or done.stdout).strip()}")


def _record(entry: Entry, language: str) -> str:
    """A story as Pagefind reads it: indexed text and meta for the result list. No
    Pagefind filters: their files come out in a different order on every run, which would
    rewrite the index on builds that change nothing."""
    a, e = entry.article, html.escape
    parts = [f'<h1 data-pagefind-meta="title">{e(a.title)}</h1>']
    if a.excerpt:
        parts.append(f'<p data-pagefind-meta="excerpt">{e(a.excerpt)}</p>')
    if entry.source:
        parts.append(f'<p data-pagefind-meta="provider">{e(entry.source.name)}</p>')
    parts += [f'<p>{e(topic.name)}</p>' for topic in entry.topics]
    parts.append(f'<p data-pagefind-meta="date">{e(a.published.isoformat())}</p>')
    if a.image:
        parts.append(f'<img data-pagefind-meta="image[src]" src="{e(a.image.url)}" alt="">')
    return f'<!DOCTYPE html><html lang="{e(language)}"><body data-pagefind-body>{"".join(parts)}</body></html>'

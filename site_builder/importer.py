"""IMPORT and AUTHOR: feeds (Atom, RSS, JSON Feed) and hand-added stories become article
files in content/, in the schema `content.py` reads, so nobody writes them by hand.
Reading a feed into stories is feed_reader.py's job; this module fetches the sources,
writes the files (never overwriting one, never leaving one half-written) and runs the
`import` and `new` commands.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from pathlib import Path

import yaml

from .config import load_config
from .content import can_show, read_limited
from .feed_reader import FeedError, Invalid, Story, make_story, parse_feed
from .fetch import FetchError, fetch, is_http_url, read_file
from .identity import normalize_url
from .slugs import slugify
from .inputs import content_folder, find_article_files
from .yamlfm import FrontMatterError, split_and_parse

MAX_FEED_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT = 20  # seconds


def read_source(source: str) -> bytes:
    """A feed's bytes from an http(s) URL or a regular file, at most MAX_FEED_BYTES;
    FeedError names the source and says why not."""
    if is_http_url(source):
        try:
            return fetch(source, max_bytes=MAX_FEED_BYTES, deadline=FETCH_TIMEOUT)
        except FetchError as exc:
            raise FeedError(f"{source}: could not fetch: {exc}") from None
    try:
        return read_file(source, max_bytes=MAX_FEED_BYTES)
    except FetchError as exc:
        raise FeedError(f"{source}: {exc}") from None


# -- stories -> files -------------------------------------------------------------------

class _QuotingDumper(yaml.SafeDumper):
    """Every text value double-quoted: our reader is YAML 1.2 and PyYAML decides quoting
    by YAML 1.1, so a plain `0o17` or `no` could read back as something else."""

    def choose_scalar_style(self):
        if self.event.tag == "tag:yaml.org,2002:str" and not self.simple_key_context:
            return '"'
        return super().choose_scalar_style()


def record(story: Story) -> dict:
    """The story as front matter, in the order of the README's example."""
    data: dict = {
        "title": story.title,
        "webUrl": story.web_url,
        "publishedDateTime": story.published.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if story.excerpt:
        data["excerpt"] = story.excerpt
    if story.provider:
        data["provider"] = {"name": story.provider.name, **({"domain": story.provider.domain} if story.provider.domain else {})}
    if story.topics:
        data["topics"] = list(story.topics)
    if story.images:
        data["images"] = [
            {"url": i.url, **({"width": i.width, "height": i.height} if i.width else {})} for i in story.images
        ]
    data["published"] = True
    return data


def article_text(story: Story) -> str:
    front = yaml.dump(record(story), Dumper=_QuotingDumper, sort_keys=False, allow_unicode=True, width=1_000_000)
    return f"---\n{front}---\n"


def file_name(story: Story, tz: tzinfo) -> str:
    """YYYY-MM-DD-<slug>-<hash>.md: stable for a URL, safe on every file system, and
    distinct for two stories with one title on one day."""
    day = story.published.astimezone(tz).date().isoformat()
    digest = hashlib.sha256(normalize_url(story.web_url).encode("utf-8")).hexdigest()[:8]
    return f"{day}-{slugify(story.title, max_length=60)}-{digest}.md"


_WEB_URL_LINE = re.compile(r"""^webUrl:\s*["']?([^"'\s]+)""", re.MULTILINE)


def known_urls(content_dir: Path) -> set[str]:
    """Normalised webUrls of every file in content/ (see record_urls)."""
    return {url for _, url in record_urls(content_dir)}


def record_urls(content_dir: Path) -> list[tuple[Path, str]]:
    """(file, normalised webUrl) of every file in content/ that has one: drafts, rejected
    and future stories too, and, from their webUrl line, files whose front matter does not
    parse (still the editor's story). Only the front matter is read: no body is rendered."""
    urls = []
    for path in find_article_files(content_dir):
        try:
            text = read_limited(str(path)).decode("utf-8", errors="replace")  # a huge file: its first part
        except OSError:
            continue
        try:
            url = split_and_parse(text).data.get("webUrl")
        except FrontMatterError:
            url = None
        if not isinstance(url, str):
            match = _WEB_URL_LINE.search(text)
            url = match.group(1) if match else None
        if url and url.strip():
            urls.append((path, normalize_url(url.strip())))
    return urls


def write_new_file(folder: Path, name: str, text: str) -> Path:
    """Write folder/name whole or not at all, and never over an existing file: the text
    goes to a temporary file that is then hard-linked into place (which fails if the
    name is taken); where links are not supported, an exclusive create is the fallback."""
    target = folder / name
    fd, temp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temp, target)
        except FileExistsError:
            raise
        except OSError:  # no hard links here (some network and FAT file systems)
            with open(target, "x", encoding="utf-8", newline="\n") as file:
                file.write(text)
    finally:
        os.unlink(temp)
    return target


# -- commands ---------------------------------------------------------------------------

@dataclass
class ImportReport:
    new: list[Path] = field(default_factory=list)  # written, or would be with --dry-run
    skipped: list[str] = field(default_factory=list)  # webUrls already on the site
    invalid: list[Invalid] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # sources that could not be read

    def summary(self, dry_run: bool) -> str:
        verb = "would write" if dry_run else "new"
        return f"{len(self.new)} {verb}, {len(self.skipped)} skipped, {len(self.invalid)} invalid"


def import_feeds(
    site_dir: Path,
    sources: Sequence[str],
    topics: Sequence[str] = (),
    dry_run: bool = False,
    fetch: Callable[[str], bytes] = read_source,
) -> ImportReport:
    content_dir = content_folder(site_dir)
    tz = load_config(site_dir).tz
    seen = known_urls(content_dir)
    report = ImportReport()
    for source in sources:
        try:
            stories, invalid = parse_feed(fetch(source), source, topics)
        except FeedError as exc:
            report.failed.append(str(exc))
            continue
        report.invalid += invalid
        for story in stories:
            if not can_show(story.published, tz):
                report.invalid.append(Invalid(source, f"\"{story.title}\": the date {story.published.isoformat()} is out of range"))
                continue
            key = normalize_url(story.web_url)
            if key in seen:
                report.skipped.append(story.web_url)
                continue
            seen.add(key)  # a story in two feeds is imported once
            name = file_name(story, tz)
            if dry_run:
                report.new.append(content_dir / name)
                continue
            try:
                report.new.append(write_new_file(content_dir, name, article_text(story)))
            except FileExistsError:  # its webUrl was edited since: the file is the editor's now
                report.invalid.append(Invalid(source, f"content/{name} already exists; not overwritten"))
    return report


class BadStory(Exception):
    """`new` was given no title or no http(s) URL."""


class DuplicateStory(Exception):
    """`new` was given a URL that a file in content/ already has."""


def new_story(site_dir: Path, title: str, url: str, topics: Sequence[str] = (), now: datetime | None = None) -> Path:
    """Write a story added by hand, dated now; refuses a URL already on the site."""
    content_dir = content_folder(site_dir)
    tz = load_config(site_dir).tz
    published = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    story = make_story(title=title, url=url, published=published, summary="", feed_title="",
                   topics=topics, extra_topics=(), images=())
    if not isinstance(story, Story):
        raise BadStory(story)
    if normalize_url(story.web_url) in known_urls(content_dir):
        raise DuplicateStory(f"{story.web_url} is already in {content_dir}; nothing written")
    try:
        return write_new_file(content_dir, file_name(story, tz), article_text(story))
    except FileExistsError as exc:
        raise DuplicateStory(f"{exc.filename} already exists; nothing written") from None

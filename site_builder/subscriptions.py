"""IMPORT, scheduled: `site-builder import` with no SOURCE refreshes every `[[sources]]`
feed of site.toml. Each source is fetched (a few at a time, through fetch.py's limits)
with the ETag and Last-Modified of its last answer, so a feed with nothing new costs a
304 and no parsing; new stories are written by importer.py, as candidates
(`published: false`) or published, as the source says. What each source answered last,
and when it last succeeded and failed, is kept in SITE/sources-state.json: committed
with the content so a CI run remembers it, written atomically with sorted keys (small
diffs), and read strictly, since a site folder may come from anyone: a file that is not
exactly what this module writes is a warning and a full refetch, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from . import importer
from .config import Source, load_config
from .feed_reader import FeedError, Invalid, Story, parse_feed
from .fetch import FetchError, fetch_response, is_http_url, read_file
from .importer import ImportReport, add_stories, known_urls
from .inputs import content_folder

STATE_FILE = "sources-state.json"
STATE_VERSION = 1
MAX_STATE_BYTES = 1024 * 1024  # a few hundred bytes per source
MAX_STATE_TEXT = 500  # characters in one value: an ETag, a date, an error line
WORKERS = 8  # sources fetched at once: a few, enough to overlap the waiting on slow hosts


@dataclass(frozen=True)
class SourceState:
    """What is remembered of one source: the validators of its last full answer (sent
    back as If-None-Match and If-Modified-Since) and its health, times in UTC."""

    etag: str = ""
    last_modified: str = ""
    last_success: str = ""  # the last run that fetched it (new, skipped or not modified)
    last_error: str = ""  # why the last failing run failed
    last_error_at: str = ""


_STATE_FIELDS = tuple(SourceState.__dataclass_fields__)


# -- the state file ---------------------------------------------------------------------

def load_state(site_dir: Path) -> tuple[dict[str, SourceState], str | None]:
    """url -> SourceState, and a warning when the file was there but not usable (then
    nothing is remembered: every source is fetched in full, nothing is lost)."""
    path = site_dir / STATE_FILE
    if not os.path.lexists(path):
        return {}, None
    try:
        data = json.loads(read_file(path, max_bytes=MAX_STATE_BYTES).decode("utf-8"))
        return _validated(data), None
    except FetchError as exc:
        why = str(exc)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        why = f"not a state file this version writes ({type(exc).__name__}: {str(exc)[:120]})"
    return {}, f"{path}: {why}; ignored, every source is fetched in full"


def _validated(data) -> dict[str, SourceState]:
    """The state as written by save_state(), or ValueError saying what is not."""
    if not isinstance(data, dict) or set(data) != {"version", "sources"} or data["version"] != STATE_VERSION:
        raise ValueError(f"expected {{\"version\": {STATE_VERSION}, \"sources\": {{...}}}}")
    if not isinstance(data["sources"], dict):
        raise ValueError("'sources' is not an object")
    states = {}
    for url, entry in data["sources"].items():
        if not isinstance(entry, dict) or not set(entry) <= set(_STATE_FIELDS):
            raise ValueError(f"the entry of {url[:80]!r} is not an object of {', '.join(_STATE_FIELDS)}")
        for key, value in entry.items():
            if not isinstance(value, str) or len(value) > MAX_STATE_TEXT or not value.isprintable():
                raise ValueError(f"{key} of {url[:80]!r} is not one line of text")
            if key in ("etag", "last_modified") and not value.isascii():  # sent back as a header
                raise ValueError(f"{key} of {url[:80]!r} is not ASCII")
            if key in ("last_success", "last_error_at") and value:
                datetime.fromisoformat(value)
        states[url] = SourceState(**entry)
    return states


def state_bytes(states: dict[str, SourceState]) -> bytes:
    """Deterministic JSON: sorted keys, one value per line, empty values left out."""
    entries = {url: {k: v for k, v in vars(state).items() if v} for url, state in states.items()}
    return (json.dumps({"version": STATE_VERSION, "sources": entries}, indent=2, sort_keys=True,
                       ensure_ascii=False) + "\n").encode("utf-8")


def save_state(site_dir: Path, states: dict[str, SourceState]) -> None:
    path = site_dir / STATE_FILE
    data = state_bytes(states)
    try:
        if path.is_file() and not path.is_symlink() and path.read_bytes() == data:
            return  # unchanged: the file keeps its time, git sees nothing
    except OSError:
        pass
    write_atomically(path, data)


def write_atomically(path: Path, data: bytes) -> None:
    """`path` holds `data` whole or keeps what it held: written beside it, then renamed
    over it (a symlink there is replaced, never followed)."""
    umask = os.umask(0o022)
    os.umask(umask)
    mode = 0o666 & ~umask  # a new file gets what open() would give it
    with contextlib.suppress(OSError):
        info = os.lstat(path)
        if stat.S_ISREG(info.st_mode):
            mode = stat.S_IMODE(info.st_mode)  # an edited file keeps its permissions
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)  # mkstemp makes it private (0600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


# -- refreshing -------------------------------------------------------------------------

@dataclass
class Outcome:
    """One source's answer: stories to write, "not modified", or an error."""

    source: Source
    status: str  # "fetched", "not modified", "failed"
    stories: list[Story] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)
    etag: str = ""
    last_modified: str = ""
    error: str = ""
    report: ImportReport = field(default_factory=ImportReport)

    def line(self, dry_run: bool = False) -> str:
        """The one line each source ends with."""
        if self.status == "failed":
            return f"{self.source.url}: failed: {self.error}"
        if self.status == "not modified":
            return f"{self.source.url}: not modified"
        counts = [f"{len(self.report.new)} {'would write' if dry_run else 'new'}", f"{len(self.report.skipped)} skipped"]
        if self.report.invalid:
            counts.append(f"{len(self.report.invalid)} invalid")
        return f"{self.source.url}: {', '.join(counts)}"


@dataclass
class RefreshReport:
    outcomes: list[Outcome]
    warnings: list[str]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def summary(self, dry_run: bool = False) -> str:
        new = sum(len(o.report.new) for o in self.outcomes)
        skipped = sum(len(o.report.skipped) for o in self.outcomes)
        same = sum(o.status == "not modified" for o in self.outcomes)
        return (f"{len(self.outcomes)} sources: {new} {'would write' if dry_run else 'new'}, {skipped} skipped, "
                f"{same} not modified, {len(self.failed)} failed")


def refresh_sources(site_dir: Path, dry_run: bool = False, now: datetime | None = None,
                    workers: int = WORKERS) -> RefreshReport:
    """Fetch every [[sources]] feed and write its new stories; one failing source costs
    only itself. With `dry_run`, nothing is written (the state file neither)."""
    config = load_config(site_dir)
    content_dir = content_folder(site_dir)
    states, warning = load_state(site_dir)
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(config.sources)))) as pool:
        fetching = pool.map(lambda s: _fetch(site_dir, s, states.get(s.url, SourceState())), config.sources)
        seen = known_urls(content_dir)  # read while the sources answer
        outcomes = list(fetching)
    kept = {}
    for outcome in outcomes:  # in site.toml's order: a story in two feeds goes to the first
        source, state = outcome.source, states.get(outcome.source.url, SourceState())
        if outcome.status == "failed":
            why = "".join(ch if ch.isprintable() else " " for ch in outcome.error)[:MAX_STATE_TEXT]
            state = replace(state, last_error=why, last_error_at=stamp)  # as load_state() will accept it
        else:
            if outcome.status == "fetched":
                outcome.report.invalid += outcome.invalid
                add_stories(outcome.stories, source.url, content_dir, config.tz, seen, outcome.report, dry_run,
                            published=source.publish == "auto")
                state = replace(state, etag=outcome.etag, last_modified=outcome.last_modified)
            state = replace(state, last_success=stamp)
        kept[source.url] = state
    if not dry_run:
        save_state(site_dir, kept)  # sources no longer in site.toml are forgotten
    return RefreshReport(outcomes, [warning] if warning else [])


def _fetch(site_dir: Path, source: Source, state: SourceState) -> Outcome:
    """Runs in a worker thread: read and parse one source; never raises."""
    try:
        if is_http_url(source.url):
            answer = fetch_response(source.url, importer.MAX_FEED_BYTES, importer.FETCH_TIMEOUT,
                                    etag=state.etag, last_modified=state.last_modified)
            if answer.status == 304:
                return Outcome(source, "not modified")
            data, etag, modified = answer.body, answer.etag, answer.last_modified
        else:
            data, etag, modified = read_file(_inside(site_dir, source.url), importer.MAX_FEED_BYTES), "", ""
        stories, invalid = parse_feed(data, source.url, source.topics)
    except FetchError as exc:
        why = str(exc)
        return Outcome(source, "failed", error=why if not is_http_url(source.url) else f"could not fetch: {why}")
    except FeedError as exc:
        return Outcome(source, "failed", error=str(exc).removeprefix(f"{source.url}: "))
    except Exception as exc:  # noqa: BLE001 - one source's surprise costs that source only
        return Outcome(source, "failed", error=f"unexpected {type(exc).__name__}: {str(exc)[:200]}")
    return Outcome(source, "fetched", stories, invalid, etag, modified)


def _inside(site_dir: Path, rel: str) -> Path:
    """A file source's path, which must stay inside the site folder (links included)."""
    path = (site_dir / rel).resolve()
    if not path.is_relative_to(site_dir.resolve()):
        raise FetchError("the file is outside the site folder; not read")
    return path


# -- `site-builder sources` -------------------------------------------------------------

def source_lines(site_dir: Path) -> tuple[list[str], list[str]]:
    """Each source with its settings and health, and any warning about the state file."""
    config = load_config(site_dir)
    states, warning = load_state(site_dir)
    lines = []
    for source in config.sources:
        state = states.get(source.url, SourceState())
        topics = f", topics: {', '.join(source.topics)}" if source.topics else ""
        lines.append(f"{source.url} ({source.name + ', ' if source.name else ''}publish: {source.publish}{topics})")
        health = [f"last success {state.last_success or 'never'}"]
        if state.last_error_at:
            health.append(f"last error {state.last_error_at}: {state.last_error}")
        lines.append("    " + "; ".join(health))
    return lines, [warning] if warning else []

"""WATCH: rebuild the site whenever its sources change.

`SiteWatcher` turns file-system events under content/, templates/, static/ and site.toml
into one callback; `Debouncer` turns a burst of callbacks into one call of an action,
and a change that lands while the action runs into exactly one more call. `WatchedBuild`
joins the two around the ordinary `builder.build`, so `build --watch` and `serve` build
exactly as `build` does.
"""

from __future__ import annotations

import errno
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from .builder import BuildOptions, Builder
from .config import CONFIG_FILE, ConfigError
from .errors import BuildError
from .models import printable
from .pages import PlanError
from .report import BuildReport
from .inputs import is_ignored_name
from .writer import STAGING_SUFFIX

SOURCE_DIRS = ("content", "templates", "static")
QUIET_SECONDS = 0.02  # a burst has ended once nothing changed for this long: a save (one write, or
# one rename) raises its events within a millisecond; a `git checkout` keeps raising them
MAX_WAIT_SECONDS = 1.0  # ...but never delay a build longer than this behind a stream of changes
POLL_SECONDS = 0.5
# Reading files (as every build does) raises "opened"/"closed" events: never let those count.
_CHANGE_EVENTS = [
    FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent,
    DirCreatedEvent, DirDeletedEvent, DirMovedEvent,
]
_CHANGE_TYPES = {cls.event_type for cls in _CHANGE_EVENTS}
_BUILD_ERRORS = (ConfigError, PlanError, BuildError)


class WatchError(Exception):
    """The site cannot be watched: no such folder, or the system's limit of watches."""


def watch_limit_hint(exc: OSError) -> str:
    which = "instances" if exc.errno == errno.EMFILE else "watches"
    return (
        f"cannot watch the site for changes: the inotify {which} limit is reached ({exc.strerror}). "
        f"Raise it, e.g. `sudo sysctl fs.inotify.max_user_{which}=524288`, "
        f"or run again with --poll to check for changes by polling instead."
    )


@dataclass(frozen=True)
class BuildOutcome:
    """One build's result: a report, or the error that stopped the build."""

    report: BuildReport | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Everything built and valid: worth showing to a browser."""
        return self.report is not None and not self.report.errors

    @property
    def messages(self) -> list[str]:
        """What the author must fix, one line each (file:line: message)."""
        if self.error is not None:
            return [self.error]
        return [str(problem) for problem in self.report.errors] if self.report else []


def run_build(builder: Builder, **options) -> BuildOutcome:
    """`Builder.build`, with every failure turned into an outcome instead of an exception."""
    try:
        return BuildOutcome(report=builder.build(**options))
    except _BUILD_ERRORS as exc:
        error = f"error: {exc}"
    except OSError as exc:  # e.g. a file deleted while the build read it; the next build follows
        error = f"error: {exc}"
    except Exception as exc:  # a bug: say so loudly, but keep watching
        traceback.print_exc()
        error = f"internal error: {type(exc).__name__}: {exc}"
    return BuildOutcome(error=printable(error, newlines=True))  # shown in the terminal and the overlay


def print_outcome(outcome: BuildOutcome, verb: str = "Rebuilt") -> None:
    if outcome.report is not None:
        for problem in outcome.report.problems:
            print(problem, file=sys.stderr)
        print(outcome.report.summary(verb), flush=True)
    else:
        print(outcome.error, file=sys.stderr, flush=True)


class Debouncer:
    """Calls `action` once per burst of `poke()`s, in its own thread.

    A burst ends after `quiet` seconds without a poke, or `max_wait` seconds after its first
    poke. Pokes that arrive while `action` runs start the next burst: one more call, not many.
    """

    def __init__(self, action: Callable[[], None], quiet: float = QUIET_SECONDS, max_wait: float = MAX_WAIT_SECONDS):
        self.action, self.quiet, self.max_wait = action, quiet, max_wait
        self.runs = 0
        self._wake = threading.Condition()
        self._first_poke: float | None = None
        self._last_poke = 0.0
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="site-builder-rebuild", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def poke(self, now: bool = False) -> None:
        """now=True: the burst ends at once (a change made by the server itself, whose file
        events would only make it wait for the quiet time)."""
        with self._wake:
            self._last_poke = time.monotonic()
            if self._first_poke is None or now:
                self._first_poke = self._last_poke - (self.max_wait if now else 0.0)
            self._wake.notify()

    @property
    def pending(self) -> bool:
        """A change is waiting for its build."""
        with self._wake:
            return self._first_poke is not None

    def stop(self, timeout: float = 30.0) -> None:
        """Let a running action finish (so it leaves no half-written files), then stop."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while self._next_burst_ended():
            self.runs += 1
            self.action()

    def _next_burst_ended(self) -> bool:
        """Wait for a burst and its end; False when stopping."""
        with self._wake:
            while not self._stopping:
                if self._first_poke is None:
                    self._wake.wait()
                    continue
                now = time.monotonic()
                due = min(self._last_poke + self.quiet, self._first_poke + self.max_wait)
                if now >= due:
                    self._first_poke = None
                    return True
                self._wake.wait(due - now)
            return False


class ChangedFiles:
    """The paths the watcher saw change since a build last took them: the preview's next
    build looks at those files alone (scan.rescan), and a full scan follows it."""

    LIMIT = 1000  # paths; past that (a `git checkout`), looking at every file is as quick

    def __init__(self):
        self._lock = threading.Lock()
        self._paths: set[str] | None = set()  # None: a change the paths alone do not describe

    def add(self, paths) -> None:
        with self._lock:
            if self._paths is not None:
                self._paths.update(map(str, paths))
                if len(self._paths) > self.LIMIT:
                    self._paths = None

    def unknown(self) -> None:
        with self._lock:
            self._paths = None

    def take(self) -> frozenset[str] | None:
        """The paths seen since the last take(); None when unknown or none (look at all)."""
        with self._lock:
            paths, self._paths = self._paths, set()
        return frozenset(paths) if paths else None


class _ChangeHandler(FileSystemEventHandler):
    def __init__(self, watcher: SiteWatcher):
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _CHANGE_TYPES or (event.is_directory and event.event_type == "modified"):
            return  # a folder's "modified" only echoes the file events inside it
        paths = [event.src_path, getattr(event, "dest_path", "")]
        relevant = [Path(p if isinstance(p, str) else p.decode()) for p in paths if p]
        if any(self.watcher.is_source(path) for path in relevant):
            self.watcher.changed(relevant)


class SiteWatcher:
    """Watches a site's source folders (recursively) and site.toml; calls `on_change`.

    Folders are watched, never single files: editors save by writing a new file and
    renaming it over the old one, which a watch on the old file would lose. The site folder
    itself is watched without recursion, for site.toml and for source folders that appear
    or are replaced later (the output folder beside them is never watched).
    """

    def __init__(self, site_dir: Path, on_change: Callable[[], None], poll: bool = False, ignore: tuple[Path, ...] = ()):
        self.site_dir = site_dir.resolve()
        self.on_change = on_change
        self.ignore = tuple(p.resolve() for p in ignore)
        self.observer = PollingObserver(timeout=POLL_SECONDS) if poll else Observer()
        self._handler = _ChangeHandler(self)
        self.changes = ChangedFiles()  # what the watched files' events named, for whoever builds next
        self._watches: dict[str, tuple[object, int]] = {}  # folder name -> (watch, inode)
        self._lock = threading.Lock()

    def start(self) -> None:
        if not self.site_dir.is_dir():
            raise WatchError(f"{self.site_dir}: no such folder")
        try:
            self.observer.schedule(self._handler, str(self.site_dir), recursive=False, event_filter=_CHANGE_EVENTS)
            self._refresh_source_watches()
            self.observer.start()
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EMFILE):
                raise WatchError(watch_limit_hint(exc)) from None
            raise

    def stop(self) -> None:
        if self.observer.is_alive():
            self.observer.stop()
            self.observer.join(timeout=5)

    def is_source(self, path: Path) -> bool:
        """A file whose change can change the site: not output, dotfiles or editor droppings."""
        try:
            rel = path.relative_to(self.site_dir)
        except ValueError:
            return False
        if not rel.parts or any(path == root or root in path.parents for root in self.ignore):
            return False
        if len(rel.parts) == 1:
            return rel.name in SOURCE_DIRS or rel.name == CONFIG_FILE
        return rel.parts[0] in SOURCE_DIRS and not any(is_ignored_name(part) for part in rel.parts)

    def changed(self, paths: list[Path]) -> None:
        self.changes.add(paths)
        if any(path.parent == self.site_dir and path.name in SOURCE_DIRS for path in paths):
            self.changes.unknown()  # a whole source folder came, went or was replaced
            try:
                self._refresh_source_watches()
            except OSError as exc:
                print(f"warning: {watch_limit_hint(exc) if exc.errno in (errno.ENOSPC, errno.EMFILE) else exc}", file=sys.stderr)
        self.on_change()

    def _refresh_source_watches(self) -> None:
        """Watch each source folder that exists; re-watch one that was replaced."""
        with self._lock:
            for name in SOURCE_DIRS:
                folder = self.site_dir / name
                inode = folder.stat().st_ino if folder.is_dir() else None
                current = self._watches.get(name)
                if current is not None and current[1] != inode:
                    self.observer.unschedule(current[0])
                    del self._watches[name]
                if inode is not None and name not in self._watches:
                    watch = self.observer.schedule(self._handler, str(folder), recursive=True, event_filter=_CHANGE_EVENTS)
                    self._watches[name] = (watch, inode)


class WatchedBuild:
    """Builds again after every burst of source changes, until stopped.

    `rebuild` does the build (through `run_build`) and handles its outcome. The watcher
    starts before the first build, so a change made during it is not lost.
    """

    def __init__(self, site_dir: Path, rebuild: Callable[[], None], poll: bool = False, ignore: tuple[Path, ...] = ()):
        self.debouncer = Debouncer(rebuild)
        self.watcher = SiteWatcher(site_dir, self.debouncer.poke, poll, ignore)

    @property
    def rebuilds(self) -> int:
        return self.debouncer.runs

    def start_watching(self) -> None:
        self.watcher.start()

    def start_rebuilding(self) -> None:
        self.debouncer.start()

    def stop(self) -> None:
        self.watcher.stop()
        self.debouncer.stop()


def wait_for_interrupt() -> None:
    """Block until Ctrl-C (SIGINT raises KeyboardInterrupt here, in the main thread)."""
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


def watch_output(options: BuildOptions, poll: bool = False) -> None:
    """`build --watch`: build into the output folder now and after every change, until Ctrl-C."""
    output = options.output
    builder = Builder(options)  # one builder: each rebuild redoes only what changed

    def rebuild() -> None:
        print_outcome(run_build(builder))

    session = WatchedBuild(options.site_dir, rebuild, poll, ignore=(output, output.with_name(output.name + STAGING_SUFFIX)))
    session.start_watching()
    try:
        print_outcome(run_build(builder), "Built")
        session.start_rebuilding()
        print(f"Watching {options.site_dir} for changes (press Ctrl-C to stop)", flush=True)
        wait_for_interrupt()
    finally:
        session.stop()

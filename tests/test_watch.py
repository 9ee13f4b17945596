"""The watcher and its debouncer, without a server: which changes count, and how bursts
and changes during a build become builds. Waits are on conditions only."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import article, atomic_save, make_site, wait_until
from watchdog.events import (
    DirModifiedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)

from site_builder.watch import Debouncer, SiteWatcher, WatchedBuild


def test_a_burst_of_pokes_is_one_run():
    ran = threading.Event()
    debouncer = Debouncer(ran.set, quiet=0.05, max_wait=5)
    debouncer.start()
    try:
        for _ in range(500):
            debouncer.poke()
        wait_until(ran.is_set, what="the run")
        wait_until(lambda: not debouncer.pending, what="the burst to be consumed")
        assert debouncer.runs == 1
    finally:
        debouncer.stop()


def test_changes_during_a_run_give_exactly_one_more_run():
    started, release, finished = threading.Event(), threading.Event(), threading.Semaphore(0)

    def slow_build():
        started.set()
        release.wait(20)
        finished.release()

    debouncer = Debouncer(slow_build, quiet=0.01, max_wait=1)
    debouncer.start()
    try:
        debouncer.poke()
        wait_until(started.is_set, what="the first run")
        for _ in range(50):
            debouncer.poke()  # lands during the build
        assert debouncer.pending
        release.set()
        assert finished.acquire(timeout=20) and finished.acquire(timeout=20)
        assert not debouncer.pending and debouncer.runs == 2
    finally:
        debouncer.stop()


@pytest.fixture
def site(tmp_path) -> Path:
    return make_site(tmp_path / "site", {"content/story.md": article(), "site.toml": ""})


@pytest.mark.parametrize("rel, counts", [
    ("content/story.md", True),
    ("content/deep/folder/new.txt", True),
    ("templates/base.html", True),
    ("static/assets/site.css", True),
    ("site.toml", True),
    ("content", True),  # a whole folder appearing, vanishing or renamed
    ("content/.story.md.swp", False),
    ("content/story.md.swp", False),
    ("content/story.md~", False),
    ("content/4913", False),
    ("content/.#story.md", False),
    ("content/#story.md#", False),
    ("content/.git/index", False),
    ("_site/index.html", False),
    ("_site.staging/index.html", False),
    ("notes.txt", False),
    ("site.toml.swp", False),
])
def test_which_paths_count_as_changes(site, rel, counts):
    watcher = SiteWatcher(site, lambda: None)
    assert watcher.is_source(site.resolve() / rel) is counts


def test_reads_and_folder_echoes_do_not_count(site):
    """Every build opens and reads the sources: those events must not trigger builds."""
    calls = []
    watcher = SiteWatcher(site, lambda: calls.append(1))
    handler = watcher._handler
    story = str(site.resolve() / "content/story.md")
    for event in (FileOpenedEvent(story), FileClosedNoWriteEvent(story), DirModifiedEvent(str(site.resolve() / "content"))):
        handler.dispatch(event)
    assert calls == []
    handler.dispatch(FileModifiedEvent(story))
    handler.dispatch(FileCreatedEvent(str(site.resolve() / "content/.story.md.swp")))
    assert calls == [1]
    # An atomic save is only a move of a temp file over the article: it counts.
    handler.dispatch(FileMovedEvent(str(site.resolve() / "content/.story.md.tmp"), story))
    assert calls == [1, 1]


def test_a_source_folder_created_later_is_watched(site):
    builds = []
    session = WatchedBuild(site, lambda: builds.append(1))
    session.start_watching()
    session.start_rebuilding()
    try:
        make_site(site, {"templates/partials/card.html": "x"})
        wait_until(lambda: builds, what="the new folder's build")
        before = len(builds)
        atomic_save(site / "templates/partials/card.html", "y")
        wait_until(lambda: len(builds) > before, what="a change inside the new folder")
    finally:
        session.stop()


def test_a_replaced_content_folder_is_watched_again(site):
    builds = []
    session = WatchedBuild(site, lambda: builds.append(1))
    session.start_watching()
    session.start_rebuilding()
    try:
        (site / "content").rename(site / "old-content")
        make_site(site, {"content/story.md": article(title="Moved")})
        wait_until(lambda: builds and not session.debouncer.pending, what="the replacement's build")
        before = len(builds)
        atomic_save(site / "content/story.md", article(title="Edited after the move"))
        wait_until(lambda: len(builds) > before, what="a change in the new content folder")
    finally:
        session.stop()

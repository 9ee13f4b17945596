"""site_model.patched_model: the preview's model after an edit, patched from its last one
for the files the watcher named, equals the model read from scratch, whatever the edits
(publishing, dates, errors that come and go, warnings, duplicate URLs, files that come
or go); and a site built that way equals a fresh build."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st

from site_builder.builder import BuildOptions, Builder, CacheMode, SearchMode
from test_incremental import fresh_build, story, tree_bytes

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
FILES = [f"content/{n:02d}.md" for n in range(8)]

edit = st.one_of(
    st.tuples(st.just("story"), st.integers(0, 7), st.sampled_from(["Alpha", "Beta", "Gamma"]), st.integers(1, 28)),
    st.tuples(st.just("draft"), st.integers(0, 7)),
    st.tuples(st.just("publish"), st.integers(0, 7)),
    st.tuples(st.just("broken"), st.integers(0, 7)),  # an error: the file gives no article
    st.tuples(st.just("warning"), st.integers(0, 7)),  # a field ignored with a warning
    st.tuples(st.just("same-url"), st.integers(0, 7), st.integers(0, 7)),  # a duplicate URL
    st.tuples(st.just("touch"), st.integers(0, 7)),  # the same bytes, a new mtime
    st.tuples(st.just("delete"), st.integers(0, 7)),
)


def _apply(site: Path, step) -> str:
    """Make one edit; return the path a watcher would name."""
    kind, n, *rest = step
    path = site / FILES[n]
    text = path.read_text() if path.exists() else story(n)
    if kind == "story":
        text = story(n, f"{rest[0]} {n}", day=rest[1])
    elif kind in ("draft", "publish"):
        text = text.replace("\npublished: false\n", "\n").replace("---\ntitle", "---\npublished: false\ntitle", 1)
        if kind == "publish":
            text = text.replace("\npublished: false\n", "\n")
    elif kind == "broken":
        text = "---\ntitle: [unclosed\n---\n"
    elif kind == "warning":
        text = text.replace("---\ntitle", "---\nheat: lots\ntitle", 1) if "heat: lots" not in text else story(n)
    elif kind == "same-url":
        text = story(n, f"Copy {n}").replace(f"https://example.com/{n}", f"https://example.com/{rest[0]}")
    elif kind == "touch":
        os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2) if path.exists() else None
        return os.path.realpath(path)
    if kind == "delete":
        path.unlink(missing_ok=True)
    else:
        path.write_text(text)
    return os.path.realpath(path)


def _same_model(patched, fresh) -> None:
    assert patched.selection.read == fresh.selection.read
    assert patched.selection.published == fresh.selection.published
    assert patched.problems == fresh.problems and patched.files == fresh.files
    assert patched.digests == fresh.digests


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.lists(edit, min_size=1, max_size=3), min_size=1, max_size=5))
def test_a_model_patched_for_the_named_files_equals_one_read_from_scratch(steps):
    root = Path(tempfile.mkdtemp(prefix="sb-model-"))
    try:
        site = root / "site"
        (site / "content").mkdir(parents=True)
        (site / "site.toml").write_text('base_url = "https://news.example/"\npaginate = 3\nsearch = false\n')
        for n, rel in enumerate(FILES):
            (site / rel).write_text(story(n, day=1 + n))
        options = BuildOptions(site, now=NOW)
        builder = Builder(options, cache=CacheMode.READ)
        builder.build()
        for batch in steps:
            named = [_apply(site, step) for step in batch]
            read_as, edits = builder.reader.last_read, builder._edits
            builder.build(search=SearchMode.PAGES_FIRST, changed=named)
            model = builder.current()[0] if builder.current() else None
            if builder._edits is not edits:  # this build patched the model
                event("patched")
                assert builder.reader.last_read is not read_as and builder._edits[1] is model
            _same_model(model, Builder(options, cache=CacheMode.OFF).load_model())
            while builder.pending:
                builder.build(search=SearchMode.PAGES_FIRST)
        assert tree_bytes(site / "_site") == fresh_build(site, root / "fresh")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_publish_named_by_the_watcher_patches_the_model(tmp_path):
    """The desk's publish: one file, one line; the model is patched, not read again."""
    site = tmp_path / "site"
    (site / "content").mkdir(parents=True)
    for n, rel in enumerate(FILES):
        (site / rel).write_text(story(n, day=1 + n).replace("---\ntitle", "---\npublished: false\ntitle", 1) if n == 3 else story(n, day=1 + n))
    options = BuildOptions(site, now=NOW)
    builder = Builder(options, cache=CacheMode.READ)
    builder.build()
    before = builder.current()[0]
    assert "content/03.md" not in {a.source for a in before.articles}
    path = site / "content/03.md"
    path.write_text(path.read_text().replace("\npublished: false\n", "\n"))
    builder.build(search=SearchMode.PAGES_FIRST, changed=[os.path.realpath(path)])
    model = builder.current()[0]
    assert builder._edits == (before, model, {"content/03.md"})
    assert "content/03.md" in {a.source for a in model.articles}
    _same_model(model, Builder(options, cache=CacheMode.OFF).load_model())

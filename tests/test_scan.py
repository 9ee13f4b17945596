"""scan.rescan: the last listing with the files the watcher named looked at again equals
a full scan, or declines (None) where the named paths cannot tell (a folder, a link, a
file outside content/). And a build on such a listing leaves a full scan to the next one,
which finds what the watcher missed."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from site_builder.builder import BuildOptions, Builder, CacheMode, SearchMode
from site_builder.scan import rescan, scan_inputs
from test_incremental import small_site, story, tree_bytes, fresh_build

NAMES = ["a.md", "b.txt", "c.markdown", "sub/d.md", "sub/deep/e.md", ".hidden.md", "f.md~", "notes.pdf", "g.md"]

change = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(NAMES), st.text("xyz", min_size=0, max_size=5)),
    st.tuples(st.just("delete"), st.sampled_from(NAMES)),
    st.tuples(st.just("folder"), st.sampled_from(["g.md", "sub"])),  # a folder appears (or goes) under that name
    st.tuples(st.just("link"), st.sampled_from(["h.md", "sub/i.md"])),
    st.tuples(st.just("outside"), st.sampled_from(["site.toml", "templates/x.html"])),
)


def _apply(site: Path, step) -> list[str]:
    """Do one change; return the paths a watcher would name (real, absolute)."""
    kind, name, *rest = step
    path = site / ("content" if kind != "outside" else "") / name
    if kind in ("write", "outside"):
        if path.is_dir():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\ntitle: x\n---\n" + (rest[0] if rest else ""))
    elif kind == "delete":
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    elif kind == "folder":
        if path.is_dir():
            shutil.rmtree(path)
        else:
            if path.exists():
                path.unlink()
            (path / "inner.md").parent.mkdir(parents=True, exist_ok=True)
            (path / "inner.md").write_text("---\ntitle: inner\n---\n")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_symlink() and not path.exists():
            path.symlink_to(site / "content" / "a.md")
    return [os.path.join(os.path.realpath(path.parent), path.name)]  # a link's own path, as a watcher names it


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(st.lists(change, min_size=1, max_size=3), min_size=1, max_size=4))
def test_a_rescan_of_the_named_files_equals_a_full_scan_or_declines(steps):
    root = Path(tempfile.mkdtemp(prefix="sb-scan-"))
    try:
        site = root / "site"
        (site / "content").mkdir(parents=True)
        (site / "content/a.md").write_text("---\ntitle: a\n---\n")
        options = BuildOptions(site)
        last = scan_inputs(options)
        for batch in steps:
            named = [path for step in batch for path in _apply(site, step)]
            partial = rescan(options, last, named)
            full = scan_inputs(options)
            if partial is not None:
                assert partial.partial
                assert partial.inputs.parts == full.inputs.parts and partial.articles == full.articles
            last = full
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_build_on_the_watchers_word_leaves_a_full_scan_to_the_next(tmp_path):
    """The watcher named one file, but another changed too: the first build shows what it
    was told, and the build that follows it finds the other; then the site is a fresh build's."""
    site = small_site(tmp_path)
    builder = Builder(BuildOptions(site), cache=CacheMode.READ)
    builder.build()
    told, untold = site / "content/03.md", site / "content/04.md"
    told.write_text(story(3, "Told by the watcher"))
    untold.write_text(story(4, "Missed by the watcher"))
    first = builder.build(search=SearchMode.PAGES_FIRST, changed=[os.path.realpath(told)])
    assert builder.pending and first.rendered
    out = site / "_site"
    assert (out / "2024/05/01/told-by-the-watcher/index.html").exists()
    assert not (out / "2024/05/01/missed-by-the-watcher/index.html").exists()
    builder.build(search=SearchMode.PAGES_FIRST)
    assert (out / "2024/05/01/missed-by-the-watcher/index.html").exists()
    while builder.pending:
        builder.build(search=SearchMode.PAGES_FIRST)
    assert tree_bytes(out) == fresh_build(site, tmp_path / "fresh")


def test_named_files_that_did_not_change_mean_a_full_scan(tmp_path):
    """A watcher's event for a file saved unchanged (same stamp) must not hide another
    change: the build looks at every file instead."""
    site = small_site(tmp_path)
    builder = Builder(BuildOptions(site), cache=CacheMode.READ)
    builder.build()
    (site / "content/05.md").write_text(story(5, "Changed without an event"))
    report = builder.build(search=SearchMode.PAGES_FIRST, changed=[os.path.realpath(site / "content/06.md")])
    assert report.rendered and (site / "_site/2024/05/01/changed-without-an-event/index.html").exists()

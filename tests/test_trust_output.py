"""What a build may delete, where deploy may push, and what steers Pagefind: a build
empties an output folder only of files a build wrote there, deploy never pushes over the
source branch, and Pagefind obeys no pagefind.yml or PAGEFIND_* setting of the user's."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import IN_CI, article, make_site, tree_bytes

MANIFEST = ".site-builder-manifest"


def small_site(root: Path, count: int = 3, **extra: str) -> Path:
    files = {f"content/{n}.md": article(f"Story {n}", url=f"https://example.com/{n}", topics=("AI",)) for n in range(count)}
    return make_site(root, {**files, **extra})


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every entry below folder (folders as None) with its bytes."""
    return {p.relative_to(folder).as_posix(): None if p.is_dir() else p.read_bytes() for p in sorted(folder.rglob("*"))}


def listed(out: Path) -> set[str]:
    return {rel for rel in tree_bytes(out) if rel != MANIFEST}


def need_git() -> None:
    if shutil.which("git") is None:
        if IN_CI:
            pytest.fail("git is required in CI")
        pytest.skip("git is not installed")


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=Editor", "-c", "user.email=editor@example.com", *args],
        cwd=cwd, capture_output=True, check=True, text=True,
    )
    return proc.stdout


@pytest.fixture
def no_user_git_config(tmp_path, monkeypatch):
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_DIR", raising=False)


def test_a_folder_of_ones_own_is_refused_and_left_untouched(tmp_path, run, no_user_git_config):
    need_git()
    site = small_site(tmp_path / "site")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "index.html").write_text("<p>my own home page</p>")
    (mine / "notes.txt").write_text("years of notes")
    git(mine, "init", "-q")
    git(mine, "add", "-A")
    git(mine, "commit", "-q", "-m", "mine")
    before = snapshot(mine)
    assert any(rel.startswith(".git/objects/") for rel in before)

    result = run("build", site, "-o", mine)
    assert result.code == 2, result.err
    assert str(mine) in result.err and ("notes.txt" in result.err or ".git/" in result.err)
    assert "-o" in result.err and "Traceback" not in result.err
    assert snapshot(mine) == before
    assert not (tmp_path / "mine.staging").exists()


def test_a_build_prunes_its_own_orphans_and_refuses_a_file_added_by_hand(tmp_path, run):
    site = small_site(tmp_path / "site")
    out, empty = tmp_path / "new" / "out", tmp_path / "empty"
    empty.mkdir()
    assert run("build", site, "-o", empty).code == 0
    assert run("build", site, "-o", out).code == 0
    assert tree_bytes(out) == tree_bytes(empty)
    files = json.loads((out / MANIFEST).read_text())["files"]
    assert set(files) == listed(out) and files == sorted(files)  # a published site's is in order: the same site, the same bytes
    first = {rel for rel in listed(out) if rel.startswith("2024/") and rel.endswith("/index.html")}

    (site / "content/2.md").unlink()
    assert run("build", site, "-o", out).code == 0
    pages = {rel for rel in listed(out) if rel.startswith("2024/") and rel.endswith("/index.html")}
    assert len(pages) == len(first) - 1 and pages < first  # its page went with it
    assert set(json.loads((out / MANIFEST).read_text())["files"]) == listed(out)

    (out / "topics" / "mine.txt").write_text("added by hand")
    (site / "content/1.md").write_text(article("Story 1, edited", url="https://example.com/1"))
    before = snapshot(out)
    result = run("build", site, "-o", out)
    assert result.code == 2 and "topics/mine.txt" in result.err
    assert snapshot(out) == before
    assert not (tmp_path / "new" / "out.staging").exists()


def test_a_folder_in_the_staging_place_is_not_replaced(tmp_path, run):
    site = small_site(tmp_path / "site")
    staging = tmp_path / "out.staging"
    staging.mkdir()
    (staging / "draft.txt").write_text("not a build's")
    result = run("build", site, "-o", tmp_path / "out")
    assert result.code == 2 and str(staging) in result.err
    assert snapshot(staging) == {"draft.txt": b"not a build's"}
    assert not (tmp_path / "out").exists()


def test_an_output_from_before_manifests_builds_on(tmp_path, run):
    """An output an older site-builder wrote has no manifest: its files are taken as a
    build's when this build writes them, or the site's last build recorded writing them
    there; any other file still stops the build, which says how to start afresh."""
    site = small_site(tmp_path / "site")
    out = site / "_site"
    assert run("build", site).code == 0
    (out / MANIFEST).unlink()
    (site / "content/2.md").unlink()  # its page: no longer written, recorded by the last build
    result = run("build", site)
    assert result.code == 0, result.err
    assert set(json.loads((out / MANIFEST).read_text())["files"]) == listed(out)
    assert not any("story-2" in rel for rel in listed(out))

    (out / MANIFEST).unlink()
    shutil.rmtree(site / ".cache")  # no record, but every file is one this build writes
    assert run("build", site).code == 0
    assert (out / MANIFEST).is_file()

    (out / MANIFEST).unlink()
    (out / "notes.txt").write_text("mine")
    (site / "content/1.md").write_text(article("Story 1, edited again", url="https://example.com/1"))
    before = snapshot(out)
    result = run("build", site)
    assert result.code == 2 and "notes.txt" in result.err and "delete _site/ once" in result.err
    assert snapshot(out) == before


def test_deploy_refuses_the_source_branch(tmp_path, run, no_user_git_config):
    need_git()
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    site = small_site(tmp_path / "src", **{"site.toml": 'title = "News"\nbase_url = "https://news.example/"\n'})
    git(site, "init", "-q", "-b", "main")
    git(site, "add", "-A")
    git(site, "commit", "-q", "-m", "Site sources")
    git(site, "remote", "add", "origin", str(remote))
    git(site, "push", "-q", "-u", "origin", "main")
    refs = git(remote, "for-each-ref")

    result = run("deploy", site, "--branch", "main")
    assert result.code == 2 and "main" in result.err and "gh-pages" in result.err
    assert "Built" not in result.out  # refused before building
    assert git(remote, "for-each-ref") == refs

    git(site, "checkout", "-q", "-b", "work", "--track", "origin/main")  # another name, the same branch
    result = run("deploy", site, "--branch", "main")
    assert result.code == 2 and "origin/main" in result.err
    assert git(remote, "for-each-ref") == refs

    assert run("deploy", site).code == 0  # gh-pages: the site, without the build's manifest
    published = git(remote, "ls-tree", "-r", "--name-only", "gh-pages").split()
    assert "index.html" in published and ".nojekyll" in published and MANIFEST not in published


def test_pagefind_obeys_no_settings_of_the_working_folder(tmp_path, run, monkeypatch):
    site = small_site(tmp_path / "site", count=5)
    plain = tmp_path / "plain"
    monkeypatch.chdir(tmp_path)
    assert run("build", site, "-o", plain).code == 0
    index = tree_bytes(plain / "pagefind")

    steered = tmp_path / "steered"
    steered.mkdir()
    # Titles left out of the index, its files elsewhere: either would change what is built.
    (steered / "pagefind.yml").write_text('exclude_selectors:\n  - "h1"\noutput_subdir: "elsewhere"\n')
    monkeypatch.chdir(steered)
    assert run("build", site, "-o", tmp_path / "with-yml").code == 0
    assert tree_bytes(tmp_path / "with-yml" / "pagefind") == index
    (steered / "pagefind.yml").unlink()

    monkeypatch.setenv("PAGEFIND_EXCLUDE_SELECTORS", "h1")
    assert run("build", site, "-o", tmp_path / "with-env").code == 0
    assert tree_bytes(tmp_path / "with-env" / "pagefind") == index


def test_what_a_repository_carries_beside_the_output_cannot_reach_outside_it(tmp_path, run):
    """A cloned site can carry _site.staging/ (with a journal of a commit "cut short") and
    links in _site/: neither deletes or writes a file outside the output."""
    site = small_site(tmp_path / "site")
    victim = tmp_path / "victim.txt"
    victim.write_text("not the site's")
    (site / "_site.staging").mkdir()
    journal = {"written": [], "removed": ["../../victim.txt"]}
    (site / "_site.staging" / ".site-builder-journal.json").write_text(json.dumps(journal))
    result = run("build", site)
    assert result.code == 2 and ".site-builder-journal.json" in result.err
    assert victim.read_text() == "not the site's"

    shutil.rmtree(site / "_site.staging")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "index.html").write_text("someone's page")
    (site / "_site").mkdir()
    (site / "_site" / "index.html").write_text("<p>an old home page</p>")
    (site / "_site" / "topics").symlink_to(elsewhere, target_is_directory=True)  # a path the build writes
    (site / "_site" / MANIFEST).write_text(json.dumps({"files": ["index.html", "topics"]}))  # no manifest vouches for a link
    result = run("build", site)
    assert result.code == 2 and "topics" in result.err
    assert snapshot(elsewhere) == {"index.html": b"someone's page"}


def test_a_journal_beside_a_folder_without_a_manifest_deletes_nothing(tmp_path, run):
    """Without a manifest nothing in the folder is known to be a build's, so a journal
    found beside it (a repository can carry one) may not replace or delete anything."""
    site = small_site(tmp_path / "site")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    staging = tmp_path / "mine.staging"
    staging.mkdir()
    (staging / ".site-builder-journal.json").write_text(json.dumps({"written": [], "removed": ["notes.txt"]}))
    result = run("build", site, "-o", mine)
    assert result.code == 2 and ".site-builder-journal.json" in result.err
    assert snapshot(mine) == {"notes.txt": b"mine"}


def test_what_a_file_manager_leaves_is_neither_foreign_nor_deleted(tmp_path, run):
    site = small_site(tmp_path / "site")
    out = site / "_site"
    assert run("build", site).code == 0
    for folder in (out, out / "topics"):
        (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (site / "content/1.md").write_text(article("Story 1, edited", url="https://example.com/1"))
    result = run("build", site)
    assert result.code == 0, result.err
    assert (out / ".DS_Store").read_bytes() == (out / "topics/.DS_Store").read_bytes() == b"\0\0\0\1Bud1"
    assert ".DS_Store" not in json.loads((out / MANIFEST).read_text())["files"]


@pytest.mark.parametrize("damage", ["deep manifest", "journal folder"])
def test_damaged_records_in_the_output_are_errors_not_tracebacks(tmp_path, run, damage):
    site = small_site(tmp_path / "site")
    out = site / "_site"
    assert run("build", site).code == 0
    if damage == "deep manifest":  # read as no manifest: every file is one the build writes
        (out / MANIFEST).write_text("[" * 100_000 + "]" * 100_000)
    else:
        staging = site / "_site.staging"
        (staging / ".site-builder-journal.json").mkdir(parents=True)
        (staging / ".site-builder-staging").write_bytes(b"")
    (site / "content/1.md").write_text(article("Story 1, edited", url="https://example.com/1"))
    result = run("build", site)
    assert "Traceback" not in result.err
    if damage == "deep manifest":
        assert result.code == 0, result.err
        assert set(json.loads((out / MANIFEST).read_text())["files"]) == listed(out)
    else:
        assert result.code == 2 and "cannot be read" in result.err


def test_a_commit_forces_its_journal_to_disk_except_in_the_previews_own_folder(tmp_path, monkeypatch):
    """The journal that finishes a commit cut short is fsynced, so a crash of `build` leaves
    a journal the next build can trust; the preview builds into a temporary folder of its
    own, which no other process builds into, and skips that wait."""
    from site_builder import writer as writer_module
    from site_builder.builder import BuildOptions, Builder, CacheMode

    synced = []
    real_fsync = writer_module.os.fsync
    monkeypatch.setattr(writer_module.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    site = small_site(tmp_path)
    for cache, out in ((CacheMode.READ_WRITE, site / "_site"), (CacheMode.READ, tmp_path / "preview")):
        builder = Builder(BuildOptions(site, out), cache=cache)
        builder.build()
        (site / "content/a1.md").write_text(article("A new story", "https://example.com/new", "2024-05-09T10:00:00Z"))
        synced.clear()
        builder.build()
        assert bool(synced) == (cache is CacheMode.READ_WRITE)
        (site / "content/a1.md").unlink()


def test_files_kept_in_bulk_are_checked_unless_the_last_commit_claimed_them(tmp_path):
    """SiteWriter.keep_all takes the files its caller's last commit claimed with set
    operations; any other path is checked one by one, as a new one would be."""
    from site_builder.writer import SiteWriter, WriteError

    out = tmp_path / "out"
    first = SiteWriter(out)
    first.add("a/index.html", b"a")
    first.add("b.html", b"b")
    first.commit()
    produced = first.produced
    writer = SiteWriter(out, produced, produced)
    writer.keep_all(["a/index.html", "b.html"])
    assert writer.produced == produced and writer.result.unchanged == 2
    for bad in (["../outside.html"], ["b.html", "b.html"], [MANIFEST]):
        with pytest.raises(WriteError):
            SiteWriter(out, produced, produced).keep_all(bad)
    claimed_twice = SiteWriter(out, produced, produced)
    claimed_twice.add("b.html", b"b")
    with pytest.raises(WriteError, match="two sources write b.html"):
        claimed_twice.keep_all(["b.html"])

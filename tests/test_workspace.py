"""Where `serve` builds its preview (workspace.py): in memory when there is room, else the
temporary folder (or TMPDIR, when set); its folder goes when it stops, and a folder left
by a `serve` that was killed goes at the next start, and nothing else does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import article, make_site
from test_serve import _start_cli

from site_builder import workspace
from site_builder.workspace import OWNER, PREFIX, clear_abandoned, preview_folder


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _made(memory: Path, name: str, pid: int | None) -> Path:
    folder = memory / name
    (folder / "site").mkdir(parents=True)
    (folder / "site/index.html").write_text("<p>a preview</p>")
    if pid is not None:
        (folder / OWNER).write_text(str(pid))
    return folder


def test_the_preview_is_built_in_memory_when_there_is_room(tmp_path, monkeypatch):
    monkeypatch.delenv("TMPDIR", raising=False)
    memory = tmp_path / "shm"
    memory.mkdir()
    content = make_site(tmp_path / "site", {"content/a.md": article()}) / "content"
    folder = preview_folder(content, memory)
    assert folder.parent == memory and folder.name.startswith(PREFIX)
    assert (folder / OWNER).read_text() == str(os.getpid()) and (folder.stat().st_mode & 0o777) == 0o700
    monkeypatch.setattr(workspace, "SPARE", 1 << 62)  # no room: the temporary folder
    assert preview_folder(content, memory).parent != memory
    monkeypatch.setattr(workspace, "SPARE", 0)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "chosen"))
    monkeypatch.setattr(tempfile, "tempdir", None)  # tempfile reads TMPDIR once per process
    (tmp_path / "chosen").mkdir()
    assert preview_folder(content, memory).parent == tmp_path / "chosen"  # the user's choice wins


def test_only_folders_left_by_a_killed_serve_of_this_user_are_removed(tmp_path):
    memory = tmp_path / "shm"
    abandoned = _made(memory, PREFIX + "killed", _dead_pid())
    running = _made(memory, PREFIX + "running", os.getppid())
    ours = _made(memory, PREFIX + "this-process", os.getpid())
    unowned = _made(memory, PREFIX + "no-owner-file", None)
    other = _made(memory, "someone-elses-folder", _dead_pid())
    (memory / (PREFIX + "a-link")).symlink_to(abandoned)
    assert clear_abandoned(memory) == [abandoned]
    assert not abandoned.exists()
    assert all((folder / "site/index.html").exists() for folder in (running, ours, unowned, other))
    assert (memory / (PREFIX + "a-link")).is_symlink()


@pytest.mark.skipif(not workspace._has_room(workspace.MEMORY, 1), reason="no /dev/shm with room here: the preview is built on disk")
def test_a_killed_serve_leaves_its_folder_in_memory_to_the_next_serve(tmp_path, monkeypatch, start_preview):
    monkeypatch.delenv("TMPDIR", raising=False)
    site = make_site(tmp_path / "site", {"content/a.md": article()})
    process, _ = _start_cli("serve", str(site), "--port", "0")
    try:
        mine = [p for p in workspace.MEMORY.glob(PREFIX + "*") if (p / OWNER).is_file() and (p / OWNER).read_text() == str(process.pid)]
        assert len(mine) == 1 and (mine[0] / "site/index.html").is_file()
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    assert mine[0].exists()  # killed: it could not clean up
    preview = start_preview(site)
    assert preview.work.parent == workspace.MEMORY
    assert not mine[0].exists()
    preview.stop()
    assert not preview.work.exists()

"""The command as users run it: `python -m site_builder`, the console script, a wheel."""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, article, make_site


def test_python_dash_m_builds_and_summarises(tmp_path):
    site = make_site(tmp_path, {"content/a.md": article(), "content/bad.md": "---\ntitle: x\n---\n"})
    proc = subprocess.run(
        [sys.executable, "-m", "site_builder", "build", str(site)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1
    assert re.fullmatch(
        r"Built 1 articles, \d+ pages, \d+ rendered, \d+ written, 0 removed, 2 errors in \d+\.\d\d s; the site is \d+\.\d KB\n", proc.stdout
    ), proc.stdout
    assert "content/bad.md:1: error: missing required field 'webUrl'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (site / "_site" / "index.html").is_file()


def test_help_lists_the_commands():
    proc = subprocess.run([sys.executable, "-m", "site_builder", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for command in ("build", "check", "deploy", "init"):
        assert command in proc.stdout


def test_the_bundled_sample_site_builds_cleanly(tmp_path, run):
    sample = tmp_path / "sample"  # a copy: a build leaves its .cache/ in the site folder, not in the checkout
    for part in ("content", "templates", "static"):
        shutil.copytree(REPO / part, sample / part)
    result = run("build", sample, "-o", tmp_path / "_site")
    assert result.code == 0, result.err
    assert "error" not in result.err and "warning" not in result.err  # the sample is the showcase
    articles = int(result.out.split()[1])
    assert articles >= 40
    drafts = run("build", sample, "-o", tmp_path / "_site", "--drafts")
    assert int(drafts.out.split()[1]) == articles + 1


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel `pip install .` builds, made offline with the hatchling the test extra
    installs (build isolation would download it)."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(REPO)],
        check=True, timeout=300,
    )
    return next(dist.glob("site_builder-*.whl"))


def test_wheel_carries_the_theme(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "site_builder/theme/templates/base.html" in names
    assert "site_builder/theme/templates/partials/card.html" in names
    assert "site_builder/theme/static/assets/site.css" in names
    assert "site_builder/livereload.js" in names
    assert {"site_builder/desk_assets/desk.html.j2", "site_builder/desk_assets/desk.js",
            "site_builder/desk_assets/desk.css"} <= set(names)  # the desk of `serve`


def test_installed_wheel_builds_a_site_anywhere(wheel, tmp_path):
    """`pip install .` (not editable) must work outside the repository, from a virtual
    environment or not. The new venv finds the dependencies where this interpreter finds
    them, through a .pth file (offline), while site_builder comes from the wheel alone:
    plain paths in a .pth file are added after the venv's own site-packages, and .pth
    files in those folders (an editable install's) are not run."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    (Path(purelib) / "running_interpreter.pth").write_text("\n".join(_site_dirs()) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True, timeout=300,
    )
    site = make_site(tmp_path / "elsewhere", {"content/a.md": article("Installed", "https://example.com/i")})
    outside = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # a checkout on it would win
    proc = subprocess.run(
        [str(env_dir / "bin" / "site-builder"), "build", str(site)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, env=outside,
    )
    assert proc.returncode == 0, proc.stderr
    located = subprocess.run(
        [str(python), "-c", "import site_builder.theme as t; print(t.default_theme_dir())"],
        capture_output=True, text=True, cwd=tmp_path, env=outside,
    ).stdout.strip()
    assert located.startswith(str(env_dir)), located  # the wheel's theme, not the checkout's
    assert (site / "_site" / "assets" / "site.css").is_file()


def _site_dirs() -> list[str]:
    """The folders this interpreter loads installed packages from (a venv's, or the
    system's and the user's)."""
    dirs = site.getsitepackages() + ([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])
    return [d for d in dirs if Path(d).is_dir()]

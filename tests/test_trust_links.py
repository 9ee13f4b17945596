"""Links never leave the site: a file under content/, templates/ or static/ that is a link
out of the site folder or into its hidden folders, a link to nothing or a named pipe is
named as an error and never read nor published; every other article still builds."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import BuiltSite, article, make_site, prop, text_of

SECRET = "SECRET-FROM-OUTSIDE-THE-SITE"


OWN_TITLES = {"Own story", "Other story"}


def own_site(root: Path, files: dict[str, str | bytes] | None = None) -> Path:
    return make_site(root, {
        "content/own.md": article("Own story", "https://example.com/own"),
        "content/other.md": article("Other story", "https://example.com/other"),
        "static/kept.css": "a{}",
        **(files or {}),
    })


def titles(site: Path) -> set[str]:
    return {text_of(prop(e, "name")) for e in BuiltSite(site / "_site").entries("/")}


def published_bytes(site: Path) -> bytes:
    return b"".join(path.read_bytes() for path in BuiltSite(site / "_site").all_files())


def assert_own_stories_only(site: Path, *absent: str) -> None:
    """The site's own stories are published, nothing of SECRET is, nor these paths."""
    assert titles(site) == OWN_TITLES
    assert SECRET.encode() not in published_bytes(site)
    for rel in absent:
        assert not (site / "_site" / rel).exists(), rel


def assert_refused(result, *lines: str) -> None:
    """Exit 1, each file named on a line of its own that starts as given, no traceback."""
    assert result.code == 1, result.err
    errors = result.err.splitlines()
    for start in lines:
        assert any(line.startswith(start) for line in errors), (start, result.err)
    assert "Traceback" not in result.err


def test_a_static_file_linked_out_of_the_site_is_named_and_not_published(tmp_path, run):
    outside = make_site(tmp_path / "elsewhere", {"secret.txt": SECRET})
    site = own_site(tmp_path / "site", {"notes/shared.txt": "shared within the site"})
    (site / "static/passwd.txt").symlink_to(outside / "secret.txt")
    (site / "static/etc-passwd.txt").symlink_to("/etc/passwd")
    (site / "static/shared.txt").symlink_to("../notes/shared.txt")  # within the site: fine
    result = run("build", site)
    assert_refused(
        result,
        "static/passwd.txt: error: is a link to a file outside the site folder; not read",
        "static/etc-passwd.txt: error: is a link to a file outside the site folder",
    )
    out = site / "_site"
    assert_own_stories_only(site, "passwd.txt", "etc-passwd.txt")
    assert (out / "kept.css").read_text() == "a{}"
    assert (out / "shared.txt").read_text() == "shared within the site"
    assert "2 errors" in result.out
    # check says the same, and a build that finds nothing changed says it again.
    assert_refused(run("check", site), "static/passwd.txt: error: is a link to a file outside")
    again = run("build", site)
    assert_refused(again, "static/passwd.txt: error: is a link to a file outside")
    assert "0 rendered" in again.out


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_links_into_git_or_to_a_dotfile_are_refused(tmp_path, run):
    site = own_site(tmp_path / "site", {".env": f"TOKEN={SECRET}\n"})
    subprocess.run(["git", "init", "-q", str(site)], check=True)
    # As actions/checkout leaves it: the token in .git/config.
    subprocess.run(["git", "-C", str(site), "config", "http.extraheader", f"AUTHORIZATION: basic {SECRET}"], check=True)
    (site / "static/cfg.txt").symlink_to("../.git/config")
    (site / "static/env.txt").symlink_to("../.env")
    (site / "static/repo").symlink_to("../.git", target_is_directory=True)
    result = run("build", site)
    assert_refused(
        result,
        "static/cfg.txt: error: is a link into .git/, a hidden folder of the site; not read",
        "static/env.txt: error: is a link to a hidden file of the site (.env); not read",
        "static/repo: error: is a link to a hidden folder of the site (.git); not followed",
    )
    assert_own_stories_only(site, "cfg.txt", "repo")


def test_an_article_linked_from_outside_the_site_is_not_published(tmp_path, run):
    outside = make_site(tmp_path / "elsewhere", {"x.md": article("Private story", "https://example.com/private")})
    site = own_site(tmp_path / "site", {"drafts/in-site.md": article("Linked within", "https://example.com/in")})
    (site / "content/x.md").symlink_to(outside / "x.md")
    (site / "content/within.md").symlink_to("../drafts/in-site.md")
    result = run("build", site)
    assert_refused(result, "content/x.md: error: is a link to a file outside the site folder; not read")
    assert titles(site) == {"Own story", "Other story", "Linked within"}
    assert b"Private story" not in published_bytes(site)
    assert b"example.com/private" not in published_bytes(site)


def test_links_to_nothing_are_errors_and_the_rest_builds(tmp_path, run):
    site = own_site(tmp_path / "site")
    (site / "content/gone.md").symlink_to("nowhere.md")
    (site / "static/gone.css").symlink_to(site / "nowhere.css")
    (site / "static/loop.css").symlink_to("loop.css")
    (site / "content/README").symlink_to("nowhere")  # not an article name: never read, never named
    result = run("build", site)
    assert_refused(
        result,
        "content/gone.md: error: is a link to nothing",
        "static/gone.css: error: is a link to nothing",
        "static/loop.css: error: is a link to nothing",
    )
    assert "README" not in result.err
    assert titles(site) == OWN_TITLES
    assert (site / "_site/kept.css").is_file() and not (site / "_site/gone.css").exists()


@pytest.mark.timeout(60)  # opening a named pipe would wait for a writer forever
def test_named_pipes_are_never_opened(tmp_path, run):
    site = own_site(tmp_path / "site")
    os.mkfifo(site / "content/pipe.md")
    os.mkfifo(site / "static/pipe.css")
    os.mkfifo(site / "notes.fifo")
    (site / "static/linked-pipe.css").symlink_to("../notes.fifo")
    result = run("build", site)
    assert_refused(
        result,
        "content/pipe.md: error: is a named pipe, not a file; not read",
        "static/pipe.css: error: is a named pipe, not a file; not read",
        "static/linked-pipe.css: error: is a link to a named pipe, not to a file; not read",
    )
    assert titles(site) == OWN_TITLES
    assert not (site / "_site/pipe.css").exists() and not (site / "_site/linked-pipe.css").exists()


def test_a_folder_linked_out_of_the_site_is_named_and_not_walked(tmp_path, run):
    outside = make_site(tmp_path / "elsewhere", {
        "vendor/lib.js": SECRET,
        "stories/far.md": article("Far story", "https://example.com/far"),
    })
    site = own_site(tmp_path / "site")
    (site / "static/vendor").symlink_to(outside / "vendor", target_is_directory=True)
    (site / "content/far").symlink_to(outside / "stories", target_is_directory=True)
    # A link to a folder within the site (even a loop) is passed over without a word:
    # its files are listed where they are.
    (site / "content/loop").symlink_to("../content", target_is_directory=True)
    result = run("build", site)
    assert_refused(
        result,
        "static/vendor: error: is a link to a folder outside the site folder; not followed",
        "content/far: error: is a link to a folder outside the site folder; not followed",
    )
    assert "loop" not in result.err and "2 errors" in result.out
    assert_own_stories_only(site, "vendor")


def test_a_static_folder_that_is_a_link_out_of_the_site_is_not_read(tmp_path, run):
    outside = make_site(tmp_path / "elsewhere", {"assets/secret.txt": SECRET})
    site = own_site(tmp_path / "site")
    shutil.rmtree(site / "static")
    (site / "static").symlink_to(outside / "assets", target_is_directory=True)
    result = run("build", site)
    assert_refused(result, "static: error: is a link to a folder outside the site folder; not followed")
    assert_own_stories_only(site, "secret.txt")


def test_a_template_linked_out_of_the_site_is_named_and_never_rendered(tmp_path, run):
    outside = make_site(tmp_path / "elsewhere", {"page.html": SECRET})
    site = own_site(tmp_path / "site")
    (site / "templates").mkdir()
    (site / "templates/404.html").symlink_to(outside / "page.html")
    result = run("build", site)
    assert_refused(result, "templates/404.html: error: is a link to a file outside the site folder; not read")
    assert_own_stories_only(site)
    assert (site / "_site/404.html").is_file()  # the theme's own


def test_a_bad_link_added_after_a_build_is_named_by_the_next_one(tmp_path, run):
    """A refused file is an input: adding or removing one is a change, not a no-op build
    that repeats the last report."""
    site = own_site(tmp_path / "site")
    assert run("build", site).code == 0
    (site / "static/gone.css").symlink_to("nowhere.css")
    assert_refused(run("build", site), "static/gone.css: error: is a link to nothing")
    (site / "static/gone.css").unlink()
    result = run("build", site)
    assert result.code == 0, result.err
    assert "0 errors" in result.out


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_deploy_pushes_nothing_when_a_static_file_links_into_git(tmp_path, run, monkeypatch):
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")

    def git(cwd: Path, *args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=Editor", "-c", "user.email=editor@example.com", *args],
            cwd=cwd, capture_output=True, check=True, text=True,
        ).stdout

    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    site = own_site(tmp_path / "site", {"site.toml": 'title = "News"\nbase_url = "https://user.github.io/repo/"\n'})
    git(site, "init", "-q", "-b", "main")
    git(site, "config", "http.extraheader", f"AUTHORIZATION: basic {SECRET}")
    (site / "static/cfg.txt").symlink_to("../.git/config")
    git(site, "add", "-A")
    git(site, "commit", "-q", "-m", "Site sources")
    git(site, "remote", "add", "origin", str(remote))
    result = run("deploy", site)
    assert_refused(result, "static/cfg.txt: error: is a link into .git/")
    assert git(remote, "branch", "--list") == ""  # nothing pushed


def test_the_packages_own_theme_may_be_installed_as_links(tmp_path, run, monkeypatch):
    """An installer may lay the package's files out as links into a store elsewhere: the
    default theme is ours, so its links are followed, while the site's own are not."""
    from site_builder import builder, theme

    store = tmp_path / "store"
    shutil.copytree(theme.default_theme_dir() / "templates", store / "templates")
    shutil.copytree(theme.default_theme_dir() / "static", store / "static")
    linked = tmp_path / "installed" / "theme"
    for path in sorted(store.rglob("*")):
        if path.is_file():
            target = linked / path.relative_to(store)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    for module in (theme, builder):
        monkeypatch.setattr(module, "default_theme_dir", lambda: linked)
    site = own_site(tmp_path / "site")
    (site / "static").mkdir(exist_ok=True)
    (site / "static/extra.css").symlink_to(store / "static/assets/site.css")  # the site's own: refused
    result = run("build", site)
    assert_refused(result, "static/extra.css: error: is a link to a file outside the site folder; not read")
    assert titles(site) == OWN_TITLES
    assert (site / "_site/assets/site.css").read_bytes() == (store / "static/assets/site.css").read_bytes()


def test_a_folder_link_to_elsewhere_in_the_site_is_named_not_skipped(tmp_path, run):
    """content/shared -> ../shared: its stories are listed nowhere, so say so."""
    site = own_site(tmp_path / "site", {"shared/third.md": article("Third story", url="https://example.com/third")})
    (site / "content/shared").symlink_to(site / "shared", target_is_directory=True)
    (site / "content/again").symlink_to(site / "content", target_is_directory=True)  # below content/: silent
    result = run("build", site)
    assert_refused(result, "content/shared: error: is a link to a folder outside content/; not followed")
    assert "content/again" not in result.err
    assert titles(site) == OWN_TITLES

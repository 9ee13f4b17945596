"""A build cache that came with the site (committed to its repository, copied from
another user, tampered with) runs nothing: its files are checked against this user's key
before a byte is unpickled or unmarshalled, ignored when they fail (a full build, a note
that says so), and replaced by the build's own, which the next build uses."""

from __future__ import annotations

import hashlib
import marshal
import os
import pickle
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import BuiltSite, article, make_site, prop, text_of

from site_builder.cache import CACHE_DIR, CACHE_FILE, LAST_BUILD_FILE

NOTE = "were ignored, never run"
TITLES = ["Second story", "First story"]  # newest first


@pytest.fixture(autouse=True)
def own_key(tmp_path, monkeypatch):
    """The key of this test's user: never the real ~/.cache/site-builder/key."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


class Planted:
    """A pickle whose loading runs open(marker, "x"): the marker file appears. Stands for
    any command an attacker would run."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "x"))


def site_files() -> dict[str, str]:
    return {
        "content/a.md": article("First story", "https://example.com/a", "2024-05-14T09:30:00Z"),
        "content/b.md": article("Second story", "https://example.com/b", "2024-05-15T09:30:00Z"),
        "templates/404.html": "{% extends 'base.html' %}{% block main %}<h1>Not here</h1>{% endblock %}\n",
    }


def git(*args, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Someone", "-c", "user.email=someone@example.com", "-c", "init.defaultBranch=main", *args],
        cwd=cwd, check=True, capture_output=True,
    )


def cloned_with(tmp_path: Path, planted: dict[str, bytes]) -> Path:
    """A real repository holding the site and, force-added past .gitignore, the planted
    cache files; returns a fresh `git clone` of it."""
    origin = make_site(tmp_path / "origin", site_files())
    (origin / ".gitignore").write_text(".cache/\n_site/\n")
    for rel, data in planted.items():
        (origin / rel).parent.mkdir(parents=True, exist_ok=True)
        (origin / rel).write_bytes(data)
    git("init", "-q", ".", cwd=origin)
    git("add", ".", cwd=origin)
    git("add", "-f", *planted, cwd=origin)
    git("commit", "-q", "-m", "a site with a cache", cwd=origin)
    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    assert all((clone / rel).is_file() for rel in planted)
    return clone


def titles(site: Path) -> list[str]:
    return [text_of(prop(entry, "name")) for entry in BuiltSite(site / "_site").entries("/")]


def rendered(result) -> int:
    return int(result.out.split(" rendered")[0].rsplit(" ", 1)[1])


def test_a_committed_pickle_is_never_loaded_by_check_or_build(tmp_path, run):
    marker = tmp_path / "MARKER"
    clone = cloned_with(tmp_path, {f"{CACHE_DIR}/{CACHE_FILE}": pickle.dumps(Planted(marker))})

    checked = run("check", clone)
    assert checked.code == 0, checked.err
    assert not marker.exists()

    built = run("build", clone)
    assert built.code == 0, built.err
    assert not marker.exists()
    assert titles(clone) == TITLES
    assert built.err.count(NOTE) == 1 and str(clone / CACHE_DIR) in built.err

    # The cache is now this user's: a build that must consult it (no last-build record)
    # renders nothing, and says nothing about it.
    (clone / CACHE_DIR / LAST_BUILD_FILE).unlink()
    again = run("build", clone)
    assert again.code == 0 and rendered(again) == 0 and NOTE not in again.err
    assert not marker.exists()


def _bucket(site: Path, name: str) -> str:
    """Where Jinja's bytecode cache keeps a template: a hash of its name and file path."""
    key = hashlib.sha1(name.encode())
    key.update(f"|{os.path.normpath(site / 'templates' / name)}".encode())
    return f"{CACHE_DIR}/templates/__jinja2_{key.hexdigest()}.cache"


@pytest.mark.parametrize("kind", ["pickled checksum", "marshalled code"])
def test_a_committed_compiled_template_is_never_loaded(tmp_path, run, kind):
    from jinja2.bccache import bc_magic

    marker = tmp_path / "MARKER"
    if kind == "pickled checksum":
        planted = bc_magic + pickle.dumps(Planted(marker))
    else:  # what Jinja would run as the template's module, under the right checksum
        source = site_files()["templates/404.html"]
        code = compile(f"open({str(marker)!r}, 'x')\n", "404.html", "exec")
        planted = bc_magic + pickle.dumps(hashlib.sha1(source.encode()).hexdigest(), 2) + marshal.dumps(code)
    bucket = _bucket(tmp_path / "clone", "404.html")
    clone = cloned_with(tmp_path, {bucket: planted})

    built = run("build", clone)
    assert built.code == 0, built.err
    assert not marker.exists()
    assert titles(clone) == TITLES and "Not here" in BuiltSite(clone / "_site").html("/404.html")
    assert built.err.count(NOTE) == 1

    # Our own compiled template took its place, and the next render of the page uses it
    # as it is (a template compiled again would be saved as a new file).
    ours = (clone / bucket).stat().st_ino
    (clone / "_site/404.html").unlink()
    again = run("build", clone)
    assert again.code == 0 and rendered(again) == 1 and NOTE not in again.err
    assert (clone / bucket).stat().st_ino == ours
    assert "Not here" in BuiltSite(clone / "_site").html("/404.html")
    assert not marker.exists()


def test_a_cache_this_user_wrote_is_used(tmp_path, run):
    site = make_site(tmp_path / "site", site_files())
    first = run("build", site)
    assert first.code == 0 and rendered(first) > 0
    (site / CACHE_DIR / LAST_BUILD_FILE).unlink()  # so the parsed articles and page fingerprints are read
    second = run("build", site)
    assert second.code == 0 and rendered(second) == 0 and NOTE not in first.err + second.err
    key = Path(os.environ["XDG_CACHE_HOME"]) / "site-builder" / "key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_another_users_cache_is_ignored(tmp_path, run, monkeypatch):
    site = make_site(tmp_path / "site", site_files())
    assert run("build", site).code == 0
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-user"))
    theirs = run("build", site)
    assert theirs.code == 0 and rendered(theirs) > 0 and theirs.err.count(NOTE) == 1
    assert titles(site) == TITLES
    (site / CACHE_DIR / LAST_BUILD_FILE).unlink()
    again = run("build", site)
    assert again.code == 0 and rendered(again) == 0 and NOTE not in again.err


def test_without_a_key_the_disk_cache_is_not_used(tmp_path, run, monkeypatch):
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))  # no key can be made under it
    site = make_site(tmp_path / "site", site_files())
    first, second = run("build", site), run("build", site)
    assert first.code == second.code == 0 and rendered(second) == rendered(first) > 0
    assert NOTE not in first.err + second.err and titles(site) == TITLES
    assert not (site / CACHE_DIR / CACHE_FILE).exists()


def test_the_note_about_a_foreign_cache_is_said_once(tmp_path, run, monkeypatch):
    site = make_site(tmp_path / "site", site_files())
    assert run("build", site).code == 0
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-user"))
    first, nothing_to_do = run("build", site), run("build", site)
    assert first.err.count(NOTE) == 1
    assert nothing_to_do.code == 0 and rendered(nothing_to_do) == 0 and NOTE not in nothing_to_do.err


def test_a_cache_folder_that_is_a_link_is_never_written_through(tmp_path, run):
    """A site from elsewhere may carry .cache as a link to any folder: a build writes its
    cache there and deletes files in it, so it builds without a disk cache instead."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "build-state.delta.pickle").write_text("not the cache's")
    site = make_site(tmp_path / "site", site_files())
    (site / CACHE_DIR).symlink_to(elsewhere, target_is_directory=True)
    first, second = run("build", site), run("build", site)
    assert first.code == second.code == 0 and titles(site) == TITLES
    assert sorted(p.name for p in elsewhere.iterdir()) == ["build-state.delta.pickle"]
    assert (elsewhere / "build-state.delta.pickle").read_text() == "not the cache's"


def test_compiled_templates_are_never_left_to_commit(tmp_path, run):
    """A first build that fails while rendering has already compiled templates into the
    cache: the cache's .gitignore is there all the same, so `git add -A` takes none."""
    files = {**site_files(), "templates/404.html": "{% extends 'base.html' %}{% block main %}{{ no_such_value }}{% endblock %}"}
    site = make_site(tmp_path / "site", files)
    result = run("build", site)
    assert result.code == 1 and "404.html" in result.err
    assert any((site / CACHE_DIR / "templates").iterdir())
    assert (site / CACHE_DIR / ".gitignore").read_text() == "*\n"


def test_a_planted_record_is_refused_before_it_is_read(tmp_path):
    """Every record we write is at most signing.RECORD bytes, even for an object pickled
    in one write; a longer one is refused by its length, so a planted file never makes a
    build hold more than one record of it."""
    from site_builder import signing

    key = os.urandom(signing.KEY_BYTES)
    big = {"articles": os.urandom(3 * signing.RECORD + 12345)}
    with open(tmp_path / "ours", "wb") as handle:
        writer = signing.SignedWriter(handle, key, "state")
        pickle.dump(big, writer, protocol=pickle.HIGHEST_PROTOCOL)
        writer.close()
    with open(tmp_path / "ours", "rb") as handle:
        reader = signing.SignedReader(handle, key, "state")
        assert pickle.load(reader) == big
        reader.end()

    size = 64 * signing.RECORD
    with open(tmp_path / "planted", "wb") as handle:
        handle.write(signing.MAGIC + size.to_bytes(8, "big"))
        handle.truncate(len(signing.MAGIC) + 8 + size + signing.TAG)  # sparse: a 64 MiB record
    with open(tmp_path / "planted", "rb") as handle:
        with pytest.raises(signing.Untrusted):
            signing.SignedReader(handle, key, "state").read(1)
        assert handle.tell() == len(signing.MAGIC) + 8  # its payload was never read

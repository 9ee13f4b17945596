"""`site-builder deploy` against real git: a bare repository in a temp folder is the remote."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import IN_CI, article, make_site
from corpus import generate

from site_builder.linkcheck import check_links

PROJECT_URL = "https://user.github.io/repo/"


@pytest.fixture(autouse=True)
def clean_git_env(tmp_path, monkeypatch):
    """No global or system git config, as on a fresh CI machine: no identity either."""
    if shutil.which("git") is None:
        if IN_CI:
            pytest.fail("git is required in CI")
        pytest.skip("git is not installed")
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_DIR"):
        monkeypatch.delenv(name, raising=False)


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=Editor", "-c", "user.email=editor@example.com", *args],
        cwd=cwd, capture_output=True, check=True, input=input,
    )
    return proc.stdout.decode()


@pytest.fixture
def repo(tmp_path):
    """A git-tracked 60-article site (plus a draft and a future story) with a remote."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    site = make_site(
        tmp_path / "src",
        {
            "site.toml": f'title = "Repo News"\nbase_url = "{PROJECT_URL}"\n',
            "content/draft.md": article("Secret draft", url="https://example.com/d", published="false"),
            "content/future.md": article("From the future", url="https://example.com/f", date="2999-01-01"),
        },
    )
    generate(60, 11, site / "content" / "corpus")
    git(site, "init", "-q", "-b", "main")
    git(site, "add", "-A")
    git(site, "commit", "-q", "-m", "Site sources")
    git(site, "remote", "add", "origin", "../remote.git")  # relative, as users often write it
    return site


def published(remote: Path, dest: Path, branch: str = "gh-pages") -> Path:
    """The branch's tree, unpacked into a plain folder."""
    data = subprocess.run(["git", "--git-dir", str(remote), "archive", branch], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def history(remote: Path, branch: str = "gh-pages") -> list[str]:
    return git(remote, "log", "--format=%H %P|%an|%s", branch).splitlines()


def checkout_state(site: Path) -> tuple:
    """Everything deploy must not touch in the source repository."""
    return (
        git(site, "rev-parse", "HEAD"),
        git(site, "symbolic-ref", "HEAD"),
        git(site, "status", "--porcelain", "--untracked-files=all", "--ignored"),
        (site / ".git" / "index").read_bytes(),
        git(site, "for-each-ref", "--format=%(refname)", "refs/heads"),
    )


def test_deploy_publishes_then_adds_to_the_history(repo, run, tmp_path):
    remote = tmp_path / "remote.git"
    before = checkout_state(repo)

    result = run("deploy", repo)
    assert result.code == 0, result.err
    assert "Deployed" in result.out and "origin/gh-pages" in result.out
    site = published(remote, tmp_path / "first")
    assert (site / ".nojekyll").read_bytes() == b""
    assert not (site / "CNAME").exists()
    assert check_links(site, PROJECT_URL) == []
    text = "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html"))
    assert "Repo News" in text and 'href="/repo/topics/"' in text
    assert "Secret draft" not in text and "From the future" not in text  # production build
    assert len(history(remote)) == 1
    assert "|site-builder|" in history(remote)[0]  # works without any git identity
    assert checkout_state(repo) == before

    # An edit and a switch to a custom domain, left uncommitted: deploy publishes the files.
    (repo / "site.toml").write_text(
        'title = "Repo News"\nbase_url = "https://news.example.com/"\ncname = "news.example.com"\n'
    )
    (repo / "content" / "edit.md").write_text(article("A fresh edit", url="https://example.com/e"))
    before = checkout_state(repo)
    result = run("deploy", repo, "-m", "Second edition")
    assert result.code == 0, result.err
    site = published(remote, tmp_path / "second")
    assert (site / "CNAME").read_text() == "news.example.com\n"
    assert (site / ".nojekyll").is_file()
    assert check_links(site, "https://news.example.com/") == []
    assert "A fresh edit" in (site / "index.html").read_text(encoding="utf-8")
    second, first = history(remote)
    assert second.split()[1].startswith(first.split()[0])  # the first deploy is its parent
    assert second.endswith("|Second edition")
    assert checkout_state(repo) == before

    result = run("deploy", repo)
    assert result.code == 0
    assert "Nothing changed" in result.out
    assert len(history(remote)) == 2  # no empty commit


def test_deploy_builds_on_commits_others_pushed(repo, run, tmp_path):
    remote = tmp_path / "remote.git"
    other = tmp_path / "other"
    git(tmp_path, "init", "-q", "-b", "gh-pages", str(other))
    (other / "README.md").write_text("published elsewhere\n")
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", "Someone else's commit")
    git(other, "push", "-q", str(remote), "gh-pages")
    theirs = git(other, "rev-parse", "HEAD").strip()

    assert run("deploy", repo).code == 0
    log = history(remote)
    assert len(log) == 2 and log[1].startswith(theirs)
    site = published(remote, tmp_path / "site")
    assert not (site / "README.md").exists()  # the tree is the build, the history is kept


def test_dry_run_commits_and_pushes_nothing(repo, run, tmp_path):
    before = checkout_state(repo)
    result = run("deploy", repo, "--dry-run")
    assert result.code == 0, result.err
    assert "Dry run: would commit" in result.out and "added" in result.out
    assert git(tmp_path / "remote.git", "for-each-ref") == ""
    assert checkout_state(repo) == before


def test_a_site_larger_than_github_pages_publishes_is_pushed_with_a_warning(repo, run, tmp_path, monkeypatch):
    """GitHub Pages publishes sites of up to 1 GB (about 35,000 stories): the push of a
    larger one succeeds and its Pages build fails, so deploy says so, byte-exact."""
    from site_builder import deploy

    result = run("deploy", repo)
    assert result.code == 0 and "warning" not in result.err
    size = sum(p.stat().st_size for p in published(tmp_path / "remote.git", tmp_path / "site").rglob("*") if p.is_file())
    monkeypatch.setattr(deploy, "PAGES_SIZE_LIMIT", size - 1)
    result = run("deploy", repo)
    assert result.code == 0 and "Nothing changed" in result.out
    assert "warning: the site is" in result.err and "GitHub Pages publishes sites of up to" in result.err
    monkeypatch.setattr(deploy, "PAGES_SIZE_LIMIT", size)
    assert "warning" not in run("deploy", repo, "--dry-run").err


def test_not_a_git_repository(tmp_path, run):
    site = make_site(tmp_path / "site", {"site.toml": f'base_url = "{PROJECT_URL}"\n', "content/a.md": article()})
    result = run("deploy", site)
    assert result.code == 2
    assert "not a git repository" in result.err and "git init" in result.err


def test_no_such_remote(repo, run):
    result = run("deploy", repo, "--remote", "upstream")
    assert result.code == 2
    assert "no git remote named 'upstream'" in result.err and "origin" in result.err


def test_no_base_url_says_what_to_set(repo, run):
    (repo / "site.toml").write_text('title = "x"\n')
    result = run("deploy", repo)
    assert result.code == 2
    assert 'base_url = "https://<user>.github.io/<repo>/"' in result.err and "site.toml" in result.err


def test_offline_or_missing_remote_fails_with_gits_reason(repo, run, tmp_path):
    git(repo, "remote", "set-url", "origin", str(tmp_path / "nowhere.git"))
    result = run("deploy", repo)
    assert result.code == 1
    assert "cannot reach remote 'origin'" in result.err and "nowhere.git" in result.err
    assert "Traceback" not in result.err


def test_rejected_push_publishes_nothing(repo, run, tmp_path):
    remote = tmp_path / "remote.git"
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pages are frozen today' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = checkout_state(repo)
    result = run("deploy", repo)
    assert result.code == 1
    assert "push to 'origin' failed" in result.err and "pages are frozen today" in result.err
    assert git(remote, "for-each-ref") == ""
    assert checkout_state(repo) == before


def test_invalid_articles_are_not_deployed(repo, run, tmp_path):
    (repo / "content" / "bad.md").write_text("---\ntitle: no url\n---\n")
    result = run("deploy", repo)
    assert result.code == 1
    assert "content/bad.md:1: error" in result.err and "not deployed" in result.err
    assert git(tmp_path / "remote.git", "for-each-ref") == ""


def test_bad_branch_name(repo, run):
    result = run("deploy", repo, "--branch", "no good")
    assert result.code == 2
    assert "not a valid git branch name" in result.err


def test_deploy_breaks_the_site_down_by_kind_of_page_and_warns_past_the_budget(repo, run, tmp_path, monkeypatch):
    from site_builder import sizes

    result = run("deploy", repo)
    assert result.code == 0, result.err
    site = published(tmp_path / "remote.git", tmp_path / "site")
    files = [p for p in site.rglob("*") if p.is_file()]
    rows = dict(re.findall(r"^\s+(story pages|listings|feeds|search index|images|other)\s.*?([\d,]+) files$", result.out, re.M))
    assert set(rows) == set(sizes.KINDS), result.out
    assert sum(int(n.replace(",", "")) for n in rows.values()) == len(files)  # the kinds cover the published tree
    assert int(rows["story pages"]) == len([p for p in files if re.fullmatch(r"\d{4}/\d\d/\d\d/[^/]+/index\.html", p.relative_to(site).as_posix())])
    assert int(rows["images"]) == 0 and "size_budget_mb" not in result.err

    monkeypatch.setattr(sizes, "WARN_AT", 0.0001)  # 100 KB of the default 1000 MB budget
    result = run("deploy", repo, "--dry-run")
    warning = [line for line in result.err.splitlines() if "size_budget_mb" in line]
    assert result.code == 0 and len(warning) == 1 and "search = false" in warning[0]
    assert 'images = "remote"' not in warning[0]  # already remote: not a way to shrink this site

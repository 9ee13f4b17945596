"""DEPLOY: publish a fresh production build as a new commit on a branch (GitHub Pages).

Git plumbing, no porcelain that touches the user's checkout: the built files are added
to a temporary index (GIT_INDEX_FILE) with the build folder as the work tree, the tree
is committed with `commit-tree` on top of the fetched remote branch, and that commit is
pushed without force. So the source branch, HEAD, index and working tree are never
touched, the remote's history is only ever extended, and nothing is published unless
every step before the push succeeded. Every git call is an argument list, never a shell.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .builder import BuildOptions, Builder, CacheMode
from .config import CONFIG_FILE, ConfigError, load_config
from .report import BuildReport
from .sizes import breakdown, budget_warning, page_kinds
from .writer import MANIFEST

FALLBACK_NAME, FALLBACK_EMAIL = "site-builder", "site-builder@users.noreply.github.com"
# GitHub Pages publishes sites of at most 1 GB: the push of a larger one succeeds, and
# then its Pages build fails. With the default theme that is about 35,000 stories
# (docs/deploy.md).
PAGES_SIZE_LIMIT = 1_000_000_000


_LOCATION_VARIABLES = {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX"}


class DeployError(Exception):
    """Git failed at the remote (offline, rejected push); the message carries git's reason."""


@dataclass(frozen=True)
class DeployOptions:
    site_dir: Path
    remote: str = "origin"
    branch: str = "gh-pages"
    message: str | None = None
    dry_run: bool = False


@dataclass
class DeployReport:
    build: BuildReport
    target: str  # "origin/gh-pages"
    files: int = 0
    changes: dict[str, int] = field(default_factory=dict)  # "added"/"modified"/"deleted" -> count
    commit: str | None = None  # the new commit, when one was made
    size: int = 0  # bytes of the site as committed
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # by kind of page (sizes.py)
    budget: str | None = None  # the size_budget_mb warning, if past it

    @property
    def changed(self) -> bool:
        return any(self.changes.values())

    def warnings(self) -> list[str]:
        budget = [self.budget] if self.budget else []
        if self.size <= PAGES_SIZE_LIMIT:
            return budget
        return budget + [
            f"the site is {self.size / 1e9:.2f} GB: GitHub Pages publishes sites of up to "
            f"{PAGES_SIZE_LIMIT / 1e9:.0f} GB, so it will not publish this one (another host can)"
        ]


def deploy(options: DeployOptions) -> DeployReport:
    """Raises ConfigError for what the user must set up, DeployError for git failures.
    A build with invalid articles is reported and not deployed (commit stays None)."""
    if not options.site_dir.is_dir():
        raise ConfigError(f"{options.site_dir}: no such folder")
    config = load_config(options.site_dir)
    if not config.base_url:
        raise ConfigError(
            f"{options.site_dir / CONFIG_FILE}: set base_url to where the site is published, "
            f'e.g. base_url = "https://<user>.github.io/<repo>/" (or your custom domain)'
        )
    git = Git(options.site_dir)
    git.require_remote(options.remote, options.branch)
    git.refuse_source_branch(options.remote, options.branch)
    target = f"{options.remote}/{options.branch}"
    parent = git.fetch_branch(options.remote, options.branch)

    with tempfile.TemporaryDirectory(prefix="site-builder-deploy-") as tmp:
        out = Path(tmp) / "site"
        # Fresh (an empty folder outside the repository, no cache: nothing stale, nothing
        # written into the checkout) and for production.
        production = BuildOptions(options.site_dir, out, drafts=False, future=False)
        builder = Builder(production, cache=CacheMode.OFF)
        report = DeployReport(builder.build(), target)
        if report.build.errors:
            return report
        # Only the branch route needs these two, so deploy adds them rather than every build:
        # Actions publishes the artifact without Jekyll and keeps the domain in the settings.
        (out / MANIFEST).unlink()  # the build's record for the next build into the folder: not the site
        (out / ".nojekyll").write_bytes(b"")  # serve the files as they are, no Jekyll
        if config.cname:
            (out / "CNAME").write_text(config.cname + "\n", encoding="ascii")
        report.sizes = breakdown(out, page_kinds(builder.plan))
        report.budget = budget_warning(sum(size for _, size in report.sizes.values()), config, report.sizes)
        tree = git.tree_of(out, Path(tmp) / "index")
    report.files, report.size = git.files_and_bytes(tree)
    report.changes = git.changes(parent, tree, report.files)
    if not report.changed or options.dry_run:
        return report
    message = options.message or git.default_message()
    commit = git.run("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message).strip()
    git.push(options.remote, commit, options.branch)
    report.commit = commit
    return report


class Git:
    """The repository holding the site, driven through git's command line."""

    def __init__(self, site_dir: Path):
        # Variables that would point git at another repository or index (set inside hooks).
        self.env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARIABLES}
        probe = self._call(["-C", str(site_dir), "rev-parse", "--absolute-git-dir"])
        if probe.returncode != 0:
            raise ConfigError(
                f"{site_dir}: not a git repository; deploy publishes to a branch of the site's "
                f"repository: run `git init` and `git remote add origin <url>` first"
            )
        self.git_dir = probe.stdout.strip()
        # git reads relative remote URLs ("../pages.git") from the top of the work tree.
        top = self._call(["-C", str(site_dir), "rev-parse", "--show-toplevel"])
        self.cwd = top.stdout.strip() if top.returncode == 0 else str(site_dir)
        self.env |= self._identity()

    def _identity(self) -> dict[str, str]:
        """The user's git identity when they have one, else a site-builder one, so deploy
        works on a fresh CI machine without `git config --global user.name`."""
        env: dict[str, str] = {}
        for key, fallback, role in (("name", FALLBACK_NAME, "NAME"), ("email", FALLBACK_EMAIL, "EMAIL")):
            configured = self.attempt("config", f"user.{key}").stdout.strip()
            for who in ("AUTHOR", "COMMITTER"):
                env[f"GIT_{who}_{role}"] = os.environ.get(f"GIT_{who}_{role}") or configured or fallback
        return env

    def _call(self, args: list[str], env: dict | None = None, cwd: str | None = None) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(
                ["git", *args], capture_output=True, text=True, env=env or self.env, cwd=cwd, check=False
            )
        except FileNotFoundError:
            raise ConfigError("git is not installed or not on PATH; deploy needs it") from None

    def attempt(self, *args: str, env: dict | None = None, cwd: str | None = None) -> subprocess.CompletedProcess:
        return self._call(["--git-dir", self.git_dir, *args], env, cwd or self.cwd)

    def run(self, *args: str, env: dict | None = None, cwd: str | None = None) -> str:
        proc = self.attempt(*args, env=env, cwd=cwd)
        if proc.returncode != 0:
            raise DeployError(f"git {args[0]} failed: {_reason(proc.stderr)}")
        return proc.stdout

    def require_remote(self, remote: str, branch: str) -> None:
        if self._call(["check-ref-format", "--branch", branch]).returncode != 0:
            raise ConfigError(f"--branch {branch!r} is not a valid git branch name")
        if self.attempt("remote", "get-url", remote).returncode != 0:
            known = self.run("remote").split()
            have = f"this repository has: {', '.join(known)}" if known else "this repository has none"
            raise ConfigError(
                f"no git remote named '{remote}' ({have}); add it with "
                f"`git remote add {remote} <url>` or choose one with --remote"
            )

    def refuse_source_branch(self, remote: str, branch: str) -> None:
        """The site's own branch (the one checked out, or the remote branch it tracks) is
        never the target: the push would put the built site over its sources."""
        current = self.attempt("symbolic-ref", "--quiet", "--short", "HEAD").stdout.strip()
        upstream = self.attempt("rev-parse", "--quiet", "--abbrev-ref", "--symbolic-full-name", "@{upstream}").stdout.strip()
        if branch == current or f"{remote}/{branch}" == upstream:
            raise ConfigError(
                f"refusing to deploy to --branch {branch}: it holds the site's sources (the branch "
                f"checked out here is {current}{f', tracking {upstream}' if upstream else ''}); deploying "
                f"would replace them with the built site; choose another branch, such as gh-pages (the default)"
            )

    def fetch_branch(self, remote: str, branch: str) -> str | None:
        """The remote branch's newest commit (fetched), or None when the branch is new."""
        ref = f"refs/heads/{branch}"
        listed = self.attempt("ls-remote", "--exit-code", "--heads", remote, ref)
        if listed.returncode == 2:  # reachable, but no such branch yet
            return None
        if listed.returncode != 0:
            raise DeployError(f"cannot reach remote '{remote}': {_reason(listed.stderr)}")
        tracking = f"refs/remotes/{remote}/{branch}"
        self.run("fetch", "--quiet", "--no-tags", remote, f"+{ref}:{tracking}")
        return self.run("rev-parse", "--verify", f"{tracking}^{{commit}}").strip()

    def tree_of(self, folder: Path, index: Path) -> str:
        """Write every file below `folder` (ignore rules and line-ending filters off) as a tree."""
        env = {**self.env, "GIT_INDEX_FILE": str(index)}
        plain = ["-c", "core.autocrlf=false", "-c", "core.fsmonitor=false", "--work-tree", str(folder)]
        self.run(*plain, "add", "--all", "--force", ".", env=env, cwd=str(folder))
        return self.run("write-tree", env=env).strip()

    def changes(self, parent: str | None, tree: str, files: int) -> dict[str, int]:
        """files: how many the tree holds (all of them new, on a first deploy)."""
        if parent is None:
            return {"added": files}
        status = self.run("diff-tree", "-r", "--no-renames", "--name-status", "-z", parent, tree)
        letters = status.split("\0")[0::2][: status.count("\0") // 2]  # -z alternates status and path
        added, deleted = letters.count("A"), letters.count("D")
        counts = {"added": added, "modified": len(letters) - added - deleted, "deleted": deleted}
        return {name: n for name, n in counts.items() if n}

    def files_and_bytes(self, tree: str) -> tuple[int, int]:
        """How many files the tree holds, and their bytes: "<mode> <type> <object> <size>\t<path>"."""
        records = self.run("ls-tree", "-r", "-z", "--long", tree).split("\0")[:-1]
        return len(records), sum(int(record.split("\t", 1)[0].split()[3]) for record in records)

    def default_message(self) -> str:
        head = self.attempt("rev-parse", "--short", "--verify", "-q", "HEAD")
        source = f" from {head.stdout.strip()}" if head.returncode == 0 else ""
        return f"Deploy site{source} with site-builder"

    def push(self, remote: str, commit: str, branch: str) -> None:
        # No force: if someone else pushed meanwhile, the push is refused, never overwritten.
        proc = self.attempt("push", "--quiet", remote, f"{commit}:refs/heads/{branch}")
        if proc.returncode != 0:
            raise DeployError(f"push to '{remote}' failed, nothing was published: {_reason(proc.stderr)}")


def _reason(stderr: str) -> str:
    """git's own explanation: its error/fatal lines, else its last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    important = [line for line in lines if line.startswith(("fatal:", "error:", "!", "remote:"))]
    return " ".join(important or lines[-1:]) or "no reason given"

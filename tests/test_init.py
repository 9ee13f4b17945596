"""`site-builder init`: a site that checks and builds, and a Pages workflow that parses."""

from __future__ import annotations

import yaml
from conftest import BuiltSite

from site_builder.linkcheck import check_links
from site_builder.scaffold import WORKFLOW_PATH

PAGES_ACTIONS = {"actions/configure-pages", "actions/upload-pages-artifact", "actions/deploy-pages"}


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
    assert workflow["permissions"]["pages"] == "write" and workflow["permissions"]["id-token"] == "write"

    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    used = {step["uses"].split("@")[0] for step in steps if "uses" in step}
    assert PAGES_ACTIONS <= used
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

"""A site's own templates run sandboxed: an attempt to reach Python's internals (and
through them the machine) fails the build, naming the template file and line, nothing
of that build is published, and the attempt's side effect never happens. They are
read only from the files the template listing holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import article, make_site, tree_bytes

ESCAPES = {
    "lipsum's globals": "{{ lipsum.__globals__['os'].system('touch MARKER') }}",
    "cycler's module": "{{ cycler.__init__.__globals__.os.system('touch MARKER') }}",
    "a string's class tree": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "a format string": "{{ '{0.__init__.__globals__[os]}'.format(cycler) }}",
}
# The escape goes on line 3 of an override of the theme's base or card template.
OVERRIDES = {
    "base.html": "<!doctype html>\n<title>{{ site.title }}</title>\n{escape}\n{% block main %}{% endblock %}\n",
    "partials/card.html": (
        "{% macro card(entry, heading='h2', compact=False, link_title=True) %}\n"
        "<article>{{ entry.article.title }}</article>\n{escape}\n{% endmacro %}\n"
    ),
}


@pytest.fixture
def site(tmp_path) -> Path:
    return make_site(tmp_path / "site", {
        "content/a.md": article("First story", "https://example.com/a"),
        "content/b.md": article("Second story", "https://example.com/b", "2024-05-15T09:30:00Z"),
    })


@pytest.mark.parametrize("template", OVERRIDES)
@pytest.mark.parametrize("escape", ESCAPES)
def test_an_escape_from_the_sandbox_fails_the_build_naming_template_and_line(site, run, template, escape, monkeypatch):
    marker = site.parent / "MARKER"
    monkeypatch.chdir(site.parent)  # where `touch MARKER` would write, had it run
    assert run("build", site).code == 0
    before = tree_bytes(site / "_site")
    listing = sorted(p.name for p in site.parent.iterdir())

    make_site(site, {f"templates/{template}": OVERRIDES[template].replace("{escape}", ESCAPES[escape])})
    result = run("build", site)
    assert result.code == 1
    assert f"{site / 'templates' / template}:3: template error" in result.err
    assert "unsafe" in result.err and "Traceback" not in result.err
    assert not marker.exists()
    assert tree_bytes(site / "_site") == before  # the previous site kept
    assert sorted(p.name for p in site.parent.iterdir()) == listing  # nothing written beside it


def test_a_template_cannot_include_a_file_behind_a_linked_folder(site, run):
    """templates/repo -> ../.git: the listing never enters a linked folder, so neither
    does the loader (Jinja's FileSystemLoader would, and publish the token in .git/config)."""
    secret = "extraheader = AUTHORIZATION: basic c2VjcmV0"
    make_site(site, {
        ".git/config": f"[http]\n\t{secret}\n",
        "templates/404.html": "{% extends 'base.html' %}{% block main %}{% include 'repo/config' %}{% endblock %}",
    })
    os.symlink("../.git", site / "templates/repo")
    result = run("build", site)
    assert result.code == 1 and "template not found: repo/config" in result.err
    assert not (site / "_site").exists() and secret not in result.out + result.err

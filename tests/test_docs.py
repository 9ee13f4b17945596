"""The docs keep up with the code: every site.toml setting and every template file of the
default theme is documented, the documented defaults and error messages are the real
ones, and every relative link in the README and docs/ leads to a file (and heading) that
exists."""

from __future__ import annotations

import re
import tomllib
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from site_builder.config import ConfigError, SiteConfig, from_mapping, load_config
from site_builder.inputs import is_ignored_name

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
TYPE_WORDS = {"string": str, "integer": int, "boolean": bool, "array of tables": tuple}


def _without_code_blocks(text: str) -> str:
    """The text with fenced code blocks blanked (their lines kept, so nothing shifts)."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            out.append("")
            continue
        out.append("" if fenced else line)
    return "\n".join(out)


def _section(path: Path, heading: str) -> str:
    """The text under a `## heading`, up to the next heading of that level or higher."""
    text = _without_code_blocks(path.read_text(encoding="utf-8"))
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^#{{1,2}} |\Z)", text, re.M | re.S)
    assert match, f"{path.relative_to(REPO)} has no '## {heading}' section"
    return match.group(1)


def _table_rows(text: str) -> list[list[str]]:
    """The body rows of the Markdown tables in `text`, as lists of cells (`\\|` is a pipe)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|") or re.fullmatch(r"\|[\s:|-]+\|", line):
            continue
        cells = [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line[1:-1])]
        rows.append(cells)
    return [row for row in rows if row[0] not in ("key", "file", "field")]  # header rows


def _code(cell: str) -> str | None:
    match = re.fullmatch(r"`([^`]+)`", cell)
    return match.group(1) if match else None


# -- site.toml ---------------------------------------------------------------------------

def _settings_table() -> dict[str, list[str]]:
    rows = _table_rows(_section(DOCS / "configuration.md", "site.toml"))
    return {_code(row[0]): row for row in rows if _code(row[0])}


def _setting_keys() -> list[str]:
    # site.toml keys are SiteConfig's field names (config.from_mapping passes them to
    # the dataclass as they are); a key under another name would fail here.
    keys = [f.name for f in fields(SiteConfig)]
    from_mapping({key: getattr(SiteConfig(), key) for key in keys})
    return keys


def test_every_setting_is_documented_with_its_type_and_default():
    table = _settings_table()
    missing = [key for key in _setting_keys() if key not in table]
    assert not missing, f"docs/configuration.md does not document these site.toml keys: {missing}"
    stale = sorted(set(table) - set(_setting_keys()))
    assert not stale, f"docs/configuration.md documents keys site.toml does not have: {stale}"
    for field in fields(SiteConfig):
        _, type_word, default, *_ = table[field.name]
        assert field.default is not MISSING
        assert TYPE_WORDS.get(type_word) is type(field.default), f"{field.name}: documented as {type_word!r}"
        documented = tomllib.loads(f"value = {_code(default)}")["value"]
        documented = tuple(documented) if isinstance(documented, list) else documented  # [[sources]]
        assert documented == field.default, f"{field.name}: documented default {default}, real {field.default!r}"


def _invalid_rows() -> list[list[str]]:
    return _table_rows(_section(DOCS / "configuration.md", "What an invalid setting says"))


def test_every_setting_has_its_invalid_value_documented():
    documented = {_code(row[0]) for row in _invalid_rows()}
    missing = [key for key in _setting_keys() if key not in documented]
    assert not missing, f"docs/configuration.md does not say what an invalid value of these keys says: {missing}"


@pytest.mark.parametrize("row", _invalid_rows(), ids=lambda row: _code(row[1]) or row[1])
def test_documented_setting_errors_are_the_real_messages(row, tmp_path, monkeypatch):
    _, value, message = row
    monkeypatch.chdir(tmp_path)
    Path("site.toml").write_text(_code(value.split(" (")[0]) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(Path("."))
    expected, actual = _code(message), str(raised.value)
    if "not valid TOML: " in expected:  # what follows is tomllib's wording, which Python versions may change
        expected, actual = (text.split("not valid TOML: ")[0] for text in (expected, actual))
    assert actual == expected


# -- templates ---------------------------------------------------------------------------

def _template_files() -> list[str]:
    root = REPO / "templates"
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and not any(is_ignored_name(part) for part in path.relative_to(root).parts)
    )


def test_every_template_file_is_documented():
    documented = {_code(row[0]) for row in _table_rows(_section(DOCS / "themes.md", "The template files"))}
    files = _template_files()
    assert "partials/card.html" in files
    missing = [rel for rel in files if rel not in documented]
    assert not missing, f"docs/themes.md ('The template files') does not document: {missing}"
    stale = sorted(documented - set(files) - {None})
    assert not stale, f"docs/themes.md documents template files the theme does not have: {stale}"


# -- links -------------------------------------------------------------------------------

DOC_FILES = [REPO / "README.md", REPO / "bench" / "README.md", *sorted(DOCS.glob("*.md"))]
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file."""
    anchors: set[str] = set()
    for line in _without_code_blocks(path.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1))
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        anchor, n = slug, 0
        while anchor in anchors:
            n += 1
            anchor = f"{slug}-{n}"
        anchors.add(anchor)
    return anchors


def test_doc_files_exist():
    names = {path.name for path in DOC_FILES}
    expected = {"README.md", "guide.md", "configuration.md", "themes.md", "deploy.md", "architecture.md", "performance.md"}
    assert expected <= names


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda path: path.relative_to(REPO).as_posix())
def test_relative_links_lead_to_files_and_headings_that_exist(doc):
    broken = []
    text = re.sub(r"`[^`\n]*`", "", _without_code_blocks(doc.read_text(encoding="utf-8")))  # code spans
    for target in _LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):
            continue  # https:, mailto: ...
        file_part, _, fragment = target.partition("#")
        base = REPO if file_part.startswith("/") else doc.parent  # GitHub resolves "/x" from the repository
        linked = (base / file_part.lstrip("/")).resolve() if file_part else doc
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif fragment and linked.suffix == ".md" and fragment not in _anchors(linked):
            broken.append(f"{target}: no heading #{fragment} in {linked.relative_to(REPO)}")
    assert not broken, f"{doc.relative_to(REPO)}: broken links: {broken}"

"""record_edit: surgical front-matter edits, tested both ways: each test checks the byte
diff (only the edited keys' lines change) AND the values the project's own reader
(content.parse_article) reads back from the new file."""

from __future__ import annotations

import difflib
import os
import re
import stat
from datetime import timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import EXAMPLE_RECORD, article, make_site
from site_builder import record_edit
from site_builder.content import parse_article
from site_builder.record_edit import Edit, EditConflict, EditError, digest, edit_record, editable, restore_record


def read_back(path: Path):
    result = parse_article(path.read_bytes(), str(path), timezone.utc)
    assert result.article is not None, result.problems
    return result.article


def changed_lines(before: bytes, after: bytes) -> list[tuple[str, str, str]]:
    """(tag, old lines, new lines) of each difference, lines with their ends."""
    old, new = before.decode().splitlines(True), after.decode().splitlines(True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [(tag, "".join(old[i1:i2]), "".join(new[j1:j2]))
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


@pytest.fixture(params=["libyaml", "pure Python"])
def composer(request, monkeypatch):
    """Edits come out the same whichever parser gives the marks."""
    if request.param == "pure Python":
        monkeypatch.setattr(record_edit, "_COMPOSER", yaml.SafeLoader)
    return request.param


@pytest.fixture
def record(tmp_path) -> Path:
    site = make_site(tmp_path / "site", {"content/000_e3a5008296bfb040.txt": EXAMPLE_RECORD.read_bytes()})
    return site / "content" / "000_e3a5008296bfb040.txt"


def test_publishing_the_sample_record_changes_exactly_one_line(record):
    before = record.read_bytes()
    assert read_back(record).draft
    edited = edit_record(record, Edit(published=True), expected=digest(before))
    assert edited.before == before and edited.after == record.read_bytes()
    diff = list(difflib.unified_diff(before.decode().splitlines(), edited.after.decode().splitlines(), n=0, lineterm=""))
    assert diff[2:] == ["@@ -12 +12 @@", "-published: false", "+published: true"]
    story = read_back(record)
    assert not story.draft and not story.rejected
    assert story.title.startswith("Leading Law Enforcement") and story.topics == ("Computer Vision", "AI")


def test_rejecting_adds_one_line_after_published(record):
    before = record.read_bytes()
    edited = edit_record(record, Edit(published=False, rejected=True))
    assert changed_lines(before, edited.after) == [("insert", "", "rejected: true\n")]
    lines = edited.after.decode().splitlines()
    assert lines[lines.index("published: false") + 1] == "rejected: true"
    story = read_back(record)
    assert story.rejected and story.draft
    # undone by publishing: both lines change, nothing else
    again = edit_record(record, Edit(published=True, rejected=False))
    assert changed_lines(edited.after, again.after) == [
        ("replace", "published: false\nrejected: true\n", "published: true\nrejected: false\n")]
    assert not read_back(record).rejected and not read_back(record).draft


def test_an_edit_that_changes_nothing_writes_nothing(record):
    info = os.stat(record)
    state = editable(record)
    edited = edit_record(record, Edit(published=False, rejected=False, title=state["title"], excerpt=state["excerpt"],
                                      topics=tuple(state["topics"]), note=state["note"]))
    assert edited.after == edited.before
    assert os.stat(record).st_ino == info.st_ino and os.stat(record).st_mtime_ns == info.st_mtime_ns
    restore_record(edited)  # nothing to undo
    assert record.read_bytes() == edited.before


def test_editable_gives_what_a_form_shows(record):
    state = editable(record)
    assert state == {
        "title": "Leading Law Enforcement Facial Recognition Provider Clearview AI Faces Joint International Privacy Investigation",
        "excerpt": read_back(record).excerpt, "topics": ["Computer Vision", "AI"], "note": "",
        "published": False, "rejected": False, "digest": digest(record.read_bytes()),
    }


def test_title_excerpt_topics_and_note_change_only_their_lines(record, composer):
    before = record.read_bytes()
    edited = edit_record(record, Edit(title="Clearview AI faces a joint inquiry", excerpt="UK and Australia: scraping.",
                                      topics=("AI", "Privacy", "no"), note="Worth a *read*.\n\nSee [AI](/topics/ai/)."))
    assert changed_lines(before, edited.after) == [
        ("replace",
         'title: "Leading Law Enforcement Facial Recognition Provider Clearview AI Faces Joint International Privacy Investigation"\n'
         'excerpt: "Facial recognition provider Clearview AI is facing a joint privacy investigation by the U.K. and '
         'Australia that centers on the scraping of social media platforms for available images."\n',
         'title: "Clearview AI faces a joint inquiry"\nexcerpt: "UK and Australia: scraping."\n'),
        ("delete", "  - Computer Vision\n", ""),  # a block list stays one
        ("insert", "", '  - Privacy\n  - "no"\n'),
        ("insert", "", "Worth a *read*.\n\nSee [AI](/topics/ai/).\n"),
    ]
    story = read_back(record)
    assert (story.title, story.excerpt, story.topics) == ("Clearview AI faces a joint inquiry", "UK and Australia: scraping.",
                                                          ("AI", "Privacy", "no"))
    assert "<em>read</em>" in story.body_html
    assert editable(record)["note"] == "Worth a *read*.\n\nSee [AI](/topics/ai/).\n"


NASTY = [
    "Why: a story", "#1 in charts", "C# 13 # new", "- leading dash", "? question", "'quoted'", '"double"', "it's",
    "true", "false", "no", "yes", "null", "~", "2024", "0o17", "1e3", "10:00", "2024-05-14", "café 北京 🚀",
    "back\\slash", "line one\nline two", "tab\there", "[not a list]", "{not: a map}", "& anchor", "* alias",
    "! tag", "| pipe", "> fold", "% directive", "@at", "`tick`", "ends with colon:", "a,b", "\u202eevil\u202c",
    "para\u2029sep", "zero\u200bwidth", "bom\ufeffinside", "nel\x85here",
]


@pytest.mark.parametrize("title", NASTY)
@pytest.mark.parametrize("quoting", ["plain", "double", "single"])
def test_nasty_titles_round_trip_on_their_one_line(tmp_path, title, quoting, composer):
    old = {"plain": "title: Plain title", "double": 'title: "Double title"', "single": "title: 'Single title'"}[quoting]
    text = f"---\n# a comment\n{old}  # trailing comment\nwebUrl: https://example.com/x\npublishedDateTime: 2024-05-14\n---\nBody\n"
    path = make_site(tmp_path, {"content/a.md": text}) / "content" / "a.md"
    edited = edit_record(path, Edit(title=title, topics=(title.replace("\n", " "),)))
    [(tag, gone, new), (tag2, _, topics_line)] = changed_lines(text.encode(), edited.after)
    assert (tag, gone, tag2) == ("replace", f"{old}  # trailing comment\n", "insert")
    assert new.startswith("title: ") and new.endswith("  # trailing comment\n") and new.count("\n") == 1
    if quoting == "double":
        assert new.startswith('title: "')
    if quoting == "plain" and title in ("Why: a story", "true", "2024", "10:00", "no"):
        assert new.startswith('title: "')  # quoted where plain would read back as something else
    if title == "café 北京 🚀":  # Unicode needs no quotes, nor escapes
        quote = {"plain": "", "double": '"', "single": "'"}[quoting]
        assert new == f"title: {quote}{title}{quote}  # trailing comment\n"
    assert topics_line.startswith("topics: [") and topics_line.count("\n") == 1
    story = read_back(path)
    assert story.title == title and story.topics == (" ".join(title.split()),)
    assert story.body_html == "<p>Body</p>"


def test_styles_are_kept(tmp_path, composer):
    text = ("---\r\n"
            "title: 'Single'\r\n"
            "webUrl: https://example.com/x\r\n"
            "publishedDateTime: 2024-05-14\r\n"
            "topics:\r\n"
            "- indentless\r\n"
            "- list\r\n"
            "excerpt: >\r\n"
            "  folded over\r\n"
            "  two lines\r\n"
            "\r\n"
            "published:\r\n"
            "---\r\n"
            "Body\r\n")
    path = make_site(tmp_path, {"content/a.md": text.encode()}) / "content" / "a.md"
    edited = edit_record(path, Edit(title="It's new", topics=("A", "B: c"), excerpt="One line", published=True,
                                    rejected=True, note="New\nnote"))
    assert b"\n" not in edited.after.replace(b"\r\n", b"")  # a CRLF file stays CRLF
    assert changed_lines(text.encode(), edited.after) == [
        ("replace", "title: 'Single'\r\n", "title: 'It''s new'\r\n"),
        ("replace", "- indentless\r\n- list\r\nexcerpt: >\r\n  folded over\r\n  two lines\r\n",
         '- A\r\n- "B: c"\r\nexcerpt: One line\r\n'),
        ("replace", "published:\r\n", "published: true\r\nrejected: true\r\n"),
        ("replace", "Body\r\n", "New\r\nnote\r\n"),
    ]
    story = read_back(path)
    assert (story.title, story.topics, story.excerpt, story.draft, story.rejected) == (
        "It's new", ("A", "B: c"), "One line", False, True)
    assert story.body_html == "<p>New\nnote</p>"


def test_flow_lists_stay_flow_and_missing_keys_are_added_at_the_end(tmp_path, composer):
    text = "\ufeff---\ntitle: T\nwebUrl: https://example.com/x\npublishedDateTime: 2024-05-14\ntags: [a, b]\n---\n"
    path = make_site(tmp_path, {"content/a.md": text}) / "content" / "a.md"
    unchanged = edit_record(path, Edit(topics=(), excerpt="", published=True, rejected=False))  # what missing keys mean
    assert unchanged.after == unchanged.before == text.encode()
    edited = edit_record(path, Edit(topics=("x", "y, z"), excerpt="New", published=False))
    assert edited.after.startswith(b"\xef\xbb\xbf---\n")  # the byte-order mark is kept
    assert changed_lines(text.encode(), edited.after) == [
        ("insert", "", 'published: false\nexcerpt: New\ntopics: [x, "y, z"]\n')]
    again = edit_record(path, Edit(topics=("only",)))
    assert changed_lines(edited.after, again.after) == [("replace", 'topics: [x, "y, z"]\n', "topics: [only]\n")]
    emptied = edit_record(path, Edit(topics=()))
    assert changed_lines(again.after, emptied.after) == [("replace", "topics: [only]\n", "topics: []\n")]
    story = read_back(path)
    assert story.topics == () and story.excerpt == "New" and story.draft
    quoted = edit_record(path, Edit(excerpt=""))
    assert changed_lines(emptied.after, quoted.after) == [("replace", "excerpt: New\n", 'excerpt: ""\n')]
    filled = edit_record(path, Edit(excerpt="Back"))  # an empty double-quoted value stays double-quoted
    assert changed_lines(quoted.after, filled.after) == [("replace", 'excerpt: ""\n', 'excerpt: "Back"\n')]
    assert read_back(path).excerpt == "Back"


def test_a_block_list_emptied_becomes_an_empty_flow_list(record):
    before = record.read_bytes()
    edited = edit_record(record, Edit(topics=()))
    assert changed_lines(before, edited.after) == [("replace", "topics:\n  - Computer Vision\n  - AI\n", "topics: []\n")]
    assert read_back(record).topics == ()


@pytest.mark.parametrize("text, line, message", [
    ("title: T\n", 1, "no front matter"),
    ("---\ntitle: [unclosed\n---\n", 2, "invalid YAML"),
    ("---\n- a list\n---\n", 2, "must be a list of 'field: value' lines"),
    ("---\ntitle: A\ntitle: B\n---\n", 3, "'title' is given twice (first on line 2)"),
    ("---\n{title: A, webUrl: 'https://e.com/'}\n---\n", None, "must be 'field: value' lines to be edited"),
])
def test_records_that_cannot_be_edited_are_refused_untouched(tmp_path, text, line, message):
    path = make_site(tmp_path, {"content/bad.md": text}) / "content" / "bad.md"
    with pytest.raises(EditError) as caught:
        edit_record(path, Edit(published=True))
    where = f"{path}:{line}: " if line else f"{path}: "
    assert str(caught.value).startswith(where) and message in str(caught.value)
    assert path.read_text() == text


@pytest.mark.parametrize("edit, message", [
    (Edit(title="   "), "the title cannot be empty"),
    (Edit(title="bell\x07"), "control character"),
    (Edit(excerpt="x" * 5_001), "at most 5,000"),
    (Edit(topics=tuple(f"t{n}" for n in range(31))), "at most 30"),
    (Edit(note="lone \ud800"), "not valid text"),
])
def test_values_the_reader_would_change_are_refused(record, edit, message):
    before = record.read_bytes()
    with pytest.raises(EditError, match=message):
        edit_record(record, edit)
    assert record.read_bytes() == before


def test_an_edit_that_would_not_read_back_is_refused(record, monkeypatch):
    """The safety net: were the writer to emit `title: true` unquoted, the reader would
    see a boolean; the edit is refused and the file left alone."""
    monkeypatch.setattr(record_edit, "plain_or_none", lambda value, flow=False: value)
    text = record.read_text().replace('title: "Leading', "title: Leading").replace('Investigation"\n', "Investigation\n", 1)
    record.write_text(text)
    with pytest.raises(EditError, match="would not read back|would make the record invalid"):
        edit_record(record, Edit(title="true"))
    assert record.read_text() == text


def test_a_file_changed_since_it_was_read_is_refused(record):
    shown = digest(record.read_bytes())
    record.write_bytes(record.read_bytes() + b"An edit in the editor.\n")
    changed = record.read_bytes()
    with pytest.raises(EditConflict, match="changed since it was shown"):
        edit_record(record, Edit(published=True), expected=shown)
    assert record.read_bytes() == changed


def test_undo_restores_the_bytes_unless_the_file_changed_again(record):
    before = record.read_bytes()
    edited = edit_record(record, Edit(published=True, title="New"))
    restore_record(edited)
    assert record.read_bytes() == before
    edited = edit_record(record, Edit(published=True))
    record.write_bytes(edited.after.replace(b"heat: -1", b"heat: 7"))
    with pytest.raises(EditConflict, match="not undone"):
        restore_record(edited)
    assert b"heat: 7" in record.read_bytes() and b"published: true" in record.read_bytes()


def test_writes_are_atomic_and_keep_the_mode(record):
    os.chmod(record, 0o640)
    inode = os.stat(record).st_ino
    edit_record(record, Edit(published=True))
    assert stat.S_IMODE(os.stat(record).st_mode) == 0o640
    assert os.stat(record).st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in record.parent.iterdir()) == [record.name]  # no temporary file left


def test_only_plain_files_in_the_sites_content_folder_are_edited(tmp_path):
    site = make_site(tmp_path / "site", {
        "content/a.md": article("A"), "content/.hidden/b.md": article("B"), "notes.md": article("C"),
        "content/c.toml": article("D"),
    })
    outside = tmp_path / "outside"
    make_site(outside, {"content/x.md": article("X")})
    (site / "content" / "link.md").symlink_to(site / "content" / "a.md")
    (site / "content" / "linked").symlink_to(outside / "content")
    cases = {
        site / "notes.md": "outside the site's content/ folder",
        site / "content" / ".hidden" / "b.md": "hidden",
        site / "content" / "c.toml": "not an article file",
        site / "content" / "link.md": "is a link",
        site / "content" / "linked" / "x.md": "reached through a linked folder",
        site / "content" / ".." / "notes.md": "outside the site's content/ folder",
        outside / "content" / "x.md": "outside the site's content/ folder",
        site / "content" / "missing.md": "cannot read the file",
    }
    for path, message in cases.items():
        before = {p: p.read_bytes() for p in (tmp_path.rglob("*.md")) if p.is_file()}
        with pytest.raises(EditError, match=message):
            edit_record(path, Edit(published=False), site_dir=site)
        with pytest.raises(EditError, match=message):
            editable(path, site_dir=site)
        assert {p: p.read_bytes() for p in (tmp_path.rglob("*.md")) if p.is_file()} == before
    with pytest.raises(EditError, match="not in a site's content/ folder"):
        edit_record(site / "notes.md", Edit(published=False))
    edit_record(site / "content" / "a.md", Edit(published=False))  # no site_dir: the folder above content/
    assert read_back(site / "content" / "a.md").draft
    linked_site = tmp_path / "linked-site"
    linked_site.mkdir()
    (linked_site / "content").symlink_to(outside / "content")  # a build reads nothing there either
    with pytest.raises(EditError, match="content/ folder is a link"):
        edit_record(linked_site / "content" / "x.md", Edit(published=False), site_dir=linked_site)
    assert not read_back(outside / "content" / "x.md").draft


# -- the property: whatever is asked reads back, and nothing else moves --------------------

_nasty_chars = st.sampled_from(list(":#-'\"\n\t\\[]{},&*!|>%@`?~ \u2028\u2029\u202e\ufeff\x85é北🚀") + ["true", "10:00", "0o7", "- "])
_text = st.lists(st.one_of(_nasty_chars, st.characters(blacklist_categories=("Cs", "Cc"))), min_size=1, max_size=20).map("".join)
_title = _text.map(lambda t: t.strip()).filter(bool)
_excerpt = st.one_of(st.just(""), _title)
_topic = _text.map(lambda t: " ".join(t.split())).filter(lambda t: 0 < len(t) <= 100)
_note = st.lists(st.one_of(_nasty_chars, st.characters(blacklist_categories=("Cs",), blacklist_characters="\0\r")), max_size=30).map("".join)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=_title, excerpt=_excerpt, topics=st.lists(_topic, max_size=5, unique_by=str.casefold), note=_note,
       published=st.booleans())
def test_any_values_read_back_and_nothing_else_moves(tmp_path_factory, title, excerpt, topics, note, published):
    site = make_site(tmp_path_factory.mktemp("prop"), {"content/r.txt": EXAMPLE_RECORD.read_bytes()})
    path = site / "content" / "r.txt"
    before = path.read_bytes()
    edited = edit_record(path, Edit(title=title, excerpt=excerpt, topics=tuple(topics), note=note, published=published))
    story = read_back(path)
    assert (story.title, story.excerpt, story.topics, story.draft) == (title, excerpt, tuple(topics), not published)
    # The note gets a last line end, and loses blank lines before its first line (which the
    # reader takes for the space after the front matter).
    expected_note = re.sub(r"\A(?:[ \t]*\n)+", "", note + "\n" if note and not note.endswith("\n") else note)
    assert editable(path)["note"] == expected_note
    # Every line of the front matter outside the edited fields (title and excerpt on lines
    # 3-4, published on 12, topics on 18-20) is still there, in order, and no line is added.
    old = before.decode().split("\n")
    new = edited.after.decode().split("\n")
    kept = [line for n, line in enumerate(old[:61], 1) if n not in (3, 4, 12, 18, 19, 20)]
    fence = new.index("---", 1)
    assert [line for line in new[:fence + 1] if line in kept] == kept
    assert fence + 1 == 61 - 2 + len(topics)

"""Plain prose skips Python-Markdown (markup._plain_paragraphs): the HTML must be exactly
what Python-Markdown, with the same extensions, makes of it; any other body goes to
Python-Markdown."""

from __future__ import annotations

from unittest.mock import patch

import markdown
from hypothesis import example, given, settings
from hypothesis import strategies as st

from site_builder import markup

PROSE = "abcXYZ019 .,;:'\"?!()%/-"
# Characters and line starts that mean something to Markdown or to HTML, mixed in so that
# the fast path must also know when to step aside.
TRICKY = PROSE + "*_`#>[]<&\\|{}~=+\t\r\u00a0é"

lines = st.lists(st.text(PROSE, max_size=30), max_size=8)
tricky_lines = st.lists(st.text(TRICKY, max_size=30), max_size=8)
# Lines that start as prose does, and blank lines between paragraphs: the fast path's cases.
prose = st.from_regex(r"[A-Za-z\"'(][A-Za-z0-9 .,;:'\"?!()%/-]{0,30}", fullmatch=True)
headings = st.builds("{} {}".format, st.sampled_from(["#", "##", "###", "######", "#######"]), prose)
items = st.builds("- {}".format, prose)
prose_lines = st.lists(st.one_of(st.just(""), prose, headings, items, items), max_size=8)


def python_markdown(text: str) -> str:
    return markdown.markdown(text, **markup.MARKDOWN_OPTIONS)


@settings(max_examples=600, deadline=None)
@given(st.one_of(lines, tricky_lines, prose_lines))
@example(["Hello world.", "Second line.", "", "Para 2."])
@example(["1. a list", "2. item"])
@example(["- a list"])
@example(["Title", "-----"])
@example(["a term", ": its definition"])
@example(["two spaces  ", "make a break"])
@example(["    indented code"])
@example(["(1) not a list"])
@example(["## Why it matters", "It does."])
@example(["Before", "## Heading", "after"])
@example(["#no space"])
@example(["## Closed heading ##"])
@example(["## Why it matters", "", "- one", "- two"])
@example(["Para", "- joins the paragraph"])
@example(["- item", "lazy line"])
@example(["- a", "", "- b"])
@example(["- a", "", "Para", "", "- b"])
def test_the_fast_path_gives_what_python_markdown_gives(body_lines):
    text = "\n".join(body_lines)
    fast = markup._plain_paragraphs(text)
    expected = markup._sanitise(python_markdown(text)) if text.strip() else ""
    if fast is None:
        assert markup.render_markdown(text) == expected
        return
    assert fast == python_markdown(text)
    with patch.object(markup, "_convert", side_effect=AssertionError("Python-Markdown ran")):
        assert markup.render_markdown(text) == expected  # and without Python-Markdown


def test_plain_prose_takes_the_fast_path_and_markup_does_not():
    assert markup._plain_paragraphs("A note on the story.\nIt matters.\n\nSee the source.") is not None
    assert markup._plain_paragraphs("## Why it matters\n\nIt does.") == "<h2>Why it matters</h2>\n<p>It does.</p>"
    assert markup._plain_paragraphs("- one\n- two") == "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"
    for text in ("A *note*.", "See [the source](https://example.com/).", "* one\n* two", "> A quote", "#hashtag", "AT&T"):
        assert markup._plain_paragraphs(text) is None
        assert markup.render_markdown(text) == markup._sanitise(python_markdown(text))

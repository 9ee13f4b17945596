"""Property: whatever the front matter and body, a build ends with exit 0 or 1 (never a
crash) and no page holds a script, an event handler or a non-web URL."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import yaml
from conftest import article, make_site
from htmlcheck import executable_in_site
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_builder.cli import main as cli_main

PAYLOADS = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>',
    "'; alert(1); '", "</script><script>alert(1)</script>", "<iframe src=//evil.example>",
    "{{ 7*7 }}", "{% raw %}", "&lt;script&gt;", "\u202e\u2028\x7f", "../../etc/passwd", "C++ / ..",
]
SCHEMES = ["javascript", "JavaScript", "data", "vbscript", "file", "ftp", "http", "https", "java\tscript", " javascript"]

text = st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=40))
url = st.one_of(
    st.builds(lambda scheme, rest: f"{scheme}:{rest}", st.sampled_from(SCHEMES), st.sampled_from(["alert(1)", "//evil.example/x", "text/html,<script>alert(1)</script>", "///x", ""])),
    st.builds(lambda payload: "https://example.com/" + payload, text),
    text,
)
scalar = st.one_of(text, url, st.integers(), st.floats(allow_nan=True), st.booleans(), st.none())
value = st.recursive(
    scalar,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["url", "webUrl", "title", "name", "domain", "width", "height", "excerpt"]), children, max_size=4),
    max_leaves=8,
)
FIELDS = {
    "title": text, "webUrl": url, "publishedDateTime": st.one_of(
        st.just("2024-05-14T09:30:00Z"), st.sampled_from(["9999-12-31T23:59:59-10:00", "0001-01-01T00:00+01:00"]), text
    ),
    "excerpt": value, "slug": value, "ampWebUrl": url, "category": value, "type": value,
    "quality": value, "heat": value, "published": value, "provider": value, "topics": value,
    "images": value, "related": value,
}
front_matter = st.fixed_dictionaries(
    # mostly valid required fields, so that most records are published with hostile optionals
    {"title": text, "webUrl": st.one_of(st.just("https://example.com/p"), url), "publishedDateTime": FIELDS["publishedDateTime"]},
    optional={key: strategy for key, strategy in FIELDS.items() if key not in ("title", "webUrl", "publishedDateTime")},
)
MARKDOWN = [
    "[x](javascript:alert(1))", "![i](data:image/png;base64,AAAA)", "<script>alert(1)</script>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>", "<div onclick=alert(1)>d</div>", "[ok](/about/)",
    "<iframe src=https://evil.example></iframe>", "# Head\n\n- item", "```\n<script>\n```", "[r]: javascript:x\n\n[r]",
    "<svg><a xlink:href=javascript:alert(1)>s</a></svg>", "<style>body{}</style>", "<!-- <script> -->",
]
body = st.lists(st.one_of(st.sampled_from(MARKDOWN), st.text(max_size=60)), max_size=6).map("\n\n".join)
record = st.one_of(
    st.tuples(front_matter, body).map(
        lambda pair: "---\n" + yaml.safe_dump(pair[0], allow_unicode=True) + "---\n" + pair[1]
    ),
    st.text(max_size=200).map(lambda raw: "---\n" + raw + "\n---\n"),
    st.binary(max_size=200),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(record, min_size=1, max_size=3))
def test_random_records_never_crash_and_never_produce_script(records):
    with tempfile.TemporaryDirectory() as tmp:
        files = {"content/good.md": article("Good", "https://example.com/good")}
        files.update({f"content/r{n}.md": data for n, data in enumerate(records)})
        site = make_site(Path(tmp), files)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli_main(["build", str(site)])
        assert code in (0, 1), err.getvalue()
        assert "Traceback" not in err.getvalue()
        assert executable_in_site(site / "_site") == {}
        assert sorted(p.name for p in Path(tmp).iterdir()) == [".cache", "_site", "content"]

"""Issue 17, point 6: errors never echo secrets or raw bytes. A malformed record never
prints its `secured` token (terminal, preview overlay, output); a file name with terminal
escapes or bidi controls is shown escaped; an oversized file is refused by its size,
unread; a key given twice is an error naming its line."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import REPO, BuiltSite, article, make_site, prop, text_of, tree_bytes, wait_until

from site_builder.server import LIVERELOAD

GOOD = article("A good story", "https://example.com/good")
DATE = "publishedDateTime: 2024-05-14T09:30:00Z"
TOKEN = "TOKEN-xyz"


def token(shape: str) -> str:
    return f"{TOKEN}-{shape}"


# One record per way the `secured` line (or the line above it) goes wrong. Each file's
# token names its shape, so a leak says which one it was.
SHAPES = {
    # the opening '---' is missing, so the token's line is the file's first
    "no-fence": f"secured: {token('no-fence')}\ntitle: x\n---\n",
    # an unquoted ': ' in the token's line
    "colon": f"---\nsecured: {token('colon')}: more\ntitle: x\n---\n",
    # a tab where YAML wants spaces
    "tab": f"---\nsecured:\t{token('tab')}\n\ttitle: x\n---\n",
    # a quote opened and never closed
    "open-quote": f'---\nsecured: "{token("open-quote")}\n---\n',
    # an unclosed flow list
    "flow": f"---\nsecured: [{token('flow')}\n---\n",
    # a YAML tag made of the token
    "tag": f"---\nsecured: !{token('tag')} x\n---\n",
    # a quote left open on the line above takes the token's line into webUrl
    "swallowed": f'---\ntitle: "x"\nwebUrl: "https://example.com/x\nsecured: {token("swallowed")}"\n{DATE}\n---\n',
    # the token's line indented under an empty webUrl: webUrl becomes a mapping holding it
    "indented": f"---\ntitle: x\nwebUrl:\n  secured: {token('indented')}\n{DATE}\n---\n",
    # the same under topics (a warning, not an error)
    "in-topics": f'---\ntitle: x\nwebUrl: "https://example.com/t"\n{DATE}\ntopics:\n  - secured: {token("in-topics")}\n---\n',
    # the token pasted into webUrl as well
    "copied": f"---\nsecured: {token('copied')}\ntitle: x\nwebUrl: {token('copied')}\n{DATE}\n---\n",
    # given twice
    "twice": f"---\nsecured: {token('twice')}\nsecured: {token('twice')}\ntitle: x\n---\n",
}

# Terminal escapes (colour, window title ended by BEL) and a right-to-left override.
HOSTILE_NAME = "\x1b[31mred\x1b]0;title\x07\u202egnp.md"
SHOWN_NAME = "\\x1b[31mred\\x1b]0;title\\x07\\u202egnp.md"
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def malformed_site(root: Path) -> Path:
    files = {f"content/{shape}.md": text for shape, text in SHAPES.items()}
    return make_site(root, {"content/good.md": GOOD, **files, f"content/{HOSTILE_NAME}": "Just a note\n"})


def leaked(text: str) -> list[str]:
    return sorted(shape for shape in SHAPES if token(shape) in text) or ([TOKEN] if TOKEN in text else [])


def test_a_malformed_record_never_prints_its_secured_token(run, tmp_path):
    site = malformed_site(tmp_path)
    result = run("build", site)
    shown = result.out + result.err
    assert result.code == 1 and "Traceback" not in shown, shown
    assert leaked(shown) == [], shown
    for shape in SHAPES:
        assert re.search(rf"^content/{shape}\.md(:\d+)?: (error|warning): ", result.err, re.M), (shape, result.err)
    published = [text_of(prop(e, "name")) for e in BuiltSite(site / "_site").entries("/")]
    assert "A good story" in published
    for rel, data in tree_bytes(site / "_site").items():
        assert TOKEN.encode() not in data, rel


def test_yaml_errors_say_where_and_what_without_the_line(run, tmp_path):
    site = malformed_site(tmp_path)
    err = run("build", site).err
    assert "content/no-fence.md:1: error: no front matter" in err and "opening '---' line" in err
    assert re.search(r"^content/colon\.md:2: error: invalid YAML: .*\(column \d+\); a value containing ': ' must be in quotes", err, re.M), err
    assert re.search(r"^content/tag\.md:2: error: invalid YAML: .*YAML tags .* are not allowed", err, re.M), err
    assert "content/indented.md:3: error: 'webUrl' must be an http:// or https:// address, got a mapping" in err


def test_a_file_name_with_terminal_escapes_is_shown_escaped(run, tmp_path):
    site = malformed_site(tmp_path)
    result = run("build", site)
    assert not RAW_CONTROL.search(result.out + result.err), ascii(result.err)
    assert f"content/{SHOWN_NAME}:1: error: no front matter" in result.err, result.err


def overlay_state(preview) -> tuple[str, dict]:
    """The live-reload state the page's overlay shows, as sent and as read."""
    conn = http.client.HTTPConnection("127.0.0.1", preview.server.port, timeout=10)
    try:
        conn.request("GET", f"/{LIVERELOAD}.json")
        body = conn.getresponse().read().decode("utf-8")
    finally:
        conn.close()
    return body, json.loads(body)


def test_the_preview_overlay_shows_no_token_and_no_raw_control_character(tmp_path, start_preview, capsys):
    site = malformed_site(tmp_path)
    preview = start_preview(site)
    body, state = wait_until(lambda: (s := overlay_state(preview)) and s[1]["messages"] and s, what="the errors")
    shown = "\n".join(state["messages"])
    assert not state["ok"]
    assert leaked(body) == [] and leaked(shown) == [], shown
    assert any(m.startswith("content/colon.md:2: error: invalid YAML") for m in state["messages"]), shown
    assert f"content/{SHOWN_NAME}:1: error: no front matter" in shown
    assert not RAW_CONTROL.search(shown), ascii(shown)
    terminal = capsys.readouterr()
    assert leaked(terminal.out + terminal.err) == [] and not RAW_CONTROL.search(terminal.err), terminal.err
    for rel, data in tree_bytes(preview.options.output).items():
        assert TOKEN.encode() not in data, rel


# -- oversized files -----------------------------------------------------------------------

HUGE = 1536 * 1024 * 1024  # sparse: no disk is used, and no memory unless it is read

PEAK_OF_A_BUILD = textwrap.dedent(
    """
    import os, resource, sys
    from site_builder.cli import main
    site, huge = sys.argv[1], sys.argv[2]
    codes = [main(["build", site])]
    os.utime(huge)  # touched: a second build looks at it again
    codes.append(main(["build", site]))
    # Linux's ru_maxrss keeps the peak of the process that started this one (the test
    # runner's, however large it grew); VmHWM is this process's own.
    try:
        with open("/proc/self/status") as status:
            peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("peak-kib", peak, file=sys.stderr)
    sys.exit(max(codes))
    """
)


def build_measured(site: Path, huge: Path) -> tuple[int, str, int]:
    """Two builds of the site in a fresh process: exit code, stderr, peak memory in MiB."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "CI": "true"}
    done = subprocess.run(
        [sys.executable, "-c", PEAK_OF_A_BUILD, str(site), str(huge)], env=env, capture_output=True, text=True, timeout=300
    )
    peak = re.search(r"^peak-kib (\d+)$", done.stderr, re.M)
    assert peak, done.stderr
    return done.returncode, done.stderr, int(peak.group(1)) // 1024


def test_an_oversized_article_is_refused_by_its_size_unread(tmp_path):
    site = make_site(tmp_path, {"content/good.md": GOOD})
    huge = site / "content" / "huge.md"
    with open(huge, "wb") as handle:
        handle.truncate(HUGE)
    code, err, peak_mib = build_measured(site, huge)
    assert code == 1 and "Traceback" not in err, err
    assert peak_mib < 300, f"peak memory {peak_mib} MiB: the file was read"
    assert re.search(r"^content/huge\.md: error: the file is 1,536 MiB; article files are limited to .*2 MiB", err, re.M), err
    published = [text_of(prop(e, "name")) for e in BuiltSite(site / "_site").entries("/")]
    assert published == ["A good story"]


def test_an_oversized_site_toml_is_refused_unread(tmp_path):
    site = make_site(tmp_path, {"content/good.md": GOOD})
    with open(site / "site.toml", "wb") as handle:
        handle.truncate(HUGE)
    code, err, peak_mib = build_measured(site, site / "site.toml")
    assert code == 2 and "Traceback" not in err, err
    assert peak_mib < 300, f"peak memory {peak_mib} MiB: the file was read"
    assert re.search(r"^error: .*site\.toml: over 1024 KiB", err, re.M), err


# -- keys given twice ----------------------------------------------------------------------

def test_a_key_given_twice_is_an_error_naming_it_and_its_line(run, tmp_path):
    site = make_site(tmp_path, {
        "content/good.md": GOOD,
        "content/top.md": "---\ntitle: First\nwebUrl: https://example.com/top\ntitle: Second\n" + DATE + "\n---\n",
        "content/flow.md": "---\ntitle: x\nwebUrl: https://example.com/flow\n" + DATE + "\nprovider: {name: a, name: b}\n---\n",
        "content/block.md": "---\ntitle: x\nwebUrl: https://example.com/block\n" + DATE
        + "\nrelated:\n  - title: r\n    webUrl: https://example.com/r\n    webUrl: https://example.com/s\n---\n",
    })
    result = run("build", site)
    assert result.code == 1 and "Traceback" not in result.err, result.err
    assert "content/top.md:4: error: 'title' is given twice (first on line 2)" in result.err, result.err
    assert "content/flow.md:5: error: 'name' is given twice (first on line 5)" in result.err, result.err
    assert "content/block.md:8: error: 'webUrl' is given twice (first on line 7)" in result.err, result.err
    published = [text_of(prop(e, "name")) for e in BuiltSite(site / "_site").entries("/")]
    assert published == ["A good story"]


def test_a_secured_value_in_a_flow_mapping_is_not_quoted_as_another_field(run, tmp_path):
    """Two keys on one line: which one holds a bad value is not known, so none is quoted
    (the date-like token was shown as the title's value)."""
    site = make_site(tmp_path, {"content/a.md": "---\n{title: x, secured: 2099-13-41}\n---\n"})
    result = run("build", site)
    assert result.code == 1 and "content/a.md:2: error:" in result.err, result.err
    assert "2099-13-41" not in result.out + result.err


def test_a_file_name_that_is_not_utf8_is_shown_escaped(run, tmp_path):
    site = make_site(tmp_path, {"content/good.md": article("Good")})
    with open(os.path.join(os.fsencode(site / "content"), b"bad\xff\xe2\x80\x8f.md"), "wb") as handle:
        handle.write(b"no front matter\n")
    result = run("build", site)
    assert result.code == 1 and "content/bad\\udcff\\u200f.md:1: error:" in result.err, ascii(result.err)
    (result.out + result.err).encode("utf-8")  # no lone surrogate left to fail a terminal or a page

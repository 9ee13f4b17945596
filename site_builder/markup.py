"""Markdown bodies to safe HTML, and the one rule for which URLs may reach href/src."""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import markdown
import nh3

# Tags an editor's commentary may use; everything else (script, iframe, style, forms,
# event handlers, javascript: URLs) is removed by nh3 (the Ammonia sanitiser).
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "figcaption",
    "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol",
    "p", "pre", "q", "s", "small", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"align"},
    "th": {"align"},
}
URL_SCHEMES = {"http", "https"}
# Python-Markdown is quadratic on some inputs (8,000 unclosed '[' take ~10 s); real
# editor's notes render in milliseconds, so a body that needs more CPU than this is refused.
RENDER_CPU_SECONDS = 2.0


class MarkupTooComplex(Exception):
    """The body needed more than RENDER_CPU_SECONDS to render."""


def render_markdown(text: str) -> str:
    """Markdown -> sanitised HTML. Safe to mark `safe` in templates."""
    if not text.strip():
        return ""
    plain = _plain_paragraphs(text)
    if plain is not None:
        return _sanitise(plain)
    if threading.current_thread() is not threading.main_thread() and len(text) > INLINE_OFF_MAIN_THREAD:
        html = _convert_in_child(text)  # no CPU timer off the main thread: bound it there
    else:
        html = _convert(text)
    return _sanitise(html)


# A line of plain prose: words and everyday punctuation, none of the characters Markdown
# (with the "extra" extensions) gives a meaning to, and no start that could open a block
# (list, quote, code, definition); such a line as a heading ("## Why it matters") or as
# an item of a "- " list. Python-Markdown turns paragraphs of such lines into <p>
# elements holding the lines as they are, the headings into <hN> and the lists into
# <ul>; tests/test_markup_fast_path.py checks that against Python-Markdown itself.
_PROSE = r"[A-Za-z\"'(][A-Za-z0-9 .,;:'\"?!()%/-]*(?<! )"
_PLAIN_LINE = re.compile(_PROSE)
_HEADING = re.compile(rf"(#{{1,6}}) ({_PROSE})")
_ITEM = re.compile(rf"- ({_PROSE})")


def _plain_paragraphs(text: str) -> str | None:
    """The HTML Python-Markdown makes of a body of plain prose, headings and simple lists,
    without running it, which saves a good share of reading such an article; None
    for any other body, and for the shapes where Python-Markdown's list rules bite: a
    line straight after an item (it joins the item), an item straight after a paragraph
    line (it joins the paragraph), a list after a list (they join, loosely)."""
    blocks: list[str] = []
    lines: list[str] = []
    items: list[str] = []
    list_ended = False  # a list closed by a blank line: an item now would join it, loosely
    for line in text.split("\n"):
        if _PLAIN_LINE.fullmatch(line):
            if items:
                return None
            lines.append(line)
            list_ended = False
            continue
        if lines:
            if line.startswith("- "):
                return None
            blocks.append(_paragraph(lines))
            lines = []
        if not line:
            if items:
                blocks.append(_bullets(items))
                items = []
                list_ended = True
            continue
        item = _ITEM.fullmatch(line)
        if item is not None:
            if list_ended:
                return None
            items.append(item[1])
            continue
        heading = _HEADING.fullmatch(line)
        if heading is None or items:
            return None
        level = len(heading[1])
        blocks.append(f"<h{level}>{heading[2]}</h{level}>")
        list_ended = False
    if lines:
        blocks.append(_paragraph(lines))
    if items:
        blocks.append(_bullets(items))
    return "\n".join(blocks)


def _paragraph(lines: list[str]) -> str:
    return "<p>" + "\n".join(lines) + "</p>"


def _bullets(items: list[str]) -> str:
    return "<ul>\n" + "\n".join(f"<li>{item}</li>" for item in items) + "\n</ul>"


def _convert(text: str) -> str:
    converter = _converter()
    try:
        with _cpu_limit(RENDER_CPU_SECONDS):
            return converter.convert(text)
    finally:
        converter.reset()
        with _idle_lock:
            _idle.append(converter)


# Off the main thread (the preview's rebuilds) a body longer than this is converted in a
# child process that is stopped after RENDER_CPU_SECONDS. Python-Markdown's worst cases
# are quadratic, so a shorter body stays well under the budget (about 0.6 s at worst).
INLINE_OFF_MAIN_THREAD = 2_000


def _convert_in_child(text: str) -> str:
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_convert_and_send, args=(text, send), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(RENDER_CPU_SECONDS * 2):  # wall time: the child may wait for a core
            raise MarkupTooComplex(f"the Markdown body needs more than {RENDER_CPU_SECONDS:g} s to render")
        return receive.recv()
    except EOFError:
        raise MarkupTooComplex("the Markdown body could not be rendered") from None
    finally:
        child.kill()
        child.join()
        receive.close()


MARKDOWN_OPTIONS = {"extensions": ["extra", "sane_lists"], "output_format": "html"}  # one dialect, in any process


def _convert_and_send(text: str, send) -> None:
    send.send(markdown.markdown(text, **MARKDOWN_OPTIONS))


_idle: list[markdown.Markdown] = []  # converters no thread is using
_idle_lock = threading.Lock()


def _converter() -> markdown.Markdown:
    """A Markdown instance no other thread is using, reset between bodies: setting one up
    costs about as much as converting a typical body (and more in a thread of its own:
    the preview answers each request, the desk's edits among them, in a new thread)."""
    with _idle_lock:
        if _idle:
            return _idle.pop()
    return markdown.Markdown(**MARKDOWN_OPTIONS)


def rebase_links(html: str, base_path: str) -> str:
    """Put root-relative href/src of a sanitised body ("/topics/ai/") under the base path.

    Bodies are read before any base path is known, so this runs at render time. nh3 parses
    the HTML again and hands us each attribute: no pattern-matching on markup, and the
    result is sanitised exactly like the original.
    """
    if base_path == "/" or not html:
        return html

    def rebase(element: str, attribute: str, value: str) -> str:
        if attribute in ("href", "src") and value.startswith("/") and not value.startswith("//"):
            return base_path + value[1:]
        return value

    return _sanitise(html, rebase)


def _sanitise(html: str, attribute_filter=None) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    ).strip()


def is_web_url(value: str) -> bool:
    """An absolute http(s) URL with a host: the only kind of outside link we publish."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return (
        parts.scheme in URL_SCHEMES
        and bool(parts.hostname)
        and not _SPACE_OR_CONTROL.search(value)
    )


_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")  # \s: every Unicode space, as str.isspace


@contextmanager
def _cpu_limit(seconds: float) -> Iterator[None]:
    """Raise MarkupTooComplex in this block after `seconds` of process CPU time.

    A virtual-time timer (SIGVTALRM) leaves SIGALRM to others (pytest-timeout); signals
    reach only the main thread, so elsewhere the block runs unbounded (render_markdown
    sends long bodies to a child process there).
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(_signum, _frame):
        raise MarkupTooComplex(f"the Markdown body needs more than {seconds:g} s of CPU to render")

    previous = signal.signal(signal.SIGVTALRM, expire)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)

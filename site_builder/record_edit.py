"""EDIT: surgical, safe changes to one article file's front matter and note, for the desk
and `site-builder publish`/`reject`.

Only the text of the values that change is rewritten: PyYAML's composed nodes say where
each top-level value starts and ends, and that span alone is replaced, in the style it
was written in (plain stays plain when safe, quoted stays quoted, a block list stays a
block list). Comments, key order, blank lines, other fields and the body stay byte for
byte. Every result is read back with the project's own reader before anything is
written, and the file is replaced atomically, only if it is still what the caller saw.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass, fields
from datetime import timezone
from pathlib import Path

import yaml

from .content import MAX_EXCERPT, MAX_FILE_BYTES, MAX_TEXT, MAX_TOPICS, parse_article
from .inputs import ARTICLE_SUFFIXES
from .yamlfm import FrontMatterError, front_matter_span, split_and_parse
from .yaml_scalars import double_quoted, plain_or_none, single_quoted


def _composer():
    """libyaml's composer when its marks count characters, as the pure-Python one's do
    (libyaml 0.2.5's do; a version counting bytes would misplace every edit after a
    non-ASCII character), else the pure-Python one, several times slower."""
    try:
        from yaml import CSafeLoader
    except ImportError:  # pragma: no cover - depends on how PyYAML was built
        return yaml.SafeLoader
    probe = 'a: "é北🚀"\nb: |\n  x\n\nc: [1]\n'
    marks = [[(v.start_mark.index, v.end_mark.index) for _, v in yaml.compose(probe, Loader=loader).value]
             for loader in (CSafeLoader, yaml.SafeLoader)]
    return CSafeLoader if marks[0] == marks[1] else yaml.SafeLoader


_COMPOSER = _composer()


class EditError(Exception):
    """An edit refused: the message names the file and says what to fix; nothing written."""


class EditConflict(EditError):
    """The file changed since the caller read it: nothing written."""


def digest(data: bytes) -> str:
    """The sha256 hex digest of a file's bytes: what a form carries to detect a change."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Edit:
    published: bool | None = None
    rejected: bool | None = None
    title: str | None = None
    excerpt: str | None = None
    topics: tuple[str, ...] | None = None
    note: str | None = None  # the Markdown body after the front matter


@dataclass(frozen=True)
class Edited:
    path: Path
    before: bytes
    after: bytes  # == before when the edit changed nothing (then nothing was written)


BOM = b"\xef\xbb\xbf"
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")
_FIELDS = ("published", "rejected", "title", "excerpt", "topics")  # front-matter keys an Edit sets
_DEFAULTS = {"published": True, "rejected": False, "excerpt": "", "topics": ()}  # what a missing key means


def edit_record(path: Path, edit: Edit, expected: str | None = None, *, site_dir: Path | None = None) -> Edited:
    """Apply `edit` to the article file at `path` (below SITE/content; `site_dir` names the
    site, else it is the folder holding the nearest `content` folder above the file).
    `expected`: the digest the caller read; a file that no longer has it is refused with
    EditConflict. An edit that changes nothing writes nothing."""
    path = Path(path)
    _check_place(path, site_dir)
    before = _read(path)
    if expected is not None and digest(before) != expected:
        raise EditConflict(f"{path}: the file changed since it was shown; reload it and try again (nothing written)")
    wanted = _normalised(path, edit)
    after = _apply(path, before, wanted)
    if after != before:
        _verify(path, before, after, wanted)
        _replace(path, before, after)
    return Edited(path, before, after)


def restore_record(edited: Edited) -> None:
    """Undo an edit: write `before` back, only if the file's bytes are still `after`."""
    if edited.before == edited.after:
        return
    current = _read(edited.path)
    if current != edited.after:
        raise EditConflict(f"{edited.path}: the file changed since that edit; not undone (nothing written)")
    _replace(edited.path, edited.after, edited.before)


def editable(path: Path, *, site_dir: Path | None = None) -> dict:
    """What a form edits, as the file holds it now: title, excerpt, topics (a list), note
    (the body, with \\n line ends), published, rejected, and the digest of the bytes read.
    The same files as edit_record are refused."""
    path = Path(path)
    _check_place(path, site_dir)
    raw = _read(path)
    text = _text(path, raw)
    try:
        parsed = split_and_parse(text)
    except FrontMatterError as exc:
        raise EditError(_where(path, exc.line, exc.message)) from None
    data = parsed.data
    result = parse_article(raw, str(path), timezone.utc)
    article = result.article
    if article is not None:
        title, excerpt, topics = article.title, article.excerpt, list(article.topics)
        published, rejected = not article.draft, article.rejected
    else:  # a record with errors: its raw values, as far as they are text
        title = data.get("title") if isinstance(data.get("title"), str) else ""
        excerpt = data.get("excerpt") if isinstance(data.get("excerpt"), str) else ""
        raw_topics = data.get("topics")
        raw_topics = [raw_topics] if isinstance(raw_topics, str) else raw_topics
        topics = [t for t in raw_topics if isinstance(t, str)] if isinstance(raw_topics, list) else []
        published, rejected = data.get("published", True) is True, data.get("rejected") is True
    return {
        "title": title, "excerpt": excerpt, "topics": topics, "note": parsed.body.replace("\r\n", "\n"),
        "published": published, "rejected": rejected, "digest": digest(raw),
    }


# -- reading and checking ------------------------------------------------------------------

def _where(path: Path, line: int | None, message: str) -> str:
    return f"{path}:{line}: {message}" if line else f"{path}: {message}"


def _check_place(path: Path, site_dir: Path | None) -> None:
    """Refuse anything but a plain article file inside the site's content folder, reached
    without links and outside hidden folders: a form field names the file to change."""
    if site_dir is None:
        site_dir = next((p.parent for p in Path(os.path.abspath(path)).parents if p.name == "content"), None)
        if site_dir is None:
            raise EditError(f"{path}: not in a site's content/ folder; only article files there are edited")
    content = os.path.realpath(Path(site_dir) / "content")
    if content != os.path.join(os.path.realpath(site_dir), "content"):
        raise EditError(f"{path}: the site's content/ folder is a link; a build does not read it")
    full = os.path.abspath(path)
    rel = os.path.relpath(full, os.path.abspath(Path(site_dir) / "content"))
    if rel.startswith(os.pardir) or os.path.isabs(rel):
        raise EditError(f"{path}: outside the site's content/ folder; only article files there are edited")
    if any(part.startswith(".") for part in Path(rel).parts):
        raise EditError(f"{path}: in a hidden folder or a dotfile; not an article")
    if not rel.lower().endswith(ARTICLE_SUFFIXES):
        raise EditError(f"{path}: not an article file ({', '.join(ARTICLE_SUFFIXES)})")
    try:
        info = os.lstat(full)
    except OSError as exc:
        raise EditError(f"{path}: cannot read the file: {exc.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise EditError(f"{path}: is a link; edit the file it leads to instead")
    if not stat.S_ISREG(info.st_mode):
        raise EditError(f"{path}: not a regular file")
    if os.path.realpath(full) != os.path.join(content, rel):
        raise EditError(f"{path}: reached through a linked folder; edit it where it is")


def _read(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_FILE_BYTES:
                raise EditError(f"{path}: over {MAX_FILE_BYTES // 1024:,} KiB; not an article file")
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise EditError(f"{path}: cannot read the file: {exc.strerror}") from None


def _text(path: Path, raw: bytes) -> str:
    try:
        return raw.removeprefix(BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise EditError(_where(path, line, "not UTF-8 text; re-save the file as UTF-8")) from None


def _normalised(path: Path, edit: Edit) -> Edit:
    """The edit as the reader will read it back: text trimmed, line ends \\n, topics with
    their spaces collapsed and repeats (any case) dropped; text the reader would change
    or cut (control characters, over-long values, an empty title) is refused."""
    def text(name: str, value: str | None, limit: int, required: bool = False) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise EditError(f"{path}: {name} must be text")
        value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
        if required and not value:
            raise EditError(f"{path}: the {name} cannot be empty")
        if len(value) > limit:
            raise EditError(f"{path}: the {name} is {len(value):,} characters; at most {limit:,} are kept")
        if any(ord(c) < 32 and c not in "\n\t" or c == "\x7f" for c in value):
            raise EditError(f"{path}: the {name} contains a control character; remove it")
        if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            raise EditError(f"{path}: the {name} is not valid Unicode text")
        return value

    topics = None
    if edit.topics is not None:
        topics, seen = [], set()
        for topic in edit.topics:
            name = " ".join((text("topic", topic, 10_000) or "").split())
            if len(name) > 100:
                raise EditError(f"{path}: the topic {name[:30]!r}... is over 100 characters")
            if name and name.casefold() not in seen:
                seen.add(name.casefold())
                topics.append(name)
        if len(topics) > MAX_TOPICS:
            raise EditError(f"{path}: {len(topics)} topics; at most {MAX_TOPICS} are kept")
        topics = tuple(topics)
    note = edit.note
    if note is not None:
        if not isinstance(note, str) or any(0xD800 <= ord(c) <= 0xDFFF for c in note) or "\0" in note:
            raise EditError(f"{path}: the note is not valid text")
        # Blank lines before the first line cannot be kept: the reader takes them for the
        # space after the front matter. A last line gets its line end.
        note = note.replace("\r\n", "\n").replace("\r", "\n")
        note = _LEADING_BLANK_LINES.sub("", note + "\n" if note and not note.endswith("\n") else note)
    for flag in ("published", "rejected"):
        if getattr(edit, flag) not in (None, True, False):
            raise EditError(f"{path}: {flag} must be true or false")
    return Edit(
        published=edit.published, rejected=edit.rejected,
        title=text("title", edit.title, MAX_TEXT, required=True), excerpt=text("excerpt", edit.excerpt, MAX_EXCERPT),
        topics=topics, note=note,
    )


# -- the edit itself ---------------------------------------------------------------------

def _apply(path: Path, before: bytes, edit: Edit) -> bytes:
    """The file's new bytes: each changed value's span replaced, missing keys inserted."""
    bom = BOM if before.startswith(BOM) else b""
    text = _text(path, before)
    newline = "\r\n" if text.split("\n", 1)[0].endswith("\r") else "\n"  # as the file's first line ends
    try:
        parsed = split_and_parse(text)  # the project's own checks: duplicate keys, broken YAML, no mapping
        fm_start, fm_end, body_start = front_matter_span(text)
        root = yaml.compose(text[fm_start:fm_end], Loader=_COMPOSER)
    except FrontMatterError as exc:
        raise EditError(_where(path, exc.line, exc.message + "; fix it before editing")) from None
    except yaml.YAMLError:
        raise EditError(f"{path}: the front matter could not be read for editing; fix its YAML") from None
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        raise EditError(f"{path}: the front matter must be 'field: value' lines to be edited")
    nodes = {k.value: (k, v) for k, v in root.value if isinstance(k, yaml.ScalarNode)}
    changes: list[tuple[int, int, str]] = []  # (start, end, new text) in `text`, apart
    inserts: dict[int, str] = {}  # offset -> new lines there, for keys the file does not have
    for key in _FIELDS:
        value = getattr(edit, key)
        if value is None or _same(parsed.data, key, value):
            continue
        if key in nodes:
            key_node, value_node = nodes[key]
            changes.append(_replacement(path, text, fm_start, key_node, value_node, value, newline))
            continue
        at = fm_end  # at the end of the front matter; `rejected` on the line after `published`
        if key == "rejected" and "published" in nodes:
            at = _line_end(text, _end(nodes["published"][1], text, fm_start))
        inserts[at] = inserts.get(at, "") + f"{key}:{_inline(value)}{newline}"
    changes += [(at, at, lines) for at, lines in inserts.items()]
    if edit.note is not None and parsed.body.replace("\r\n", "\n") != edit.note:
        after_fence = newline if edit.note and not text[:body_start].endswith("\n") else ""  # `---` ends the file
        changes.append((body_start, len(text), after_fence + edit.note.replace("\n", newline)))
    for start, end, new in sorted(changes, key=lambda c: c[0], reverse=True):
        text = text[:start] + new + text[end:]
    return bom + text.encode("utf-8")


def _same(data: dict, key: str, value) -> bool:
    """Whether the file already holds `value` for `key` (a missing `published` is true)."""
    if key not in data:
        default = _DEFAULTS.get(key)
        return default is not None and type(value) is type(default) and value == default
    current = data[key]
    if key == "topics":
        current = [current] if isinstance(current, str) else current
        return current == list(value)
    return type(current) is type(value) and current == value


def _line_end(text: str, at: int) -> int:
    end = text.find("\n", at)
    return len(text) if end < 0 else end + 1


def _end(node, text: str, offset: int) -> int:
    """Where a value's own text ends in `text` (whose front matter starts at `offset`): a
    block collection at its last item's end, a block scalar before the blank lines PyYAML
    counts into it."""
    if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        return _end(last[1] if isinstance(last, tuple) else last, text, offset)
    end = offset + node.end_mark.index
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        while end > offset + node.start_mark.index and text[end - 1] in " \r\n":
            end -= 1
    return end


def _replacement(path, text, offset, key_node, value_node, value, newline) -> tuple[int, int, str]:
    """(start, end, text) replacing `value_node` by `value` in the style it was written."""
    colon = offset + key_node.end_mark.index
    while colon < len(text) and text[colon] in " \t":
        colon += 1
    if not text.startswith(":", colon):
        raise EditError(f"{path}: the field '{key_node.value}' is not written as 'field: value'; edit it by hand")
    start, end = offset + value_node.start_mark.index, _end(value_node, text, offset)
    is_list = isinstance(value, tuple) and isinstance(value_node, yaml.SequenceNode)
    if is_list and not value_node.flow_style and value:  # a block list stays one, indented as it was
        indent = " " * value_node.start_mark.column
        style = _quoting(value_node.value[0])
        items = [f"- {_scalar(t, style)}" for t in value]
        return start, end, (newline + indent).join(items)
    if is_list and value_node.flow_style:  # flow stays flow
        style = _quoting(value_node.value[0]) if value_node.value else None
        return start, end, "[" + ", ".join(_scalar(t, style, flow=True) for t in value) + "]"
    same_line = value_node.start_mark.line == key_node.start_mark.line
    written = value_node.value != "" or _quoting(value_node) is not None  # `""` is written; an empty plain value is not
    if isinstance(value_node, yaml.ScalarNode) and same_line and written and not isinstance(value, tuple):
        style = _quoting(value_node)
        return start, end, _scalar(value, style) if not isinstance(value, bool) else _bool(value)
    # An empty value, one on the lines below the key, a block scalar: the value follows the colon.
    after = colon + 1
    while after < len(text) and text[after] in " \t":
        after += 1
    if isinstance(value_node, yaml.ScalarNode) and value_node.value == "" and not value_node.style:
        end = after  # an empty plain value has no text; its mark may lie on a later line
    return colon + 1, max(end, after), _inline(value)


def _quoting(node) -> str | None:
    """A scalar node's quotes, '"' or "'"; None for plain, a block scalar or no scalar
    (libyaml gives a plain scalar the style '', the pure-Python parser None)."""
    return node.style if isinstance(node, yaml.ScalarNode) and node.style in ('"', "'") else None


def _inline(value) -> str:
    """A value written right after `key:`, with its leading space."""
    if isinstance(value, bool):
        return " " + _bool(value)
    if isinstance(value, tuple):
        return " [" + ", ".join(_scalar(t, None, flow=True) for t in value) + "]"
    return " " + _scalar(value, None)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _scalar(value: str, style: str | None, flow: bool = False) -> str:
    """`value` in the style asked for when it reads back as the same text, else double-quoted."""
    if style is None:
        plain = plain_or_none(value, flow)
        if plain is not None:
            return plain
    if style == "'":
        single = single_quoted(value)
        if single is not None:
            return single
    return double_quoted(value)


def _verify(path: Path, before: bytes, after: bytes, edit: Edit) -> None:
    """Read the new text back with the project's reader: the edited fields must hold what
    was asked, and no new error may appear; else refuse, writing nothing."""
    rel = str(path)
    try:
        parsed = split_and_parse(after.removeprefix(BOM).decode("utf-8"))
    except (FrontMatterError, UnicodeDecodeError) as exc:
        raise EditError(f"{path}: the edit would not read back ({getattr(exc, 'message', exc)}); nothing written") from None
    data = parsed.data
    for key in _FIELDS:
        value = getattr(edit, key)
        if value is not None and not _same(data, key, value):
            raise EditError(f"{path}: the new {key} would not read back as given; nothing written")
    if edit.note is not None and parsed.body.replace("\r\n", "\n") != edit.note:
        raise EditError(f"{path}: the new note would not read back as given; nothing written")
    old, new = (parse_article(raw, rel, timezone.utc) for raw in (before, after))
    errors = {p.message for p in old.problems if p.severity == "error"}
    added = [p for p in new.problems if p.severity == "error" and p.message not in errors]
    if added:
        raise EditError(f"{path}: the edit would make the record invalid ({added[0].message}); nothing written")
    article = new.article
    if article is None:
        return  # the record had errors before the edit; the raw values were checked above
    read = {
        "title": article.title, "excerpt": article.excerpt, "topics": article.topics,
        "published": not article.draft, "rejected": article.rejected,
    }
    for key in _FIELDS:
        value = getattr(edit, key)
        if value is not None and read[key] != value:
            raise EditError(f"{path}: the new {key} would not read back as given; nothing written")


def _replace(path: Path, expected: bytes, data: bytes) -> None:
    """Write `data` over `path` atomically (a temporary file beside it, fsynced, renamed
    over it, with the file's mode), if the file still holds `expected`."""
    folder = path.parent
    mode = stat.S_IMODE(os.stat(path).st_mode)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        if _read(path) != expected:
            raise EditConflict(f"{path}: the file changed while it was being edited; nothing written")
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable; not every file system lets a folder be opened
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


assert set(_FIELDS) | {"note"} == {f.name for f in fields(Edit)}

"""STAND-IN for record_edit.py (t-edit's), until they are merged."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .yamlfm import split_and_parse


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class EditError(Exception):
    pass


class EditConflict(EditError):
    pass


@dataclass(frozen=True)
class Edit:
    published: bool | None = None
    rejected: bool | None = None
    title: str | None = None
    excerpt: str | None = None
    topics: tuple | None = None
    note: str | None = None


@dataclass(frozen=True)
class Edited:
    path: Path
    before: bytes
    after: bytes


def _replace(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(temp, path)


def _set_line(text: str, key: str, value: str) -> str:
    pattern = re.compile(rf"^{key}:.*$", re.M)
    head, sep, body = text.partition("\n---\n")
    if pattern.search(head):
        head = pattern.sub(f"{key}: {value}", head, count=1)
    else:
        head += f"\n{key}: {value}"
    return head + sep + body


def edit_record(path, edit: Edit, expected=None) -> Edited:
    path = Path(path)
    before = path.read_bytes()
    if expected is not None and digest(before) != expected:
        raise EditConflict(f"{path}: changed on disk since it was shown")
    text = before.decode()
    import json
    if edit.published is not None:
        text = _set_line(text, "published", "true" if edit.published else "false")
    if edit.rejected is not None:
        text = _set_line(text, "rejected", "true" if edit.rejected else "false")
    if edit.title is not None:
        text = _set_line(text, "title", json.dumps(edit.title))
    if edit.excerpt is not None:
        text = _set_line(text, "excerpt", json.dumps(edit.excerpt))
    if edit.topics is not None:
        text = re.sub(r"^topics:\n(  - .*\n)*", "topics:\n" + "".join(f"  - {json.dumps(t)}\n" for t in edit.topics), text, count=1, flags=re.M)
    if edit.note is not None:
        head, sep, _ = text.partition("\n---\n")
        text = head + sep + edit.note
    after = text.encode()
    _replace(path, after)
    return Edited(path, before, after)


def restore_record(edited: Edited) -> None:
    if edited.path.read_bytes() != edited.after:
        raise EditConflict(f"{edited.path}: changed on disk since")
    _replace(edited.path, edited.before)


def editable(path) -> dict:
    raw = Path(path).read_bytes()
    doc = split_and_parse(raw.decode())
    data = doc.data
    return {"title": data.get("title", ""), "excerpt": data.get("excerpt", ""), "topics": tuple(data.get("topics") or ()),
            "note": doc.body, "published": data.get("published", True),
            "rejected": data.get("rejected", False), "digest": digest(raw)}

"""SERVE's desk, its actions: publish, reject, edit and undo, on one file or on several,
each written through record_edit (surgical, atomic, refused when the file is not the one
the desk showed). Knows nothing of HTTP: a submitted form in, an Outcome out.

A form carries the digest of the file the card was made from: the one the preview's
model keeps (cache.file_digest), so a page of cards is made without reading a file. An
action reads the file, compares, and hands record_edit the sha256 of the very bytes it
compared, so a change in between is refused there.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from .cache import file_digest
from .record_edit import Edit, EditConflict, EditError, Edited, digest, edit_record, editable, restore_record

ACTIONS = ("publish", "reject", "edit", "undo")
MAX_ITEMS = 500  # cards one bulk action may name: a page shows 50
MAX_TOPICS = 50


@dataclass(frozen=True)
class Outcome:
    """What an action did, for a flash message or a JSON reply."""

    status: int  # 200, or the HTTP status of the refusal (400, 404, 409)
    message: str
    action: str = ""
    done: tuple[str, ...] = ()  # sources written
    digests: dict = field(default_factory=dict)  # source -> file_digest of its new bytes, for the next form
    written: tuple[tuple[str, bytes], ...] = ()  # (source, new bytes): for the preview to catch up with

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class _Step:
    label: str  # "published “Title”", said again by the undo
    edits: tuple[tuple[str, Edited], ...]  # (source, Edited), in the order written


class Actions:
    """Runs actions one at a time and keeps what they wrote, for Undo, for this run."""

    def __init__(self, site_dir: Path):
        self.site_dir = site_dir.resolve()
        self.content = self.site_dir / "content"
        self._undo: list[_Step] = []
        self._lock = threading.Lock()

    @property
    def undo_label(self) -> str | None:
        with self._lock:
            return self._undo[-1].label if self._undo else None

    def run(self, form: dict[str, list[str]], known: dict[str, str]) -> Outcome:
        """form: the submitted fields; known: source -> title of every article file the
        preview read (only those may be written)."""
        action = _one(form, "action")
        if action not in ACTIONS:
            return Outcome(400, f"unknown action {action!r}")
        with self._lock:
            if action == "undo":
                return self._undo_last()
            items = _items(form)
            if not items:
                return Outcome(400, "no story named: choose one or more cards first", action)
            if len(items) > MAX_ITEMS:
                return Outcome(400, f"at most {MAX_ITEMS} stories at once", action)
            for source, _ in items:
                if source not in known or self._path(source) is None:
                    return Outcome(404, f"{source}: no such article in this site", action)
            if action == "edit":
                if len(items) != 1:
                    return Outcome(400, "edit one story at a time", action)
                return self._edit(items[0], form, known)
            return self._mark(action, items, known)

    def _path(self, source: str) -> Path | None:
        path = (self.site_dir / source).resolve()
        return path if path.is_relative_to(self.content) and path.is_file() else None

    def _mark(self, action: str, items: list[tuple[str, str]], known: dict[str, str]) -> Outcome:
        change = Edit(published=True) if action == "publish" else Edit(rejected=True)
        verb = "published" if action == "publish" else "rejected"
        written, refused = [], []
        for source, shown in items:
            try:
                expected = _expected(self._path(source), shown)
                written.append((source, edit_record(self._path(source), change, expected=expected, site_dir=self.site_dir)))
            except EditConflict:
                refused.append(f"{source} changed on disk since the desk showed it; nothing was written to it")
            except (EditError, OSError) as exc:
                refused.append(f"{source}: {exc}")
        return self._outcome(action, verb, written, refused, known)

    def _edit(self, item: tuple[str, str], form: dict[str, list[str]], known: dict[str, str]) -> Outcome:
        source, shown = item
        path = self._path(source)
        try:
            expected = _expected(path, shown)
            now = editable(path, site_dir=self.site_dir)
        except EditConflict:
            return Outcome(409, _conflict(source), "edit")
        except (EditError, OSError) as exc:
            return Outcome(400, f"{source}: {exc}", "edit")
        if now["digest"] != expected:
            return Outcome(409, _conflict(source), "edit")
        wanted = {}
        for key in ("title", "excerpt"):
            value = _one(form, key)
            if value is not None and " ".join(value.split()) != " ".join(str(now[key] or "").split()):
                wanted[key] = value.strip()
        topics = _one(form, "topics")
        if topics is not None:
            names = tuple(dict.fromkeys(t.strip() for t in topics.split(",") if t.strip()))
            if len(names) > MAX_TOPICS:
                return Outcome(400, f"at most {MAX_TOPICS} topics", "edit")
            if names != tuple(now["topics"] or ()):
                wanted["topics"] = names
        note = _one(form, "note")
        if note is not None:
            note = note.replace("\r\n", "\n")
            if note.strip() != (now["note"] or "").strip():
                wanted["note"] = note if note.endswith("\n") or not note else note + "\n"
        if "title" in wanted and not wanted["title"]:
            return Outcome(400, "a story needs a title", "edit")
        if not wanted:
            return Outcome(200, f"nothing to change in “{known[source]}”", "edit")
        try:
            edited = edit_record(path, Edit(**wanted), expected=expected, site_dir=self.site_dir)
        except EditConflict:
            return Outcome(409, _conflict(source), "edit")
        except (EditError, OSError) as exc:
            return Outcome(400, f"{source}: {exc}", "edit")
        return self._outcome("edit", "edited", [(source, edited)], [], known)

    def _outcome(self, action, verb, written, refused, known) -> Outcome:
        if written:
            titles = [known[source] for source, _ in written]
            label = f"{verb} “{titles[0]}”" if len(titles) == 1 else f"{verb} {len(titles)} stories"
            self._undo.append(_Step(label, tuple(written)))
        message = (label[0].upper() + label[1:] + ".") if written else ""
        if refused:
            message = " ".join(filter(None, [message, "Refused: " + "; ".join(refused) + "."]))
        status = 200 if written else 409
        return Outcome(
            status, message, action, tuple(s for s, _ in written),
            {s: file_digest(e.after) for s, e in written}, tuple((s, e.after) for s, e in written),
        )

    def _undo_last(self) -> Outcome:
        if not self._undo:
            return Outcome(409, "nothing to undo", "undo")
        step = self._undo.pop()
        restored, refused = [], []
        for source, edited in reversed(step.edits):
            try:
                restore_record(edited)
                restored.append(source)
            except (EditError, OSError):
                refused.append(source)
        if refused:
            message = (f"Could not undo {step.label} in {', '.join(refused)}: changed on disk since; "
                       "nothing was written to it.")
        else:
            message = f"Undone: {step.label}."
        back = {s: e.before for s, e in step.edits if s in restored}
        return Outcome(
            200 if restored else 409, message, "undo", tuple(restored),
            {s: file_digest(b) for s, b in back.items()}, tuple(back.items()),
        )


def _expected(path: Path, shown: str) -> str:
    """record_edit's `expected` (sha256) for a file the desk showed with file_digest
    `shown`; EditConflict when it is not that file any more."""
    data = path.read_bytes()
    if file_digest(data) != shown:
        raise EditConflict(f"{path}: changed since it was shown")
    return digest(data)


def _conflict(source: str) -> str:
    return f"{source} changed on disk since the desk showed it; nothing was written. Reload to see it as it is now"


def _one(form: dict[str, list[str]], key: str) -> str | None:
    values = form.get(key)
    return values[0] if values else None


def _items(form: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(source, digest as shown) of each story named: a card's own form (path, digest) or
    the bulk form's checked boxes (item = "DIGEST PATH")."""
    items = []
    for value in form.get("item", []):
        shown, _, source = value.partition(" ")
        if source:
            items.append((source, shown))
    path, shown = _one(form, "path"), _one(form, "digest")
    if path:
        items.append((path, shown or ""))
    return list(dict.fromkeys(items))

"""SERVE's desk: the review queue at /_desk/ (at the server's root, whatever the base
path), where an editor publishes, rejects and edits the candidates (drafts not rejected).

It sits beside the preview server, not inside the build: it reads the model and plan the
preview's Builder last committed (`Builder.current`) and writes only through record_edit
(desk_actions.py); after a write it asks the preview to rebuild at once. The builder never
imports it, so `build` and `deploy` never write it.

Every POST must pass three checks or get 403 and change nothing: the per-run token, an
`Origin` (when sent) that is this server's own, and a `Sec-Fetch-Site` (when sent) of
`same-origin`. The Host allow-list runs before any handler (server.py), for POST too.
"""

from __future__ import annotations

import hmac
import json
import secrets
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from math import ceil
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from .cache import file_digest
from .candidates import Filter, candidates, queue
from .desk_actions import Actions, Outcome
from .record_edit import EditError, digest, editable

DESK = "/_desk"
ASSETS = Path(__file__).parent / "desk_assets"
PAGE_SIZE = 50
MAX_BODY = 1 << 20  # a form is a few KB; a note longer than this is not an edit
CATCH_UP_SECONDS = 3.0  # a page waits this long, at most, for the rebuild after the desk's own write
LIVE_WAIT_SECONDS = 10.0  # /_desk/live?wait=1 holds the request this long, at most
FLASHES = 64
QUERY_KEYS = ("sort", "topic", "source", "min_quality", "q", "page")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
HEADERS = (
    ("X-Robots-Tag", "noindex"),
    ("Cache-Control", "no-store"),
    ("X-Frame-Options", "DENY"),  # one key publishes: never inside another site's frame
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy",
     "default-src 'self'; img-src 'self' https: http: data:; style-src 'self'; script-src 'self'; "
     "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
)


def is_desk_path(path: str) -> bool:
    return path == DESK or path.startswith(DESK + "/")


@dataclass(frozen=True)
class Card:
    """A candidate as the queue shows it."""

    article: object
    digest: str  # file_digest of the bytes the model read: the form sends it back (desk_actions)
    permalink: str | None  # its page in the preview, when it is live


class Desk:
    """The desk of one Preview. state: the server's LiveState (its Condition wakes us after
    every build); current: Builder.current; rebuild_now(paths): start a build without
    waiting for the watcher's quiet time, naming the files the desk wrote."""

    def __init__(self, site_dir: Path, state, current: Callable, rebuild_now: Callable[[list[Path]], None]):
        self.site_dir = site_dir.resolve()
        self.state, self.current, self.rebuild_now = state, current, rebuild_now
        self.token = secrets.token_urlsafe(32)
        self.actions = Actions(self.site_dir)
        self._awaited: dict[str, str] = {}  # source -> blake2 of the bytes the desk wrote, until the model has them
        self._flashes: OrderedDict[str, tuple[bool, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._candidates: tuple[object, tuple] = (None, ())  # (the Selection, its candidates): queue() indexes them once
        self.used = False  # a desk page was asked for in this run: worth warming after each build
        self._env = None

    # -- HTTP ------------------------------------------------------------------------
    def handle(self, handler, head: bool = False, post: bool = False) -> None:
        request = urlsplit(handler.path)
        if post:
            return self._post(handler, request.path)
        path = request.path
        try:
            query = parse_qs(request.query, max_num_fields=50)
        except ValueError:
            return self._send(handler, HTTPStatus.BAD_REQUEST, b"400: too many parameters\n", "text/plain; charset=utf-8", head)
        if path == DESK:
            return self._send(handler, HTTPStatus.MOVED_PERMANENTLY, b"", "text/plain", head, [("Location", DESK + "/")])
        name = path[len(DESK) + 1:]
        if name in ("desk.js", "desk.css"):
            return self._send(handler, HTTPStatus.OK, (ASSETS / name).read_bytes(), _TYPES[Path(name).suffix], head)
        if name == "live":
            return self._json(handler, HTTPStatus.OK, self.live(_first(query, "path"), _first(query, "wait") == "1"), head)
        if name in ("", "card", "edit"):
            self.used = True
            self.catch_up()
            now = self.current()
            if now is None:
                return self._html(handler, HTTPStatus.SERVICE_UNAVAILABLE, self._render("wait.html.j2"), head)
            if name == "":
                return self._html(handler, HTTPStatus.OK, self.queue_page(now, query), head)
            return self._one_card(handler, now, name, _first(query, "path"), query, head)
        self._send(handler, HTTPStatus.NOT_FOUND, b"404 Not Found\n", "text/plain; charset=utf-8", head)

    def _post(self, handler, path: str) -> None:
        handler.close_connection = True  # a refused body is never read: the connection cannot go on
        headers = handler.headers
        if not self._same_origin(headers):
            return self._refuse(handler, HTTPStatus.FORBIDDEN, "403 Forbidden: not a request from this desk")
        if path != DESK + "/act":
            return self._refuse(handler, HTTPStatus.NOT_FOUND, "404 Not Found")
        length = headers.get("Content-Length", "")
        if not length.isdigit() or headers.get("Transfer-Encoding"):
            return self._refuse(handler, HTTPStatus.LENGTH_REQUIRED, "411: a POST needs a Content-Length")
        if int(length) > MAX_BODY:
            return self._refuse(handler, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"413: at most {MAX_BODY} bytes")
        reader = handler.reader  # serve_guard's DeadlineReader: the body gets the request's deadline
        reader.deadline = time.monotonic() + handler.server.limits.request_seconds
        try:
            body = handler.rfile.read(int(length))
        except (TimeoutError, OSError):
            return
        finally:
            reader.deadline = None
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=1000, strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            return self._refuse(handler, HTTPStatus.BAD_REQUEST, "400: not a form")
        if not hmac.compare_digest(_first(form, "token").encode(), self.token.encode()):
            return self._refuse(handler, HTTPStatus.FORBIDDEN, "403 Forbidden: not a request from this desk")
        outcome = self.act(form)
        wants_json = "application/json" in headers.get("Accept", "")
        if wants_json:
            return self._json(handler, HTTPStatus(outcome.status), self._reply(outcome), False)
        back = _back(_first(form, "back"))
        flash = self._flash(outcome.ok, outcome.message)
        location = DESK + "/?" + urlencode([*back, ("flash", flash)])
        self._send(handler, HTTPStatus.SEE_OTHER, b"", "text/plain", False, [("Location", location)])

    def _same_origin(self, headers) -> bool:
        host = headers.get("Host", "").strip().lower()
        origin = headers.get("Origin")
        if origin is not None and origin.strip().lower().rstrip("/") != "http://" + host:
            return False
        site = headers.get("Sec-Fetch-Site")
        return site is None or site.strip().lower() == "same-origin"

    # -- actions -----------------------------------------------------------------------
    def act(self, form: dict[str, list[str]]) -> Outcome:
        now = self.current()
        known = _Titles(now[0]) if now is not None else {}
        outcome = self.actions.run(form, known)
        if outcome.written:
            with self._lock:
                self._awaited.update((source, file_digest(data)) for source, data in outcome.written)
            self.rebuild_now([self.site_dir / source for source, _ in outcome.written])
        return outcome

    def _reply(self, outcome: Outcome) -> dict:
        return {
            "ok": outcome.ok, "message": outcome.message, "action": outcome.action, "done": list(outcome.done),
            "digests": outcome.digests, "undo": self.actions.undo_label,
        }

    def catch_up(self, timeout: float = CATCH_UP_SECONDS) -> None:
        """Wait (a little) until the preview's model has every file the desk wrote, so a
        page never shows a story as it was before the editor's own action."""
        deadline = time.monotonic() + timeout
        with self.state.changed:
            while True:
                now = self.current()
                with self._lock:
                    if now is not None:
                        digests = now[0].digests
                        for source in [s for s, d in self._awaited.items() if digests.get(s) == d]:
                            del self._awaited[source]
                    if not self._awaited:
                        return
                    left = deadline - time.monotonic()
                    if left <= 0 or self.state.closed:
                        self._awaited.clear()  # a failed build or another edit: show what there is
                        return
                self.state.changed.wait(left)

    def live(self, source: str, wait: bool) -> dict:
        """Whether `source`'s story is served by the preview now, and where."""
        deadline = time.monotonic() + (LIVE_WAIT_SECONDS if wait else 0)
        with self.state.changed:
            while True:
                now = self.current()
                url = self._permalinks_of(now).get(source) if now is not None else None
                left = deadline - time.monotonic()
                if url is not None or left <= 0 or self.state.closed:
                    return {"path": source, "live": url is not None, "url": url}
                self.state.changed.wait(left)

    def _permalinks_of(self, now) -> Mapping[str, str]:
        """source -> its permalink in the preview, for the stories on the site: looked up
        in the plan's entries by source as asked (after a publish, a dict of all 10,000
        would cost the long poll waiting for it 15 ms)."""
        model, plan = now
        return _Permalinks(model.config.base_path.rstrip("/"), plan.memo.entries if plan.memo is not None else {})

    def _flash(self, ok: bool, message: str) -> str:
        key = secrets.token_urlsafe(6)
        with self._lock:
            self._flashes[key] = (ok, message)
            while len(self._flashes) > FLASHES:
                self._flashes.popitem(last=False)
        return key

    # -- pages -------------------------------------------------------------------------
    def queue_page(self, now, query: dict) -> bytes:
        model, _ = now
        wanted, problems = _filter(query)
        result = queue(self.candidates(model), wanted)
        pages = max(1, ceil(len(result.items) / PAGE_SIZE))
        page = min(max(1, _int(_first(query, "page")) or 1), pages)
        shown = result.items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        back = _back(urlencode([(k, _first(query, k)) for k in QUERY_KEYS if _first(query, k)]))
        flash = self._flashes.get(_first(query, "flash"))
        return self._render(
            "desk.html.j2", cards=self._cards(now, shown), queue=result, filter=wanted, page=page, pages=pages,
            back=urlencode(back), problems=problems, flash=flash, link=lambda **change: _link(back, change),
            messages=self.state.snapshot()["messages"], site_title=model.config.title,
        )

    def candidates(self, model) -> tuple:
        """The model's candidates, the same tuple while the model's selection is the same,
        so that queue() reuses its index of them (made once: 0.1 s at 10,000)."""
        selection, cands = self._candidates
        if selection is not model.selection:
            cands = candidates(model.selection.unique)
            self._candidates = (model.selection, cands)
        return cands

    def warm(self) -> None:
        """After a build (in the build's thread): index the new candidates before the
        editor asks for the queue. Only once the desk has been opened in this run."""
        now = self.current()
        if self.used and now is not None:
            try:
                queue(self.candidates(now[0]), Filter())
            except Exception as exc:  # noqa: BLE001 - never let the desk stop the rebuilds
                print(f"warning: the desk could not index the candidates: {type(exc).__name__}: {exc}", file=sys.stderr)

    def _cards(self, now, articles) -> list[Card]:
        links = self._permalinks_of(now)
        digests = now[0].digests
        return [Card(a, digests[a.source], links.get(a.source)) for a in articles if a.source in digests]

    def _one_card(self, handler, now, name: str, source: str, query: dict, head: bool) -> None:
        article = next((a for a in now[0].selection.unique if a.source == source), None)
        if article is None:
            return self._send(handler, HTTPStatus.NOT_FOUND, b"no such candidate\n", "text/plain; charset=utf-8", head)
        back = urlencode(_back(_first(query, "back")))
        if name == "card":
            cards = self._cards(now, [article])
            body = self._render("card.html.j2", cards=cards, back=back) if cards else b""
            return self._html(handler, HTTPStatus.OK, body, head)
        try:
            data = (self.site_dir / source).read_bytes()
            fields = editable(self.site_dir / source, site_dir=self.site_dir)
            if fields["digest"] != digest(data):
                raise EditError("the file changed while it was read; reload the page")
        except (EditError, OSError) as exc:  # an unreadable record: say which and why
            return self._send(handler, HTTPStatus.CONFLICT, f"{source}: {exc}\n".encode(), "text/plain; charset=utf-8", head)
        fields["digest"] = file_digest(data)  # what every desk form carries
        self._html(handler, HTTPStatus.OK, self._render("edit.html.j2", article=article, fields=fields, back=back), head)

    def _render(self, name: str, **context) -> bytes:
        if self._env is None:
            from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

            self._env = Environment(
                loader=FileSystemLoader(ASSETS), autoescape=select_autoescape(default=True, default_for_string=True),
                undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
            )
        context.setdefault("back", "")
        return self._env.get_template(name).render(desk=DESK, token=self.token, undo=self.actions.undo_label, **context).encode()

    # -- responses -----------------------------------------------------------------------
    def _html(self, handler, status, body: bytes, head: bool) -> None:
        self._send(handler, status, body, "text/html; charset=utf-8", head)

    def _json(self, handler, status, data: dict, head: bool) -> None:
        self._send(handler, status, json.dumps(data).encode(), "application/json", head)

    def _refuse(self, handler, status, text: str) -> None:
        self._send(handler, status, (text + "\n").encode(), "text/plain; charset=utf-8", False)

    def _send(self, handler, status, body: bytes, content_type: str, head: bool, extra=()) -> None:
        handler.send_response(status)
        for name, value in (*HEADERS, *extra):
            handler.send_header(name, value)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if not head:
            handler.wfile.write(body)


def _first(query: dict, key: str) -> str:
    values = query.get(key)
    return values[0] if values else ""


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() and len(text) < 10 else None


def _filter(query: dict) -> tuple[Filter, list[str]]:
    problems = []
    sort = _first(query, "sort") or "date"
    if sort not in ("date", "quality", "heat"):
        problems.append(f"unknown sort {sort!r}: sorted by date")
        sort = "date"
    floor = _first(query, "min_quality")
    min_quality = _int(floor)
    if floor and min_quality is None:
        problems.append(f"minimum quality {floor!r} is not a whole number: not filtered by quality")
    return Filter(sort, _first(query, "topic"), _first(query, "source"), min_quality, _first(query, "q")), problems


def _back(text: str) -> list[tuple[str, str]]:
    """The queue's own query (which view to return to), from a form: its known keys only."""
    pairs = parse_qsl(text or "", max_num_fields=20)
    return [(k, v) for k, v in pairs if k in QUERY_KEYS and v and "\n" not in v and "\r" not in v]


def _link(back: list[tuple[str, str]], change: dict) -> str:
    pairs = dict(back)
    pairs.pop("page", None)
    pairs.update({k: str(v) for k, v in change.items()})
    return DESK + "/?" + urlencode([(k, v) for k, v in pairs.items() if v not in ("", "None")])


class _Permalinks(Mapping):
    """source -> base path + its page's path, for each Entry of a plan (by source)."""

    def __init__(self, base: str, entries: Mapping):
        self._base, self._entries = base, entries

    def __getitem__(self, source: str) -> str:
        return self._base + self._entries[source].path

    def __iter__(self):
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class _Titles(Mapping):
    """source -> title of every article file the model read (what desk_actions may
    write), found as asked: an action names a few, and a dict of all 10,000 would cost
    each action milliseconds."""

    def __init__(self, model):
        self._model = model

    def __getitem__(self, source: str) -> str:
        if source not in self._model.digests:
            raise KeyError(source)
        return next(a.title for a in self._model.selection.read if a is not None and a.source == source)

    def __iter__(self):
        return iter(self._model.digests)

    def __len__(self) -> int:
        return len(self._model.digests)

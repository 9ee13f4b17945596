"""The desk read and driven over plain HTTP, as a browser without JavaScript does: pages
read with mf2py, forms posted as urlencoded bodies, nothing followed automatically."""

from __future__ import annotations

import http.client
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import mf2py

DESK = "/_desk/"
_TOKEN = re.compile(r'name="token" value="([^"]+)"')


@dataclass
class Reply:
    status: int
    headers: dict
    body: str

    def json(self) -> dict:
        return json.loads(self.body)


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Host": f"127.0.0.1:{port}", **(headers or {})})
        response = conn.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode("utf-8", "replace"))
    finally:
        conn.close()


def get(port: int, path: str) -> Reply:
    return request(port, "GET", path)


def token(port: int) -> str:
    return _TOKEN.search(get(port, DESK).body).group(1)


def post(port: int, fields: dict | list, headers: dict | None = None, accept_json: bool = False) -> Reply:
    body = urlencode(fields, doseq=True).encode()
    sent = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(len(body))}
    if accept_json:
        sent["Accept"] = "application/json"
    return request(port, "POST", "/_desk/act", body, {**sent, **(headers or {})})


def cards(port: int, query: str = "") -> list[dict]:
    """The queue's h-entries, as a microformats client reads them."""
    reply = get(port, DESK + query)
    assert reply.status == 200, reply
    items = mf2py.parse(doc=reply.body, url=f"http://127.0.0.1:{port}{DESK}")["items"]
    found = []

    def walk(items):
        for item in items:
            if "h-entry" in item.get("type", []):
                found.append(item)
            walk(item.get("children", []))

    walk(items)
    return found


def shown_digest(path: Path) -> str:
    """The digest a desk form carries for a file as the preview read it (its cards show
    the model's articles; the model keeps this digest of each file)."""
    from site_builder.cache import file_digest

    return file_digest(path.read_bytes())


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def changed_lines(before: bytes, after: bytes) -> list[tuple[str, str]]:
    """The (old, new) pairs of lines that differ, for files with the same number of lines."""
    old, new = before.decode().splitlines(), after.decode().splitlines()
    assert len(old) == len(new), "lines were added or removed"
    return [(a, b) for a, b in zip(old, new) if a != b]

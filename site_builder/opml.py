"""OPML 2.0 (https://opml.org/spec2.opml), the format feed readers trade subscription
lists in: the feeds of an OPML file in, a site's [[sources]] out. Pure: bytes in, bytes
out. The reader is expat with every DOCTYPE refused before it is read, so no entity is
ever declared or expanded and no file or address is ever opened."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from xml.parsers import expat

from .config import Source

MAX_OUTLINES = 10_000  # a reader's whole list is hundreds
MAX_OPML_BYTES = 5 * 1024 * 1024


class OpmlError(Exception):
    """A file that is not OPML this reader accepts; the message says why."""


@dataclass(frozen=True)
class Feed:
    url: str
    name: str = ""


def read_opml(data: bytes) -> list[Feed]:
    """Every outline with an xmlUrl, at any depth (folders of feeds nest), in document
    order. Raises OpmlError for bad XML, a DOCTYPE, or a file without <opml>."""
    feeds: list[Feed] = []
    root: list[str] = []

    def refuse(*_args) -> None:
        raise OpmlError("has a DOCTYPE (entities or a DTD), which OPML never needs; not read")

    def start(name: str, attrs: dict[str, str]) -> None:
        if not root:
            root.append(name)
            if name != "opml":
                raise OpmlError(f"not OPML: the document is <{name[:40]}>, not <opml>")
        if name == "outline" and attrs.get("xmlUrl", "").strip():
            if len(feeds) >= MAX_OUTLINES:
                raise OpmlError(f"more than {MAX_OUTLINES:,} feeds; not read")
            text = attrs.get("title") or attrs.get("text") or ""
            feeds.append(Feed(attrs["xmlUrl"].strip(), " ".join(text.split())))

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise OpmlError(f"bad XML: {expat.ErrorString(exc.code)} (line {exc.lineno})") from None
    if not root:
        raise OpmlError("not OPML: no <opml> element")
    return feeds


def write_opml(title: str, sources: Sequence[Source]) -> bytes:
    """OPML 2.0 listing the http(s) sources (a file in the site is no address a reader
    can follow); a source's topics go in `category`."""
    opml = ET.Element("opml", version="2.0")
    ET.SubElement(ET.SubElement(opml, "head"), "title").text = title
    body = ET.SubElement(opml, "body")
    for source in sources:
        if not source.url.lower().startswith(("http://", "https://")):
            continue
        attrs = {"type": "rss", "text": source.label, "title": source.label, "xmlUrl": source.url}
        if source.topics:
            attrs["category"] = ",".join(source.topics)
        ET.SubElement(body, "outline", attrs)
    ET.indent(opml)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(opml, encoding="utf-8", xml_declaration=False) + b"\n"

"""Text written as one YAML scalar that reads back as the same text: plain when that is
safe (for the project's YAML 1.2 reader and for YAML 1.1 tools alike), single-quoted
when asked and possible, double-quoted with escapes otherwise. Used by record_edit.py."""

from __future__ import annotations

import re

import yaml

from .yamlfm import FrontMatterError, split_and_parse

# Characters a YAML file may hold as they are (YAML 1.2's printable set) less the ones
# PyYAML and libyaml treat as line breaks or a byte-order mark (U+0085, U+2028, U+2029,
# U+FEFF): everything else is written as an escape in double quotes.
_LITERAL = re.compile("[\t\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}
# A plain scalar never starts with an indicator, holds ': ' or ' #', or ends with ':'.
_PLAIN_START = tuple("-?:,[]{}#&*!|>'\"%@`")
_FLOW_INDICATORS = frozenset(",[]{}")


def double_quoted(value: str) -> str:
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char == "\t" or _LITERAL.match(char):
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def single_quoted(value: str) -> str | None:
    """'text' with ' doubled, or None when single quotes cannot hold it (line breaks,
    tabs, characters that need an escape, spaces the folding would keep apart)."""
    if not all(_LITERAL.match(char) for char in value) or "\t" in value:
        return None
    return "'" + value.replace("'", "''") + "'"


def plain_or_none(value: str, flow: bool = False) -> str | None:
    """`value` unquoted when every YAML reader takes it for that very text (not a number,
    date, boolean or null, no indicator where it matters), else None. flow: inside [ ]."""
    if (
        not value
        or value != value.strip(" ")
        or value.startswith(_PLAIN_START)
        or ": " in value
        or " #" in value
        or value.endswith(":")
        or "\t" in value
        or not all(_LITERAL.match(char) for char in value)
        or (flow and not _FLOW_INDICATORS.isdisjoint(value))
    ):
        return None
    try:  # the project's YAML 1.2 reader, and PyYAML's YAML 1.1 one (yes, 10:00, 1_000)
        ours = split_and_parse(f"---\nk: {value}\n---\n").data.get("k")
        theirs = yaml.safe_load(f"k: {value}\n").get("k")
    except (FrontMatterError, yaml.YAMLError, AttributeError):
        return None
    return value if ours == value and theirs == value else None

"""Front matter splitting and a YAML loader that reads what editors mean.

PyYAML's default (YAML 1.1) resolver turns `no` into False, `10:00` into 600 and `010`
into 8. Editors mean the strings. This loader keeps the YAML 1.2 core schema: only
true/false are booleans, only plain decimal/hex/octal (0o) numbers are numbers, and
timestamps stay timestamps. It never builds Python objects (safe constructor only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import frontmatter
import yaml
from yaml.resolver import BaseResolver

try:  # libyaml is much faster; fall back to the pure-Python parser when absent
    from yaml.cyaml import CParser as _Parser

    def _make_parser(loader, text):
        _Parser.__init__(loader, text)

    _BASES: tuple = (_Parser,)
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    def _make_parser(loader, text):
        Reader.__init__(loader, text)
        Scanner.__init__(loader)
        Parser.__init__(loader)
        Composer.__init__(loader)

    _BASES = (Reader, Scanner, Parser, Composer)

FENCE = frontmatter.YAMLHandler.FM_BOUNDARY  # python-frontmatter's own definition of `---`


class _CoreSchemaResolver(BaseResolver):
    pass


_CoreSchemaResolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_CoreSchemaResolver.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+|0o[0-7]+)$"),
    list("-+0123456789"),
)
_CoreSchemaResolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?[0-9]+[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)
_CoreSchemaResolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_CoreSchemaResolver.add_implicit_resolver(
    "tag:yaml.org,2002:timestamp",
    re.compile(
        r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
        re.X,
    ),
    list("0123456789"),
)


# The implicit resolvers by a scalar's first character ("" for the empty scalar), as
# BaseResolver.resolve looks them up; there are no wildcard or path resolvers.
_IMPLICIT = {first: tuple(resolvers) for first, resolvers in _CoreSchemaResolver.yaml_implicit_resolvers.items()}
assert None not in _IMPLICIT and not _CoreSchemaResolver.yaml_path_resolvers


class FrontMatterLoader(*_BASES, yaml.constructor.SafeConstructor, _CoreSchemaResolver):
    def __init__(self, text: str):
        _make_parser(self, text)
        yaml.constructor.SafeConstructor.__init__(self)
        _CoreSchemaResolver.__init__(self)

    # The composer asks these for every node of every record. BaseResolver's versions also
    # track paths for path resolvers, which this schema has none of, and that bookkeeping
    # is a large share of reading a record. Same answers (tests/test_yaml_equivalence.py).
    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, regexp in _IMPLICIT.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def descend_resolver(self, current_node, current_index):
        pass

    def ascend_resolver(self):
        pass

    def construct_document(self, node):
        """Plain mappings, sequences and strings are built directly (most of a record);
        typed scalars go through the safe constructor; anything else (explicit tags) takes
        PyYAML's own path, so the result is always what SafeConstructor would build."""
        try:
            return self._build(node, {})
        except _Unusual:
            return super().construct_document(node)

    def _build(self, node, built: dict):
        tag, kind = node.tag, type(node)
        if kind is yaml.ScalarNode:
            if tag == _STR:
                return node.value  # most nodes; a string is the same value however often used
            if tag in _TYPED_SCALARS:
                return self.construct_object(node)  # remembers aliased nodes itself
            raise _Unusual
        known = built.get(id(node))
        if known is not None:  # an alias: the same object again, as PyYAML builds it
            return known
        if tag == _MAP and kind is yaml.MappingNode:
            mapping: dict = {}
            built[id(node)] = mapping
            for key_node, value_node in node.value:
                key = key_node.value if key_node.tag == _STR and type(key_node) is yaml.ScalarNode else self._build(key_node, built)
                if isinstance(key, (dict, list)):
                    raise _Unusual  # unhashable: let PyYAML report it
                if value_node.tag == _STR and type(value_node) is yaml.ScalarNode:
                    mapping[key] = value_node.value
                else:
                    mapping[key] = self._build(value_node, built)
            return mapping
        if tag == _SEQ and kind is yaml.SequenceNode:
            sequence: list = []
            built[id(node)] = sequence
            sequence.extend(self._build(child, built) for child in node.value)
            return sequence
        raise _Unusual

    def construct_object(self, node, deep=False):
        # A scalar that matches a pattern but is no real value (2024-02-30, a 5,000-digit
        # number) raises a bare ValueError; give it the node's position, like a YAML error.
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            kind, hint = _KINDS.get(node.tag, ("value", ""))
            raise _BadScalar(node.value, kind, str(exc), hint, node.start_mark) from None


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_TYPED_SCALARS = {f"tag:yaml.org,2002:{name}" for name in ("bool", "int", "float", "null", "timestamp")}


class _Unusual(Exception):
    """A node the direct path does not build (explicit tags, odd keys)."""


class _BadScalar(yaml.constructor.ConstructorError):
    """A scalar that fits a type's pattern but is no real value. The message is made where
    the field is known, since only some fields' values may be quoted (see PUBLIC_FIELDS)."""

    def __init__(self, value: str, kind: str, reason: str, hint: str, mark):
        super().__init__(None, None, f"not a valid {kind}", mark)
        self.value, self.kind, self.reason, self.hint = value, kind, reason, hint

    def describe(self, quote: bool) -> str:
        if quote:
            return f"{_preview(self.value)} is not a valid {self.kind} ({self.reason}){self.hint}"
        return f"the value is not a valid {self.kind}{self.hint or '; put it in quotes if it is text'}"


_KINDS = {
    "tag:yaml.org,2002:timestamp": ("date", "; write a real date and time, e.g. 2024-05-14T09:30:00Z"),
    "tag:yaml.org,2002:int": ("whole number", ""),
    "tag:yaml.org,2002:float": ("number", ""),
}


def _preview(value) -> str:
    text = repr(value) if isinstance(value, str) else "the value"
    return text if len(text) <= 40 else text[:37] + "...'"


# The fields whose values a message may quote: an article's own, all shown on its page.
# Any other key's value never is: `secured` is an opaque token of the record's source
# (never to be shown), and other tools' fields are none of ours to print.
PUBLIC_FIELDS = frozenset({
    "title", "webUrl", "publishedDateTime", "excerpt", "slug", "published", "rejected", "ampWebUrl", "category",
    "type", "quality", "heat", "provider", "topics", "images", "related",
})


class FrontMatterError(Exception):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Parsed:
    data: dict
    body: str
    key_lines: dict  # top-level key -> 1-based line in the file
    body_line: int


MAX_NODES = 20_000  # a real record has a few hundred; alias bombs have millions
MAX_DEPTH = 40
# Each level of nesting needs one of [ { - : ?. Below this many, the composer's recursion is
# shallow and safe, and _check_size enforces MAX_DEPTH after composing; above it, the
# event stream is checked first (see _check_nesting). A real record has a few hundred.
NESTING_SCAN_ABOVE = 2_000


def split_and_parse(text: str) -> Parsed:
    """Split `---` front matter from the body and parse it. Lines are 1-based in the file."""
    fm_start, fm_end, body_start = front_matter_span(text)
    first_fm_line = text.count("\n", 0, fm_start) + 1
    fm_text = text[fm_start:fm_end]
    body = text[body_start:]
    body_line = text.count("\n", 0, body_start) + 1

    loader = None
    key_lines: dict = {}
    try:
        if sum(map(fm_text.count, "[{-:?")) > NESTING_SCAN_ABOVE:
            _check_nesting(fm_text, first_fm_line)
        loader = FrontMatterLoader(fm_text)  # the pure-Python reader checks the characters here
        node = loader.get_single_node()
        if node is None:
            raise FrontMatterError("the front matter is empty; add at least title, webUrl and publishedDateTime", first_fm_line)
        if not isinstance(node, yaml.MappingNode):
            raise FrontMatterError(
                "the front matter must be a list of 'field: value' lines, not a single value or a list",
                first_fm_line + node.start_mark.line,
            )
        _check_size(node, first_fm_line)
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key_lines.setdefault(key_node.value, first_fm_line + key_node.start_mark.line)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and mark.index >= len(fm_text.rstrip()):
            mark = exc.context_mark  # ran off the end: point at what was left open
        line = first_fm_line + mark.line if mark else first_fm_line
        field = _field_at(key_lines, line)
        if isinstance(exc, _BadScalar):
            where = f"{_preview(field)}: " if field is not None else ""
            raise FrontMatterError(where + exc.describe(quote=field in PUBLIC_FIELDS), line) from None
        raise FrontMatterError(_describe_yaml_error(exc, mark), line) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. a control character
        code = ord(exc.character) if isinstance(exc.character, str) else exc.character
        # The reader stops at the first such character; libyaml counts its position in bytes.
        at = fm_text.find(chr(code)) if isinstance(code, int) else -1
        line = first_fm_line + (fm_text.count("\n", 0, at) if at >= 0 else 0)
        raise FrontMatterError(
            f"invalid YAML: unacceptable character #x{code:04x} ({_unquoted(exc.reason)}); remove it", line
        ) from None
    except yaml.YAMLError as exc:
        raise FrontMatterError(f"invalid YAML: {_unquoted(exc)}", first_fm_line) from None
    except (ValueError, TypeError, OverflowError) as exc:  # construct_object names most of these
        raise FrontMatterError(f"invalid value: {_unquoted(exc)}", first_fm_line) from None
    finally:
        if loader is not None:
            loader.dispose()
    return Parsed(data=data, body=body, key_lines=key_lines, body_line=body_line)


def front_matter_span(text: str) -> tuple[int, int, int]:
    """Where the front matter's fields start and end and the body starts in `text`
    (offsets); FrontMatterError when there is no front matter or it is never closed."""
    if not FENCE.match(text):
        if not text.strip():
            raise FrontMatterError("the file is empty; an article starts with a '---' line, its fields, then '---'", 1)
        raise FrontMatterError(
            f"no front matter: the file must start with a line '---', then the fields "
            f"(title, webUrl, publishedDateTime, ...), then '---'{_first_line_hint(text)}",
            1,
        )
    fences = list(FENCE.finditer(text))
    if len(fences) < 2:
        raise FrontMatterError(
            "the front matter opened by '---' on line 1 is never closed; add a line '---' after the last field",
            1,
        )
    opening, closing = fences[0], fences[1]
    # The fence pattern may swallow blank lines after '---'; count from the true line end.
    fm_start = text.index("\n", opening.start()) + 1 if "\n" in text[opening.start():closing.start()] else opening.end()
    body_start = closing.end()
    if text.startswith("\r\n", body_start):
        body_start += 2
    elif text.startswith("\n", body_start):
        body_start += 1
    return fm_start, closing.start(), body_start


def _check_nesting(fm_text: str, first_line: int) -> None:
    """Refuse deep nesting from the event stream, before anything is composed: libyaml's
    composer recurses in C and crashes the interpreter on ~30,000 nested '[', and its
    scanner slows quadratically with depth, so stop at the first level too deep."""
    loader = FrontMatterLoader(fm_text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise FrontMatterError(
                        f"the front matter nests deeper than {MAX_DEPTH} levels", first_line + event.start_mark.line
                    )
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    finally:
        loader.dispose()


def _field_at(key_lines: dict, line: int) -> str | None:
    """The top-level field whose value holds `line` (the last key starting at or above it);
    None when two keys start on that line (a flow mapping): which one holds the value is
    not known, and a value of `secured` must never be quoted as another field's."""
    above = [(key_line, key) for key, key_line in key_lines.items() if key_line <= line]
    if not above:
        return None
    last = max(above)
    return None if sum(key_line == last[0] for key_line, _ in above) > 1 else last[1]


def _check_size(root, first_line: int) -> None:
    """Refuse documents that would expand into huge structures (alias bombs) or nest absurdly,
    and keys given twice in a mapping (YAML would keep the last one without a word).
    Counts level by level, an alias as often as it is used, so a bomb stops at MAX_NODES."""
    count, depth, level = 0, 0, [root]
    while level:
        count += len(level)
        if count > MAX_NODES:
            raise FrontMatterError(
                f"the front matter is too large (over {MAX_NODES} values, perhaps through repeated "
                f"YAML aliases); keep records to plain fields",
                first_line,
            )
        if depth > MAX_DEPTH:
            raise FrontMatterError(
                f"the front matter nests deeper than {MAX_DEPTH} levels", first_line + level[0].start_mark.line
            )
        below = []
        for node in level:
            kind = type(node)
            if kind is yaml.MappingNode:
                for key, value in node.value:
                    below.append(key)
                    below.append(value)
                if len(node.value) > 1:
                    _check_unique_keys(node, first_line)
            elif kind is yaml.SequenceNode:
                below.extend(node.value)
        level, depth = below, depth + 1


def _first_line_hint(text: str) -> str:
    """Why a file without `---` is no article, without quoting it (it may be a record
    whose fence is missing, and its first field `secured`)."""
    first = text.lstrip().split("\n", 1)[0].strip()
    if first.startswith("+++"):
        return "; TOML front matter ('+++') is not supported, write YAML fields between '---' lines"
    if re.match(r"[A-Za-z_][\w-]*:(?:\s|$)", first):
        return "; the first line is a field, so the opening '---' line above it is missing"
    return ""


# A quoted part of a YAML library message. One character ("expected ',' or ']'", "found
# character '\\t'") or a token's name ('<block end>') says what to fix; anything else is a
# tag, alias or anchor taken from the front matter, where any text can stand.
_QUOTED = re.compile(r"""\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")
_KEPT = re.compile(r"""(['"])(?:[^\\]|\\(?:[^xuU]|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})|<[a-z ]+>)\1""")


def _unquoted(message) -> str:
    """A YAML library message without the front matter's text: its first line (the rest is a
    snippet of the source) with quoted parts left out but for those _KEPT. A message that
    still has a stray quote after that is replaced by a general one."""
    text = str(message).split("\n", 1)[0]
    text = _QUOTED.sub(lambda m: m.group() if _KEPT.fullmatch(m.group(1)) else "", text)
    rest = _QUOTED.sub("", text)
    if "'" in rest or '"' in rest or not text.strip():
        return "the YAML syntax is not valid here"
    return text


def _check_unique_keys(mapping, first_line: int) -> None:
    """A key given twice in one mapping is an error at the second, naming the first's line."""
    pairs = mapping.value
    if len({(key.tag, key.value) for key, _ in pairs if type(key) is yaml.ScalarNode}) == len(pairs):
        return  # all different (almost every record): found in one pass
    seen: dict = {}
    for key, _ in pairs:
        if type(key) is yaml.ScalarNode:  # `title` and "title" are one key; 1 and "1" are two
            first = seen.setdefault((key.tag, key.value), key)
            if first is not key:
                raise FrontMatterError(
                    f"{_preview(key.value)} is given twice (first on line {first_line + first.start_mark.line}); "
                    f"keep one of them",
                    first_line + key.start_mark.line,
                )


def _describe_yaml_error(exc: yaml.MarkedYAMLError, mark) -> str:
    # exc.problem and exc.context only: str(exc) adds a snippet of the offending lines
    problem = _unquoted(exc.problem or "")
    if "maximum nesting depth" in problem:  # newer libyaml stops deep nesting itself
        return f"the front matter nests deeper than {MAX_DEPTH} levels"
    hint = ""
    if "mapping values are not allowed" in problem or "could not find expected ':'" in problem:
        hint = "; a value containing ': ' must be in quotes, e.g. title: \"Why: a story\""
    elif "found character '\\t'" in problem or "tab" in problem:
        hint = "; indent with spaces, not tabs"
    elif "found undefined tag" in problem or "could not determine a constructor" in problem:
        hint = "; YAML tags (!!python/..., !custom) are not allowed in article records"
    elif "found unknown escape character" in problem:
        hint = "; inside double quotes write a backslash as \\\\, or use single quotes"
    elif "expected <block end>" in problem or "did not find expected" in problem:
        hint = "; check the indentation and the quotes on this line"
    context = f" {_unquoted(exc.context)}" if exc.context else ""
    column = f" (column {mark.column + 1})" if mark is not None and mark.column is not None else ""
    return f"invalid YAML: {problem}{context}{column}{hint}"

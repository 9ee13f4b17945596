"""The front-matter loader builds plain records directly, for speed; it must build exactly
what PyYAML's SafeConstructor builds from the same nodes, for any input."""

from __future__ import annotations

import yaml
import yaml.constructor
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus import generate
from site_builder.yamlfm import FENCE, FrontMatterLoader


def both(text: str):
    results = []
    for construct in (yaml.constructor.SafeConstructor.construct_document, FrontMatterLoader.construct_document):
        loader = FrontMatterLoader(text)
        try:
            node = loader.get_single_node()
            results.append(("ok", repr(construct(loader, node)) if node is not None else None))
        except yaml.YAMLError as exc:
            results.append(("error", type(exc).__name__, str(exc)))
        finally:
            loader.dispose()
    return results


def test_generated_records_build_the_same(tmp_path):
    for path in generate(300, 11, tmp_path):
        text = path.read_text()
        fences = list(FENCE.finditer(text))
        direct, safe = both(text[fences[0].end():fences[1].start()])
        assert direct == safe


TRICKY = [
    "a: &x [1, 2]\nb: *x\nc: *x\n", "a: !!binary aGVsbG8=\n", "? [1, 2]\n: x\n", "a: !!python/object:os.system x\n",
    "d: 2024-02-30\n", "d: 2024-01-01T10:00:00+02:00\nn: 0x1F\nf: .5\nb: TRUE\nz: ~\n", "a: !!set {x, y}\n",
    "a: &r [*r]\n", "a: !!str {b: c}\n", "a: !!str [1]\n", "a: &x hello\nb: *x\n", "? !!str x\n: y\n",
    "a: {b: {c: [1, {d: e}]}}\n", "'k': !!str 10\n", "- just\n- a list\n", "plain\n",
]


def test_tricky_documents_build_the_same():
    for text in TRICKY:
        direct, safe = both(text)
        assert direct == safe, text


scalars = st.one_of(st.text(max_size=20), st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
                    st.dates(), st.datetimes())
records = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                       max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), records, max_size=6), st.booleans())
def test_random_documents_build_the_same(data, flow):
    direct, safe = both(yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True))
    assert direct == safe


SCALAR = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "~", "null", "NULL", "true", "False", "yes", "no", "0", "-0", "0x1F", "0o17", "010", ".5", "1e3",
                     "-.inf", ".NaN", "2024-05-14", "2024-5-1 9:30:00", "2024-05-14T09:30:00Z", "10:00", "+1", "1_000"]),
    st.from_regex(r"[-+.0-9eExo:TZ ]{1,14}", fullmatch=True),
)


@settings(max_examples=1500, deadline=None)
@given(value=SCALAR, implicit=st.sampled_from([(True, False), (False, True), (True, True), (False, False)]))
def test_fast_resolver_gives_the_tags_of_pyyamls_resolver(value, implicit):
    """FrontMatterLoader.resolve skips BaseResolver's path bookkeeping; every tag must be
    the one BaseResolver.resolve gives with the same implicit resolvers."""
    from yaml.resolver import BaseResolver

    loader = FrontMatterLoader("a: b\n")
    try:
        for kind in (yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode):
            assert loader.resolve(kind, value, implicit) == BaseResolver.resolve(loader, kind, value, implicit)
    finally:
        loader.dispose()

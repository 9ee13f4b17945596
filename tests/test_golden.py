"""Golden output: a tiny site whose every output byte is reviewed in git.

When a change to the theme or pipeline is intended, regenerate the expected folder with
    pytest tests/test_golden.py --regen-golden
(the test then skips) and review the diff of tests/golden/expected/ like any other change.
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from site_builder.cli import main

GOLDEN = Path(__file__).parent / "golden"
SEARCH_BUNDLE = "pagefind"  # Pagefind's own output, version-dependent: tests/test_reader.py reads it
MANIFEST = ".site-builder-manifest"  # lists the search bundle's names too: tests/test_trust_output.py reads it


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).parts[0] not in (SEARCH_BUNDLE, MANIFEST)
    }


def test_golden_site(tmp_path, request):
    site, out = tmp_path / "site", tmp_path / "_site"
    shutil.copytree(GOLDEN / "site", site)  # a build leaves its .cache/ beside the site, not in the checkout
    assert main(["build", str(site), "-o", str(out)]) == 0
    expected_dir = GOLDEN / "expected"
    if request.config.getoption("--regen-golden"):
        shutil.rmtree(expected_dir, ignore_errors=True)
        shutil.copytree(out, expected_dir, ignore=lambda d, names: [SEARCH_BUNDLE, MANIFEST] if Path(d) == out else [])
        pytest.skip("golden files regenerated; review the diff of tests/golden/expected/ and run again")
    assert (out / SEARCH_BUNDLE / "pagefind.js").is_file()
    actual, expected = _files(out), _files(expected_dir)
    assert sorted(actual) == sorted(expected), "pages added or removed; see --regen-golden"
    for rel in expected:
        if actual[rel] != expected[rel]:
            diff = difflib.unified_diff(
                expected[rel].decode(errors="replace").splitlines(),
                actual[rel].decode(errors="replace").splitlines(),
                f"expected/{rel}", f"actual/{rel}", lineterm="",
            )
            raise AssertionError("\n".join(list(diff)[:80]) + "\n(regenerate with --regen-golden if intended)")

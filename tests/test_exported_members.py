"""The public Python API is exactly what docs/python-api.md lists."""

from __future__ import annotations

import re

import modelward
from conftest import ROOT


def test_public_api_matches_the_docs():
    text = (ROOT / "docs" / "python-api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^- `(\w+)`", text, flags=re.MULTILINE))
    assert documented == set(modelward.__all__)
    assert modelward.__all__ == sorted(modelward.__all__)
    for name in modelward.__all__:
        assert getattr(modelward, name) is not None

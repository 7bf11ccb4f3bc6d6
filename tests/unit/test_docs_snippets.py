"""Every Python snippet in ``docs/`` runs, each in a fresh interpreter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
SNIPPET = re.compile(r"```python\n(.*?)```", re.DOTALL)

snippets = [
    pytest.param(code, id=f"{page.name}#{number}")
    for page in sorted(DOCS.glob("*.md"))
    for number, code in enumerate(SNIPPET.findall(page.read_text()), start=1)
]


def test_the_docs_have_snippets() -> None:
    assert len(snippets) >= 2


@pytest.mark.parametrize("code", snippets)
def test_snippet_runs(code: str) -> None:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr

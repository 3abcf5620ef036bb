"""The README's examples run verbatim against a live Loam."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_examples_run(server, monkeypatch, unique) -> None:
    monkeypatch.setenv("LOAM_API_KEY", server["api_key"])
    monkeypatch.setenv("LOAM_API_BASE_URL", server["url"])
    code = "\n".join(blocks()).replace("customer-feedback", f"customer-feedback-{unique}")
    assert "insert_many" in code and "privacy_model" in code
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})

"""Runtime files shipped inside the wheel (schemas/, hooks/), found the same way installed or not."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def resource_path(*parts: str) -> Path:
    # The wheel maps the top-level schemas/ and hooks/ into the package (pyproject force-include);
    # an editable install runs from the checkout, where they sit one level up.
    packaged = resources.files("prov_git").joinpath(*parts)
    if packaged.is_file() or packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent.joinpath(*parts)


def read_text(*parts: str) -> str:
    return resource_path(*parts).read_text(encoding="utf-8")

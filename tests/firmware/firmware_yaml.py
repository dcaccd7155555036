"""Reading the firmware's ESPHome YAML as data (custom tags kept as their text)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class _Tagged(str):
    """A `!lambda` / `!secret` / `!include` value kept as its text."""


class _Loader(yaml.SafeLoader):
    """ESPHome YAML: keep custom tags' text instead of failing on them."""


for _tag in ("!lambda", "!secret", "!include", "!extend", "!remove"):
    _Loader.add_constructor(_tag, lambda loader, node: _Tagged(loader.construct_scalar(node)))


def load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass


def lambdas(node: Any) -> list[str]:
    """Every lambda text anywhere in a parsed YAML document."""
    if isinstance(node, dict):
        return [text for value in node.values() for text in lambdas(value)]
    if isinstance(node, list):
        return [text for value in node for text in lambdas(value)]
    return [node] if isinstance(node, str) and "greennet::" in node else []

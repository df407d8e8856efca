"""Built-in graph templates, shipped as JSON in ``resources/templates`` (importlib.resources)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from graph_engine.model import Graph
from graph_engine.serialization import loads

#: the app's embedded default: a small CNN for scikit-learn's 8×8 digits
DEFAULT_TEMPLATE = "digits_cnn"
_PACKAGE = "resources.templates"


@dataclass(frozen=True)
class TemplateInfo:
    key: str
    name: str
    description: str


def _files():
    return resources.files(_PACKAGE)


def list_templates() -> list[TemplateInfo]:
    """Every shipped template with its display name and description, sorted by key."""
    found = []
    for entry in sorted(_files().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text(encoding="utf-8"))
            found.append(TemplateInfo(entry.name[:-5], data.get("name", entry.name),
                                      data.get("description", "")))
    return found


def load_template(key: str = DEFAULT_TEMPLATE) -> Graph:
    """Load a shipped template by key (its file name without .json)."""
    entry = _files().joinpath(f"{key}.json")
    if not entry.is_file():
        known = ", ".join(t.key for t in list_templates())
        raise KeyError(f"no template {key!r} (known: {known})")
    return loads(entry.read_text(encoding="utf-8"), f"template {key}")

"""The Patches view's choice of layers for the open document, kept up to date edit by edit.

Listing every layer that can show top patches walks the whole graph; on a 10,000-node graph
that is most of an edit's cost. An analysis made by a re-analysis says which nodes it
changed, so only those are looked at again.
"""

from __future__ import annotations

from graph_engine import Analysis
from graph_engine.patch_choice import patch_candidate


class PatchNodes:
    """(node id, label) of the document's layers with top patches, in topological order."""

    def __init__(self) -> None:
        self._analysis: Analysis | None = None
        self._entries: dict[str, tuple[str, str] | None] = {}
        self._found: list[tuple[str, str]] = []

    def update(self, analysis: Analysis) -> list[tuple[str, str]]:
        previous = self._analysis
        changed = analysis.changed_since(previous) if analysis.flat is None else None
        self._analysis = analysis
        if changed is None:
            self._entries = {}
        else:
            if previous is not None and analysis.wiring is previous.wiring and all(
                    self._entries.get(n, "?") == patch_candidate(analysis, n) for n in changed):
                return self._found  # the same order, no layer's entry changed
            for node_id in changed:
                self._entries.pop(node_id, None)
        compiled = analysis.compiled()
        found = []
        for node_id in compiled.order:
            if node_id not in self._entries:
                self._entries[node_id] = patch_candidate(compiled, node_id)
            entry = self._entries[node_id]
            if entry is not None:
                found.append(entry)
        self._found = found
        return found

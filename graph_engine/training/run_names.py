"""A run's node ids versus the document's, after nodes were renamed (issue 13).

A run trains a snapshot: its child process, metrics file and checkpoints keep the ids the
nodes had when it started. When the user renames a node (``conv1`` → ``features``, undoable),
the views should go on showing that node, under its new name. :class:`RunNames` follows the
renames made since the shown run started; :func:`rename_in_history` re-keys what a
:class:`RunHistory` holds by node; :func:`rename_in_event` translates a trainer event on its way
into the history. Requests going back to the run (the watched node, a checkpoint's feature
maps or patches) use :meth:`RunNames.run_id`.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from graph_engine.training.history import ProbeResult, RunHistory


class RunNames:
    """Renames since the run started: ``to_document(run id)`` and ``run_id(document id)``."""

    def __init__(self) -> None:
        #: an id a node no longer has -> the id it was given (chains follow one another)
        self._renamed: dict[str, str] = {}

    def reset(self) -> None:
        """A run starts from the document as it is: its ids are the document's."""
        self._renamed.clear()

    def rename(self, old: str, new: str) -> None:
        """The document renamed ``old`` to ``new`` (an undo renames back)."""
        self._renamed[old] = new
        self._renamed.pop(new, None)  # ``new`` names a node now: it is nobody's old id

    def to_document(self, run_id: str) -> str:
        seen = set()
        while run_id in self._renamed and run_id not in seen:
            seen.add(run_id)
            run_id = self._renamed[run_id]
        return run_id

    def run_id(self, document_id: str, run_ids: Iterable[str]) -> str:
        """The id the run knows the document's node by (the id itself when not renamed)."""
        for run_id in run_ids:
            if self.to_document(run_id) == document_id:
                return run_id
        return document_id

    def __bool__(self) -> bool:
        return bool(self._renamed)


def _keys(data: dict, rename: Callable[[str], str]) -> dict:
    return {rename(key) if isinstance(key, str) else key: value for key, value in data.items()}


def _probe_data(kind: str, data: Any, rename: Callable[[str], str]) -> Any:
    """A probe's data with its node ids renamed (kinds without node ids as they are)."""
    if not isinstance(data, dict):
        return data
    if kind in ("activations", "feature_maps"):
        return _keys(data, rename)
    if kind == "gradients":
        return {key: _keys(value, rename) if key in ("norms", "update_ratios") and isinstance(value, dict)
                else value for key, value in data.items()}
    if kind == "filters" and isinstance(data.get("node"), str):
        return {**data, "node": rename(data["node"])}
    return data


def rename_in_event(event: dict[str, Any], rename: Callable[[str], str]) -> dict[str, Any]:
    """``event`` (a trainer event) with the node ids it names renamed; unchanged events as they are."""
    kind = event.get("type")
    if kind == "probe":
        return {**event, "data": _probe_data(event.get("kind", ""), event.get("data"), rename)}
    if kind == "started" and event.get("activation_nodes"):
        return {**event, "activation_nodes": [rename(n) for n in event["activation_nodes"]]}
    if kind == "failed" and isinstance(event.get("node"), str):
        return {**event, "node": rename(event["node"])}
    return event


def rename_in_history(history: RunHistory, rename: Callable[[str], str]) -> None:
    """Re-key everything ``history`` holds by node id; the views redraw (its version moves on)."""
    history.activation_nodes = [rename(n) for n in history.activation_nodes]
    for name in ("gradients", "histograms", "activation_series"):
        setattr(history, name, _keys(getattr(history, name), rename))
    if history.failed_node is not None:
        history.failed_node = rename(history.failed_node)
    for kind, probe in list(history.probes.items()):
        data = _probe_data(kind, probe.data, rename)
        if data is not probe.data:
            history.probes[kind] = ProbeResult(probe.step, data)
            history.changed.add(kind)
    history.changed.add("status")
    history.version += 1

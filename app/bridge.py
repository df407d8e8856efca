"""The one place where the engine's events become Qt signals.

``graph_engine`` has its own small signals (it never imports Qt). The bridge subscribes
to one graph at a time, re-emits each event as a Qt signal, and sorts what happened
into kinds of change, so the document can tell its views whether a command touched
the network (shapes, validation), only the layout, the training settings or the name.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from graph_engine.model import Graph, Node
from graph_engine.reanalysis import ChangeLog, Touched

NETWORK = "network"
LAYOUT = "layout"
TRAINING = "training"
NAME = "name"
ALL_CHANGES = frozenset({NETWORK, LAYOUT, TRAINING, NAME})


def node_change_kind(old: Node, new: Node) -> str:
    """A node's type or params are the network; where it stands and its label are layout."""
    return NETWORK if (old.type, old.params) != (new.type, new.params) else LAYOUT


class GraphBridge(QObject):
    """Qt signals for one graph's events, plus the kinds of change since the last ``take``."""

    node_added = Signal(object)
    node_removed = Signal(object)
    node_changed = Signal(object, object)
    edge_added = Signal(object)
    edge_removed = Signal(object)
    training_changed = Signal(object)
    name_changed = Signal(str)
    blocks_changed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.graph: Graph | None = None
        self._pending: set[str] = set()
        self._subscriptions: list[tuple[Any, Callable[..., None]]] = []
        #: which nodes the network changes touched: what a re-analysis must look at again
        self._touched = ChangeLog()

    def attach(self, graph: Graph) -> None:
        """Listen to ``graph`` (and no longer to the one before)."""
        self.detach()
        self.graph = graph
        self._subscriptions = [
            (graph.node_added, self._relay(self.node_added, NETWORK)),
            (graph.node_removed, self._relay(self.node_removed, NETWORK)),
            (graph.edge_added, self._relay(self.edge_added, NETWORK)),
            (graph.edge_removed, self._relay(self.edge_removed, NETWORK)),
            (graph.node_changed, self._node_changed),
            (graph.training_changed, self._relay(self.training_changed, TRAINING)),
            (graph.name_changed, self._relay(self.name_changed, NAME)),
            (graph.blocks_changed, self._relay(self.blocks_changed, NETWORK)),
        ]
        self._touched.follow(graph)
        for signal, callback in self._subscriptions:
            signal.connect(callback)
        self._pending.clear()

    def detach(self) -> None:
        for signal, callback in self._subscriptions:
            signal.disconnect(callback)
        self._subscriptions = []
        self._touched.unfollow()
        self.graph = None

    def take_changes(self) -> frozenset[str]:
        """The kinds of change since the last call (and forget them)."""
        changes = frozenset(self._pending)
        self._pending.clear()
        return changes

    def take_touched(self) -> Touched:
        """The nodes the network changes since the last call touched (and forget them)."""
        return self._touched.take()

    def _relay(self, qt_signal: Any, kind: str) -> Callable[..., None]:
        def relay(*args: Any) -> None:
            self._pending.add(kind)
            qt_signal.emit(*args)
        return relay

    def _node_changed(self, old: Node, new: Node) -> None:
        self._pending.add(node_change_kind(old, new))
        self.node_changed.emit(old, new)

"""Opening big graphs in the editor: a size it refuses, progress with Cancel, and edge labels
left out where they would cost more than they tell.

Measured with ``bench/canvas_scale.py --open`` (README, Benchmarks): the editor's cost grows
linearly, about 0.25 ms and 7 KB per node of a chain on the 2-core VM. The command line
(``rosenblatt summary``) reads any graph the loader accepts.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QProgressDialog, QWidget

from graph_engine import Graph
from widgets.canvas import GraphScene

#: the most nodes and edges the editor opens (a graph beyond either is refused with a message)
MAX_NODES = 50_000
MAX_EDGES = 100_000
#: from this many nodes and edges together, opening shows progress and can be cancelled
PROGRESS_FROM = 4_000
#: beyond this many edges, edges carry no shape label (their tooltip still says it)
EDGE_LABELS_UP_TO = 20_000
#: items made between two looks at the event loop
CHUNK = 1000


def refusal(graph: Graph, name: str) -> str | None:
    """Why the editor will not open ``graph`` (None: it will)."""
    nodes, edges = len(graph), len(graph.edges)
    if nodes <= MAX_NODES and edges <= MAX_EDGES:
        return None
    return (f"{name} has {nodes:,} nodes and {edges:,} edges; the editor opens graphs of up to "
            f"{MAX_NODES:,} nodes and {MAX_EDGES:,} edges. `rosenblatt summary` and `rosenblatt export` "
            "read it from the command line.")


def edge_labels_for(graph: Graph) -> bool:
    return len(graph.edges) <= EDGE_LABELS_UP_TO


def build_with_progress(parent: QWidget, graph: Graph, name: str) -> GraphScene | None:
    """The scene of a big graph, made a chunk at a time under a progress dialog; None when
    the person pressed Cancel (nothing of it is kept)."""
    scene = GraphScene(graph, build=False)
    scene.edge_labels = edge_labels_for(graph)
    dialog = QProgressDialog(f"Opening {name}…", "Cancel", 0, 1000, parent)
    dialog.setWindowTitle("Opening")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(0)
    dialog.setValue(0)
    try:
        for done in scene.build_steps(CHUNK):
            dialog.setValue(int(done * 1000))
            QApplication.processEvents()
            if dialog.wasCanceled():
                scene.deleteLater()
                return None
    finally:
        dialog.close()
        dialog.deleteLater()
    return scene

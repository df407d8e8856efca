"""Issue 13, defect 6 and "a layout that reads": after auto-layout no edge passes behind a
node (skips run beside what they skip, a wrapped chain steps to its next band through the
gap), in the real window after pressing L."""

import pytest
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow
from graph_engine import Graph, load_template
from widgets.canvas import NodeItem


def _behind(scene) -> list[tuple[str, str]]:
    """(edge, node) pairs where an edge's line runs over a node other than its ends."""
    found = []
    for edge, item in scene.edge_items().items():
        path = item.path
        for i in range(1, 50):
            point = path.pointAtPercent(i / 50)
            for hit in scene.items(point):
                if isinstance(hit, NodeItem) and hit.node_id not in (edge.source, edge.target) \
                        and hit.sceneBoundingRect().adjusted(12, 4, -12, -4).contains(point):
                    found.append((f"{edge.source}->{edge.target}", hit.node_id))
    return sorted(set(found))


def _deep_chain() -> Graph:
    graph = Graph("deep")
    previous = graph.create_node("Input", {"shape": [16]}).id
    for _ in range(60):
        previous_node = graph.create_node("ReLU")
        graph.connect(previous, previous_node.id)
        previous = previous_node.id
    return graph


@pytest.mark.parametrize("graph", [load_template("resnet_style"), load_template("unet_like"), _deep_chain()],
                         ids=["resnet_style", "unet_like", "deep_chain"])
def test_after_auto_layout_no_edge_passes_behind_a_node(qtbot, graph):
    window = MainWindow(graph, autosave=False)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    try:
        view_menu = window.menuBar().actions()[2].menu()
        next(a for a in view_menu.actions() if a.text() == "Auto-&layout").trigger()  # L
        QApplication.processEvents()
        assert _behind(window.scene) == []
    finally:
        window.document.undo_stack.setClean()
        window.close()

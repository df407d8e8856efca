"""The Boundary panel draws the plane by predicted class, the points, and the hidden units."""

import numpy as np
from PySide6.QtCore import Qt

from graph_engine.training.history import RunHistory
from widgets.boundary_panel import NO_RUN_TEXT, TWO_CLASS_COLORS, BoundaryPanel, plane_rgb


def _probe(step=40):
    predicted = np.zeros((8, 8), dtype=np.uint8)
    predicted[:, 4:] = 1
    return {"type": "probe", "kind": "boundary", "step": step, "data": {
        "extent": (-2.0, 2.0, -1.0, 1.0), "predicted": predicted, "confidence": np.full((8, 8), 255, np.uint8),
        "points": np.array([[-1.0, 0.0], [1.0, 0.5]], np.float32), "labels": np.array([0, 1], np.uint8),
        "hidden": {"relu1": np.full((3, 8, 8), 200, np.uint8)}, "train_accuracy": 1.0}}


def test_certain_cells_take_their_class_colour_and_a_coin_toss_stays_pale():
    rgb = plane_rgb(np.array([[0, 1]]), np.array([[255, 128]], np.uint8), 2)
    sure, unsure = rgb[0, 0].astype(int), rgb[0, 1].astype(int)
    assert np.abs(sure - np.array(TWO_CLASS_COLORS[0])).sum() < np.abs(sure - 255).sum()
    assert (unsure > 220).all()


def test_the_panel_shows_a_run_boundary_and_its_hidden_units(qtbot):
    panel = BoundaryPanel()
    qtbot.addWidget(panel)
    panel.resize(400, 500)
    panel.show()
    panel.set_history(None)
    assert panel.stack.currentWidget() is panel.message and panel.message.text() == NO_RUN_TEXT
    history = RunHistory()
    history.apply(_probe())
    panel.set_history(history)
    assert panel.stack.currentIndex() == 1
    assert panel.image.image.shape == (8, 8, 3)
    assert tuple(panel.image.image[0, 0]) != tuple(panel.image.image[0, 7])  # two classes, two colours
    assert len(panel.points.data) == 2
    assert "Step 40: 100% of the 2 training points" in panel.caption.text()
    assert not panel.units.isVisible()
    qtbot.mouseClick(panel.show_units, Qt.MouseButton.LeftButton)
    assert panel.units.isVisible() and "relu1 (3)" in panel.units_caption.text()
    history.apply(_probe(step=80))
    panel.refresh()
    assert panel.caption.text().startswith("Step 80")

"""Issue 13, big graphs: the minimap follows a layout at once (its picture and the view's frame)."""

from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow
from graph_engine import load_template


def test_the_minimap_follows_a_layout_at_once(qtbot):
    """A picture taken right after Lay out (docs/images/blocks_collapsed.png) showed the minimap's
    old picture, and the view's frame measured against it in the wrong place."""
    window = MainWindow(load_template("vgg_style"), autosave=False)
    qtbot.addWidget(window)
    window.resize(1700, 900)
    window.show()
    qtbot.waitExposed(window)
    minimap = window.view.minimap
    window.controller.auto_layout()
    window.document.undo_stack.setClean()  # closing asks nothing
    window.view.centerOn(window.scene.node_item("fc1"))
    for _ in range(3):  # the next turns of the event loop, no waiting
        QApplication.processEvents()
    drawn = QRectF()
    for item in window.scene.node_items().values():
        drawn = drawn.united(item.sceneBoundingRect())
    assert minimap._source == drawn.adjusted(-60, -60, 60, 60)
    frame = minimap.visible_frame()  # where fc1 is, in the minimap's picture
    scale, offset = minimap._scale()
    fc1 = offset + (window.scene.node_item("fc1").sceneBoundingRect().center() - minimap._source.topLeft()) * scale
    assert frame.contains(fc1)


def test_no_frame_while_the_view_shows_the_whole_graph(qtbot):
    window = MainWindow(load_template("vgg_style"), autosave=False)
    qtbot.addWidget(window)
    window.resize(1700, 900)
    window.show()
    qtbot.waitExposed(window)
    window.controller.auto_layout()
    window.document.undo_stack.setClean()
    window.view.fit()
    for _ in range(3):
        QApplication.processEvents()
    minimap = window.view.minimap
    picture = minimap.grab().toImage()
    framed = sum(1 for x in range(0, picture.width(), 2) for y in range(0, picture.height(), 2)
                 if picture.pixelColor(x, y).blue() > 200 and picture.pixelColor(x, y).red() < 100)
    assert framed == 0, "a frame (the view's area) is drawn though the view shows the whole graph"

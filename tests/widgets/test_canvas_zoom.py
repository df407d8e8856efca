"""Big graphs you can inspect (issue 13): names at every zoom where a card is over ~40 px
wide, and a coloured overview below that."""

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from graph_engine import load_template
from widgets.canvas import GraphScene, GraphView


def _dark_pixels(view, item) -> int:
    image = view.viewport().grab().toImage()
    rect = view.mapFromScene(item.sceneBoundingRect()).boundingRect().intersected(view.viewport().rect())
    return sum(1 for x in range(rect.left(), rect.right()) for y in range(rect.top(), rect.bottom())
               if image.pixelColor(x, y).lightness() < 90)


def test_names_show_while_a_card_is_over_40_px_wide(qtbot):
    view = GraphView()
    scene = GraphScene(load_template("digits_cnn"), parent=view)
    view.setScene(scene)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    item = scene.node_item("conv2")
    for zoom, named in ((0.3, True), (0.25, True), (0.2, False)):  # 51, 42 and 34 px wide
        view.set_zoom(zoom)
        view.centerOn(item)
        QApplication.processEvents()
        assert (_dark_pixels(view, item) > 15) == named, zoom
    scene.detach()

"""File → New from template is a gallery: thumbnails drawn from the graphs, parameter counts
and the dataset each trains on (issue 13)."""

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.template_gallery import TemplateGallery
from graph_engine import list_templates


def test_the_gallery_shows_a_thumbnail_params_and_dataset_per_template(qtbot):
    gallery = TemplateGallery()
    qtbot.addWidget(gallery)
    gallery.show()
    qtbot.waitExposed(gallery)
    items = [gallery.list.item(i) for i in range(gallery.list.count())]
    assert [i.data(Qt.ItemDataRole.UserRole) for i in items] == [t.key for t in list_templates()]
    for item in items:
        image = item.icon().pixmap(gallery.list.iconSize()).toImage()
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
        assert len(colours) > 5, item.text()  # a drawing, not a blank tile
        assert "parameters · trains on " in item.text()
    lenet = next(i for i in items if i.data(Qt.ItemDataRole.UserRole) == "lenet5")
    assert "61,706 parameters" in lenet.text()
    rect = gallery.list.visualItemRect(lenet)
    QTest.mouseClick(gallery.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    QTest.mouseDClick(gallery.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert gallery.result() == gallery.DialogCode.Accepted and gallery.key() == "lenet5"

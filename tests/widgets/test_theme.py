"""The shared theme: every layer category of the registry has its own colour."""

from PySide6.QtGui import QColor

from graph_engine import CATEGORIES, layer_types
from graph_engine.block_face import BLOCK_CATEGORY
from widgets.theme import CATEGORY_COLORS, UNKNOWN_COLOR, category_color


def test_every_registry_category_has_a_colour():
    used = {spec.category for spec in layer_types()}
    assert used <= set(CATEGORIES)
    assert set(CATEGORY_COLORS) == set(CATEGORIES) | {BLOCK_CATEGORY}  # and block uses have theirs
    for category in (*CATEGORIES, BLOCK_CATEGORY):
        color = category_color(category)
        assert isinstance(color, QColor) and color.isValid()
        assert color != UNKNOWN_COLOR


def test_categories_are_told_apart_and_unknown_ones_are_grey():
    names = {category_color(category).name() for category in CATEGORIES}
    assert len(names) == len(CATEGORIES)
    assert category_color(None) == UNKNOWN_COLOR
    assert category_color("No such category") == UNKNOWN_COLOR

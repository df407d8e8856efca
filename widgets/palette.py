"""The layer palette: every registered layer type, grouped by category, searchable, and
the blocks: the document's definitions and those of block library files.

The palette is built from the registry (``layer_types()``), so a new layer type
appears here without any GUI change. It never touches a graph: dragging an item
carries the type name (:mod:`widgets.drag_mime`), and a double-click or Enter emits
:attr:`LayerPalette.add_requested`; the app turns either into an undoable command.
"""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView, QLineEdit, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from graph_engine import CATEGORIES, layer_types
from widgets.drag_mime import LAYER_MIME_TYPE, layer_mime_data, shown_name, type_from_mime_data
from widgets.trees import EnterTreeWidget

__all__ = ["LAYER_MIME_TYPE", "LayerPalette", "TYPE_ROLE", "layer_mime_data", "type_from_mime_data"]

#: Item data role holding a layer item's type name (category rows hold None).
TYPE_ROLE = Qt.ItemDataRole.UserRole
#: the group of the document's own block definitions, and the prefix of a library's group
BLOCKS_GROUP = "Blocks in this file"
LIBRARY_PREFIX = "Library · "


class _LayerTree(EnterTreeWidget):
    """The palette's tree: drags carry the layer type; Enter asks for a layer."""


    def mimeTypes(self) -> list[str]:  # Qt override
        return [LAYER_MIME_TYPE]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData | None:  # Qt override
        names = [item.data(0, TYPE_ROLE) for item in items]
        names = [name for name in names if name]
        if not names:
            return None
        return layer_mime_data(names[0])

    def supportedDropActions(self) -> Qt.DropAction:  # Qt override
        return Qt.DropAction.CopyAction



class _SearchField(QLineEdit):
    """The search line: Down moves into the list."""

    down_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # Qt override
        if event.key() == Qt.Key.Key_Down:
            self.down_pressed.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class LayerPalette(QWidget):
    """A search field above the layer types, grouped by category in CATEGORIES order.

    Signals:
        add_requested(str): the user double-clicked a layer or pressed Enter on it (or
            pressed Enter in the search field, which picks the current or first match).
    """

    add_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.search = _SearchField(self)
        self.search.setPlaceholderText("Search layers…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Filter by name or description; Enter adds the highlighted layer")

        self.tree = _LayerTree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(1)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setUniformRowHeights(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)

        #: category name -> its row; type name -> its row
        self.category_items: dict[str, QTreeWidgetItem] = {}
        self.type_items: dict[str, QTreeWidgetItem] = {}
        self._populate()

        self.search.textChanged.connect(self.set_filter)
        self.search.returnPressed.connect(self._add_current_match)
        self.search.down_pressed.connect(self._focus_tree)
        self.tree.itemDoubleClicked.connect(self._item_chosen)
        self.tree.return_pressed.connect(self._item_returned)

    # -- building ---------------------------------------------------------------------
    def _populate(self) -> None:
        specs = layer_types()
        for category in CATEGORIES:
            members = [s for s in specs if s.category == category]
            if not members:
                continue
            group = QTreeWidgetItem(self.tree, [category])
            self._group_style(group)
            self.category_items[category] = group
            for spec in members:
                item = QTreeWidgetItem(group, [spec.type])
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
                item.setData(0, TYPE_ROLE, spec.type)
                item.setToolTip(0, spec.help)
                item.setStatusTip(0, spec.help)
                self.type_items[spec.type] = item
        self.tree.expandAll()

    # -- blocks: the document's definitions and block libraries ------------------------
    def set_blocks(self, entries: Sequence[tuple[str, str]], title: str = BLOCKS_GROUP, first: bool = True) -> None:
        """Show a group of blocks (``(drag payload, help)`` each; the payload is a block name,
        or a library reference from :func:`widgets.drag_mime.library_ref`); none hides it."""
        old = self.category_items.pop(title, None)
        for name in [n for n, item in self.type_items.items() if old is not None and item.parent() is old]:
            del self.type_items[name]
        if old is not None:
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(old))
        if not entries:
            return
        group = QTreeWidgetItem([title])
        self.tree.insertTopLevelItem(0 if first else self.tree.topLevelItemCount(), group)
        self._group_style(group)
        self.category_items[title] = group
        for payload, help_text in entries:
            item = QTreeWidgetItem(group, [shown_name(payload)])
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
            item.setData(0, TYPE_ROLE, payload)
            item.setToolTip(0, help_text)
            item.setStatusTip(0, help_text)
            self.type_items[payload] = item
        group.setExpanded(True)
        self.set_filter(self.search.text())

    def set_libraries(self, libraries: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> None:
        """One group per block library file: ``(file name, [(library reference, help)])``."""
        for title in [t for t in self.category_items if t.startswith(LIBRARY_PREFIX)]:
            self.set_blocks([], title)
        for label, entries in libraries:
            self.set_blocks(entries, f"{LIBRARY_PREFIX}{label}", first=False)

    @staticmethod
    def _group_style(group: QTreeWidgetItem) -> None:
        group.setFlags(Qt.ItemFlag.ItemIsEnabled)  # not selectable, not draggable
        font = group.font(0)
        font.setBold(True)
        group.setFont(0, font)
        group.setData(0, TYPE_ROLE, None)

    # -- filtering --------------------------------------------------------------------
    def set_filter(self, text: str) -> None:
        """Show the layers whose name or help contains ``text`` (case-insensitive)."""
        needle = text.strip().casefold()
        for group in self.category_items.values():
            any_shown = False
            for index in range(group.childCount()):
                item = group.child(index)
                name = item.data(0, TYPE_ROLE)
                help_text = item.toolTip(0)
                shown = not needle or needle in name.casefold() or needle in help_text.casefold()
                item.setHidden(not shown)
                any_shown |= shown
            group.setHidden(not any_shown)
            if needle and any_shown:
                group.setExpanded(True)
        current = self.tree.currentItem()
        if current is None or current.isHidden() or not current.data(0, TYPE_ROLE):
            first = self._visible_types()[:1]
            self.tree.setCurrentItem(first[0] if first else None)

    def visible_types(self) -> list[str]:
        """The type names the filter currently shows, in display order."""
        return [item.data(0, TYPE_ROLE) for item in self._visible_types()]

    def _visible_types(self) -> list[QTreeWidgetItem]:
        return [item for group in self.category_items.values() if not group.isHidden()
                for item in (group.child(i) for i in range(group.childCount()))
                if not item.isHidden()]

    # -- intents ----------------------------------------------------------------------
    def _item_chosen(self, item: QTreeWidgetItem, column: int = 0) -> None:
        type_name = item.data(0, TYPE_ROLE) if item is not None else None
        if type_name:
            self.add_requested.emit(type_name)

    def _item_returned(self, item: QTreeWidgetItem) -> None:
        if item.data(0, TYPE_ROLE):
            self._item_chosen(item)
        else:  # a category: Enter opens or closes it
            item.setExpanded(not item.isExpanded())

    def _add_current_match(self) -> None:
        current = self.tree.currentItem()
        if current is not None and not current.isHidden() and current.data(0, TYPE_ROLE):
            self._item_chosen(current)
            return
        visible = self._visible_types()
        if visible:
            self._item_chosen(visible[0])

    def _focus_tree(self) -> None:
        current = self.tree.currentItem()
        if current is None or current.isHidden():
            visible = self._visible_types()
            if visible:
                self.tree.setCurrentItem(visible[0])
        self.tree.setFocus(Qt.FocusReason.OtherFocusReason)

"""The Edit menu's actions on the canvas's selection (copy, paste at a point, delete, delete
and bridge, rename in place, duplicate, select all), as a mixin of the main window: each
one ends in an intent for :class:`app.controller.EditorController`.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF

from app.system_clipboard import nodes_text, put_nodes_text


class SelectionActions:
    """Needs ``controller``, ``document``, ``scene``, ``selected`` and ``canvas_actions``."""

    def copy_selection(self) -> None:
        text = self.controller.copy(self.selected)
        if text:
            put_nodes_text(text)

    def paste(self, at: QPointF | None = None) -> None:
        """Paste below the copied nodes, or with their top-left corner at ``at`` (a scene point)."""
        text = nodes_text()
        if not text:
            return
        offset = None
        if at is not None:
            try:
                from app.clipboard import paste_nodes
                nodes, _edges = paste_nodes(self.document.graph, text, (0.0, 0.0))
                xs, ys = zip(*(n.position or (0.0, 0.0) for n in nodes))
                offset = (at.x() - min(xs), at.y() - min(ys))
            except ValueError:
                pass
        self.controller.paste(text, offset)

    def delete_and_bridge(self) -> None:
        for node_id in list(self.selected):
            self.controller.delete_and_bridge(node_id)

    def rename_selection(self) -> None:
        if len(self.selected) == 1:
            self.canvas_actions.rename_in_place(self.selected[0])

    def duplicate_selection(self) -> None:
        self.controller.duplicate(self.selected)

    def delete_selection(self) -> None:
        if self.scene is not None:
            self.scene.request_delete()

    def select_all(self) -> None:
        if self.scene is not None:
            self.scene.select_ids(list(self.controller.graph.nodes))

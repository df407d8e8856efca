"""The canvas as the run workspace sees it: overlays on whichever scene the window shows.

New, Open and Revert give the window a new scene; this port always speaks to the
current one, so the workspace never holds a scene (nor the window) itself.
"""

from __future__ import annotations

from typing import Callable

from widgets.canvas import GraphScene


class SceneOverlay:
    """Implements ``app.run_workspace.CanvasOverlay`` over the window's current scene."""

    def __init__(self, current_scene: Callable[[], GraphScene | None], focus_node: Callable[[str], None]):
        self._scene = current_scene
        self.focus_node = focus_node

    def set_node_badges(self, badges: dict[str, tuple[str, str]]) -> None:
        if (scene := self._scene()) is not None:
            scene.set_node_badges(badges)

    def set_node_bars(self, bars: dict[str, float]) -> None:
        if (scene := self._scene()) is not None:
            scene.set_node_bars(bars)

    def clear_overlays(self) -> None:
        if (scene := self._scene()) is not None:
            scene.clear_overlays()

    def highlight_nodes(self, node_ids: list[str]) -> None:
        if (scene := self._scene()) is not None:
            scene.highlight_nodes(node_ids)

    def clear_highlight(self) -> None:
        if (scene := self._scene()) is not None:
            scene.clear_highlight()

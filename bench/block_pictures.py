"""The README's pictures of blocks: the VGG-style template with its three VGGStage uses
collapsed, one expanded in place, and the editor inside the block's definition.

Run: QT_QPA_PLATFORM=offscreen python bench/block_pictures.py [OUT_DIR] (default docs/images).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication


def main(out: Path) -> None:
    app = QApplication.instance() or QApplication([])
    from app.main_window import MainWindow
    from graph_engine import load_template

    window = MainWindow(load_template("vgg_style"), autosave=False)
    window.resize(1700, 900)
    window.show()

    def settle() -> None:
        for _ in range(10):
            app.processEvents()

    settle()
    window.controller.auto_layout()
    window.view.fit()
    settle()
    window.view.grab().save(str(out / "blocks_collapsed.png"))
    window.scene.set_expanded("stage2", True)
    frame, card = window.scene.frame("stage2"), window.scene.node_item("stage2")
    around = frame.sceneBoundingRect().united(window.scene.node_item("stage1").sceneBoundingRect())
    window.view.fitInView(around.adjusted(-30, -30, 30, 30), Qt.AspectRatioMode.KeepAspectRatio)
    settle()
    window.view.grab().save(str(out / "blocks_expanded.png"))
    window.scene.set_expanded("stage2", False)
    window.blocks.open_use("stage2")
    settle()
    window.scene.select_ids(["conv1"])
    window.view.fit()
    settle()
    window.grab().save(str(out / "blocks_inside.png"))
    window.document.undo_stack.setClean()
    window.close()
    print("wrote", ", ".join(str(out / n) for n in ("blocks_collapsed.png", "blocks_expanded.png", "blocks_inside.png")))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/images"))

"""Starting the desktop app, or rendering it offscreen to a PNG (``--screenshot``)."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

#: 2 as everywhere in the CLI: a file could not be read or written
EXIT_OK, EXIT_BAD_FILE, EXIT_UNREADABLE = 0, 1, 2


def run_gui(file: str | None = None, screenshot: str | None = None,
            size: tuple[int, int] = (1600, 1000), panel: str | None = None,
            train_epochs: int | None = None, dataset: str | None = None, lesson: str | None = None) -> int:
    """Open the editor on ``file`` (default: the digits CNN template). With ``screenshot``,
    render the fitted window offscreen to that PNG and exit instead: after training
    ``train_epochs`` epochs in the app's own training process when asked, with
    ``panel``'s dock in front. ``lesson``: open that lesson once the window shows."""
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    if screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication

    from app.graph_source import graph_file, load_graph_argument
    from app.main_window import MainWindow
    from graph_engine import GraphFileError

    graph = path = None
    if file:
        try:
            graph = load_graph_argument(file)
            path = Path(file) if graph_file(file) else None  # a template opens as a new, unsaved graph
        except GraphFileError as error:
            print(f"rosenblatt gui: {error}", file=sys.stderr)
            return EXIT_UNREADABLE
        from app.large_graphs import refusal

        too_big = refusal(graph, file)  # as File → Open refuses it, before any window is built
        if too_big:
            print(f"rosenblatt gui: {too_big}", file=sys.stderr)
            return EXIT_UNREADABLE
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Rosenblatt")
    app.setOrganizationName("Rosenblatt")
    window = MainWindow(graph, path, autosave=not screenshot)
    settle_memory()
    if screenshot:
        from app.screenshots import prepare_panel

        window.resize(*size)
        window.show()
        app.processEvents()
        problem = prepare_panel(app, window, panel, train_epochs, dataset)
        if problem:
            print(f"rosenblatt gui: {problem}", file=sys.stderr)
            window.document.undo_stack.setClean()
            window.close()
            return EXIT_BAD_FILE
        return _screenshot(app, window, Path(screenshot), size)
    window.show()
    from PySide6.QtCore import QTimer

    QTimer.singleShot(0, window.offer_recovery)
    if lesson:
        from app.lesson_actions import open_lesson

        QTimer.singleShot(0, lambda: open_lesson(window, lesson))
    return app.exec()


def settle_memory() -> None:
    """Call once the window is built: what is alive then (Qt, torch, pyqtgraph; millions of
    objects) lives as long as the app, so keep it out of the collector's full passes, which
    otherwise stall the event loop for tens of milliseconds at random while a run streams in."""
    gc.freeze()


def _screenshot(app, window, target: Path, size: tuple[int, int]) -> int:
    """Render the window at ``size`` to ``target`` (sized again: a panel filled with results
    after training may have grown the window)."""
    window.resize(*size)
    for _ in range(3):
        app.processEvents()
    window.view.fit()
    app.processEvents()
    image = window.grab()
    temp = target.with_name(f".{target.name}.tmp.png")
    if not image.save(str(temp), "PNG"):
        print(f"rosenblatt gui: cannot write {target}", file=sys.stderr)
        return EXIT_UNREADABLE
    os.replace(temp, target)
    print(f"wrote {target} ({image.width()}×{image.height()})")
    window.document.undo_stack.setClean()
    window.close()
    return EXIT_OK

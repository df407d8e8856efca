"""A long call (an ONNX export, 16 s) with a busy dialog that says what is happening.

Off the GUI thread (``in_thread``) the window stays responsive and repaints while edits wait.
torch's exporters are called on the GUI thread instead (an ONNX export in a worker thread
crashed the process now and then, in native code): the dialog and the busy cursor are shown
and painted before the call, and the window catches up after it."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from PySide6.QtCore import QEventLoop, Qt
from PySide6.QtWidgets import QApplication, QProgressDialog, QWidget

#: a call shorter than this shows no dialog (seconds)
SHOW_AFTER_S = 0.3


def run_busy(parent: QWidget, text: str, call: Callable[[], Any], in_thread: bool = True) -> Any:
    """``call()`` (in a worker thread); its result, or its exception raised here."""
    if not in_thread:
        return _run_here(parent, text, call)
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = call()
        except BaseException as error:  # noqa: BLE001 (handed to the caller)
            outcome["error"] = error

    thread = threading.Thread(target=work, name="rosenblatt-busy", daemon=True)
    QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
    dialog = QProgressDialog(text, "", 0, 0, parent)  # a busy bar, no Cancel: it cannot be interrupted
    dialog.setCancelButton(None)
    dialog.setWindowTitle("Working")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(int(SHOW_AFTER_S * 1000))
    started = time.monotonic()
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.03)
            if time.monotonic() - started >= SHOW_AFTER_S and not dialog.isVisible():
                dialog.show()
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 30)
    finally:
        dialog.close()
        dialog.deleteLater()
        QApplication.restoreOverrideCursor()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


def _run_here(parent: QWidget, text: str, call: Callable[[], Any]) -> Any:
    QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
    dialog = QProgressDialog(text, "", 0, 0, parent)
    dialog.setCancelButton(None)
    dialog.setWindowTitle("Working")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.show()
    for _ in range(3):  # paint the dialog and the status message before the window stands still
        QApplication.processEvents()
    try:
        return call()
    finally:
        dialog.close()
        dialog.deleteLater()
        QApplication.restoreOverrideCursor()

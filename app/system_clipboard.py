"""Copied nodes on the system clipboard: our own MIME type, plain text beside it.

Plain text lets a copy be pasted into a text editor or another Rosenblatt window;
pasting accepts either.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QMimeData
from PySide6.QtGui import QGuiApplication

from app.clipboard import MIME_TYPE


def put_nodes_text(text: str) -> None:
    mime = QMimeData()
    mime.setData(MIME_TYPE, QByteArray(text.encode("utf-8")))
    mime.setText(text)
    QGuiApplication.clipboard().setMimeData(mime)


def nodes_text() -> str | None:
    """What the clipboard holds for a paste: our nodes, else its text, else None."""
    mime = QGuiApplication.clipboard().mimeData()
    if mime is None:
        return None
    if mime.hasFormat(MIME_TYPE):
        return bytes(mime.data(MIME_TYPE)).decode("utf-8")
    return mime.text() or None

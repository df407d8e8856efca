"""Read-only, syntax-highlighted view of generated Python, with a Copy button."""

from __future__ import annotations

import keyword
import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QGuiApplication, QSyntaxHighlighter, QTextCharFormat
from PySide6.QtWidgets import QDialog, QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget


def _format(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    fmt.setFontItalic(italic)
    return fmt


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, strings, numbers, comments and ``self``: enough to read a module at a glance."""

    RULES = (
        (re.compile(r"\b(" + "|".join(keyword.kwlist) + r")\b"), _format("#0033b3", bold=True)),
        (re.compile(r"\bself\b"), _format("#94558d", italic=True)),
        (re.compile(r"\b(nn|torch|F)\b"), _format("#00627a")),
        (re.compile(r"\b\d+(\.\d+)?(e-?\d+)?\b"), _format("#1750eb")),
        (re.compile(r"('[^'\n]*'|\"[^\"\n]*\")"), _format("#067d17")),
        (re.compile(r"#[^\n]*"), _format("#8c8c8c", italic=True)),
    )
    DOCSTRING = _format("#067d17", italic=True)

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt override)
        for pattern, fmt in self.RULES:
            for match in pattern.finditer(text):
                self.setFormat(match.start(), match.end() - match.start(), fmt)
        # triple-quoted docstrings may span blocks: state 1 = inside one
        start = 0 if self.previousBlockState() == 1 else text.find('"""')
        self.setCurrentBlockState(0)
        while start >= 0:
            opening = 0 if self.previousBlockState() == 1 and start == 0 else 3
            end = text.find('"""', start + opening)
            if end < 0:
                self.setCurrentBlockState(1)
                self.setFormat(start, len(text) - start, self.DOCSTRING)
                return
            self.setFormat(start, end + 3 - start, self.DOCSTRING)
            start = text.find('"""', end + 3)


class CodeView(QDialog):
    """Shows ``source`` read-only; Copy puts it on the clipboard."""

    def __init__(self, source: str, title: str = "Generated PyTorch code", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(820, 640)
        self.editor = QPlainTextEdit(source)
        self.editor.setReadOnly(True)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.highlighter = PythonHighlighter(self.editor.document())
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(self.copy)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.editor)
        layout.addLayout(buttons)
        self.close_button.setDefault(True)
        self.editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.editor.toPlainText())

    def find(self, text: str) -> bool:
        """Select the first occurrence of ``text`` and scroll to it (show a node's code)."""
        found = self.editor.find(text)
        if found:
            self.editor.centerCursor()
        return found

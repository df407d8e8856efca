"""The status-bar summary: the graph's totals and the selected node's receptive field."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

SEPARATOR = " · "


def summary_text(total_params: int, total_macs: int, selected: str | None,
                 field_text: str | None) -> str:
    """``62,250 parameters · 937,216 MACs · conv3: receptive field 10×10 (jump 2×2)``.

    The selected node's part is left out when nothing is selected or the node has no
    spatial receptive field (``field_text`` None, empty or ``-``)."""
    parts = [f"{total_params:,} parameter{'s' if total_params != 1 else ''}",
             f"{total_macs:,} MAC{'s' if total_macs != 1 else ''}"]
    if selected and field_text and field_text != "-":
        parts.append(f"{selected}: receptive field {field_text}")
    return SEPARATOR.join(parts)


class SummaryBar(QWidget):
    """One line for the status bar; see :func:`summary_text`."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setToolTip("Learnable parameters and multiply-accumulates per sample, "
                              "for the whole graph")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.label)
        self.set_summary(0, 0, None, None)

    def set_summary(self, total_params: int, total_macs: int, selected: str | None = None,
                    field_text: str | None = None) -> None:
        self.label.setText(summary_text(total_params, total_macs, selected, field_text))

    def text(self) -> str:
        return self.label.text()

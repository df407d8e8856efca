"""The status-bar summary: the graph's totals and the selected node's receptive field."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

SEPARATOR = " · "


def summary_text(total_params: int, total_macs: int, selected: str | None,
                 field_text: str | None, unknown: int = 0, count: int = 0) -> str:
    """``62,250 parameters · 937,216 MACs · conv3: receptive field 10×10 (jump 2×2)``.

    The selected node's part is left out when nothing is selected or the node has no
    spatial receptive field (``field_text`` None, empty or ``-``). With ``unknown`` of
    ``count`` nodes not inferred (a shape error upstream), the totals are those of the
    others, marked partial: ``≥ 1,234 parameters · ≥ 5,678 MACs (partial: 3 of 8 nodes unknown)``."""
    at_least = "≥ " if unknown else ""
    parts = [f"{at_least}{total_params:,} parameter{'s' if total_params != 1 else ''}",
             f"{at_least}{total_macs:,} MAC{'s' if total_macs != 1 else ''}"
             + (f" (partial: {unknown} of {count} nodes unknown)" if unknown else "")]
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
                    field_text: str | None = None, unknown: int = 0, count: int = 0) -> None:
        self.label.setText(summary_text(total_params, total_macs, selected, field_text, unknown, count))

    def text(self) -> str:
        return self.label.text()

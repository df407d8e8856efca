"""The Network-health panel: gradient norms and update ratios per layer over time, and the
current problems (dead or saturated units, vanishing or exploding gradients, NaN/Inf).

Two log-scale plots share one colour per layer and one legend row: the gradient norm
‖∇w‖ of each layer, and the update-to-weight ratio ‖Δw‖/‖w‖ of one step with a dashed
reference at 1e-3 (a common rule of thumb for a healthy learning rate). Below, the
flags of :func:`graph_engine.training.health.node_health`; clicking one emits
``node_activated`` so the app can show the node on the canvas. A run stopped by
NaN/Inf shows a red banner with the trainer's message.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView, QLabel, QSplitter, QTreeWidgetItem, QVBoxLayout, QWidget,
)
import pyqtgraph as pg

from widgets.plot_style import BACKGROUND, style_plot

from graph_engine.training.health import ADVICE, HealthFlag, node_health
from widgets import theme
from widgets.trees import EnterTreeWidget

if TYPE_CHECKING:
    from graph_engine.training.history import RunHistory

#: the update-to-weight ratio most practitioners aim for (Karpathy's rule of thumb)
HEALTHY_RATIO = 1e-3
#: distinct line colours (Tableau 10); more layers than these get evenly spaced hues
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
ERROR_COLOR = theme.ERROR_COLOR.name()
WARNING_COLOR = theme.WARNING_COLOR.name()
#: flag kinds drawn in red; the others are amber
SEVERE_KINDS = ("non_finite", "exploding")
BANNER_STYLE = ("background: #fef2f2; color: #991b1b; border: 1px solid #fca5a5; "
                "border-radius: 3px; padding: 4px 6px;")
#: item data role holding a flag row's node id
NODE_ROLE = Qt.ItemDataRole.UserRole


def line_color(index: int, count: int) -> QColor:
    """The curve colour of the ``index``-th of ``count`` layers."""
    if count <= len(PALETTE):
        return QColor(PALETTE[index])
    return pg.intColor(index, hues=count, values=1, maxValue=200)


def flag_color(kind: str) -> str:
    return ERROR_COLOR if kind in SEVERE_KINDS else WARNING_COLOR


def flag_icon(kind: str, size: int = 14) -> QIcon:
    """A red circle (NaN/Inf, exploding) or an amber triangle (the rest) with a "!"."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(flag_color(kind)))
    if kind in SEVERE_KINDS:
        painter.drawEllipse(QRectF(0.5, 0.5, size - 1, size - 1))
    else:
        painter.drawPolygon(QPolygonF([QPointF(size / 2, 0.5), QPointF(size - 0.5, size - 1),
                                       QPointF(0.5, size - 1)]))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * 0.7))
    painter.setFont(font)
    painter.setPen(QColor("#ffffff"))
    text_rect = QRectF(0, 1 if kind not in SEVERE_KINDS else 0, size, size)
    painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, "!")
    painter.end()
    return QIcon(pixmap)


def positive(values: np.ndarray) -> np.ndarray:
    """A copy with zeros, negatives, NaN and Inf as NaN (gaps on a log axis)."""
    out = np.array(values, dtype=np.float64)
    out[~(np.isfinite(out) & (out > 0))] = np.nan
    return out


def log_tick_text(value: float) -> str:
    """``0.01`` -> ``0.01``, ``0.002`` -> ``2e-3``, ``30000`` -> ``3e4``."""
    if 1e-2 <= value < 1e4:
        return f"{value:g}"
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


class LogAxis(pg.AxisItem):
    """A log axis that labels only 1, 2 and 5 of each decade (only 1 over wide ranges),
    in short notation, so minor ticks never crowd into unreadable labels."""

    def logTickStrings(self, values, scale, spacing):  # pyqtgraph override
        low, high = self.range
        keep = (1,) if high - low > 1.5 else (1, 2, 5)
        strings = []
        for value in values:
            number = 10.0 ** float(value) * scale
            mantissa = round(number / 10.0 ** math.floor(math.log10(number) + 1e-9))
            strings.append(log_tick_text(number) if mantissa in keep else "")
        return strings


def _style_plot(plot: pg.PlotItem, left: str, bottom: str) -> None:
    """The app's plot look, on a log-y plot with a faint horizontal grid."""
    style_plot(plot, left, bottom)
    plot.showGrid(x=False, y=True, alpha=0.15)
    plot.setLogMode(x=False, y=True)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")


class HealthPanel(QWidget):
    """Gradient-norm and update-ratio plots per layer, a legend row, and the current flags.

    Signals:
        node_activated(str node_id): a flag row was clicked (or Enter pressed on it).
    """

    node_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._history: RunHistory | None = None
        self._seen_version = -1
        self._seen_gradients: tuple | None = None
        self._seen_flags: tuple | None = None
        #: node id → its curve in each plot
        self.norm_curves: dict[str, pg.PlotDataItem] = {}
        self.ratio_curves: dict[str, pg.PlotDataItem] = {}
        #: the flags listed, in row order
        self.flags: list[HealthFlag] = []

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.hide()
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)

        self.norm_plot = pg.PlotWidget(background=BACKGROUND, axisItems={"left": LogAxis("left")})
        _style_plot(self.norm_plot.getPlotItem(), "gradient norm", "")
        self.norm_plot.setToolTip("‖∇w‖: the L2 norm of each layer's parameter gradient at a probe step")
        self.ratio_plot = pg.PlotWidget(background=BACKGROUND, axisItems={"left": LogAxis("left")})
        ratio = self.ratio_plot.getPlotItem()
        _style_plot(ratio, "update ratio", "step")
        self.ratio_plot.setToolTip("‖Δw‖ / ‖w‖: how much one optimizer step changed each layer's "
                                   "weights, relative to their size (about 1e-3 is healthy)")
        ratio.setXLink(self.norm_plot.getPlotItem())
        # in log mode the view's y coordinate is log10(value)
        self.reference = pg.InfiniteLine(
            pos=math.log10(HEALTHY_RATIO), angle=0, movable=False,
            pen=pg.mkPen("#16a34a", width=1, style=Qt.PenStyle.DashLine),
            label="healthy ≈ 1e-3",
            labelOpts={"position": 0.02, "color": "#15803d", "anchors": [(0, 1), (0, 1)]})
        ratio.addItem(self.reference, ignoreBounds=False)

        self.flag_list = EnterTreeWidget()
        self.flag_list.setHeaderHidden(True)
        self.flag_list.setRootIsDecorated(False)
        self.flag_list.setColumnCount(1)
        self.flag_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.flag_list.setWordWrap(True)
        self.flag_list.setMinimumHeight(48)
        self.flag_list.itemClicked.connect(self._on_flag)
        self.flag_list.return_pressed.connect(self._on_flag)
        flags_title = QLabel("Problems in the newest probe")

        flags = QWidget()
        flags_layout = QVBoxLayout(flags)
        flags_layout.setContentsMargins(0, 2, 0, 0)
        flags_layout.setSpacing(2)
        flags_layout.addWidget(flags_title)
        flags_layout.addWidget(self.flag_list, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.norm_plot)
        splitter.addWidget(self.ratio_plot)
        splitter.addWidget(flags)
        splitter.setSizes([300, 300, 220])  # proportions; the splitter scales them to fit
        splitter.setChildrenCollapsible(False)
        for plot in (self.norm_plot, self.ratio_plot):
            plot.setMinimumHeight(90)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.banner)
        layout.addWidget(self.legend)
        layout.addWidget(splitter, 1)
        self._show_flags([])

    # -- feeding ----------------------------------------------------------------------
    def set_history(self, history: "RunHistory | None") -> None:
        self._history = history
        self._seen_version = -1
        self._seen_gradients = None
        self._seen_flags = None
        self.refresh()

    def refresh(self) -> None:
        """Redraw what changed since the last call (cheap when nothing did)."""
        history = self._history
        version = history.version if history is not None else -2
        if version == self._seen_version:
            return
        self._seen_version = version
        self._update_banner()
        self._update_curves()
        self._update_flags()

    # -- parts ------------------------------------------------------------------------
    def _update_banner(self) -> None:
        history = self._history
        if history is not None and history.status == "failed":
            self.banner.setText(f"Training stopped — {history.message}")
            self.banner.show()
        else:
            self.banner.hide()

    def _update_curves(self) -> None:
        history = self._history
        probe = history.probes.get("gradients") if history is not None else None
        key = (id(history), probe.step if probe is not None else None,
               tuple(len(s) for s in history.gradients.values()) if history is not None else ())
        if key == self._seen_gradients:
            return
        self._seen_gradients = key
        series = dict(history.gradients) if history is not None else {}
        if list(series) != list(self.norm_curves):
            self._rebuild_curves(list(series))
        for node_id, rows in series.items():
            steps = np.array(rows.column("step"))
            self.norm_curves[node_id].setData(steps, positive(rows.column("norm")), connect="finite")
            self.ratio_curves[node_id].setData(steps, positive(rows.column("ratio")), connect="finite")

    def _rebuild_curves(self, node_ids: list[str]) -> None:
        for curves, plot in ((self.norm_curves, self.norm_plot), (self.ratio_curves, self.ratio_plot)):
            for curve in curves.values():
                plot.getPlotItem().removeItem(curve)
            curves.clear()
        entries = []
        for index, node_id in enumerate(node_ids):
            color = line_color(index, len(node_ids))
            for curves, plot in ((self.norm_curves, self.norm_plot), (self.ratio_curves, self.ratio_plot)):
                curve = pg.PlotDataItem(pen=pg.mkPen(color, width=1), name=node_id)
                curves[node_id] = curve
                plot.getPlotItem().addItem(curve)
            entries.append(f"<span style='color:{color.name()}; font-size:11pt'>■</span>&nbsp;{node_id}")
        self.legend.setText("&nbsp;&nbsp; ".join(entries) if entries else "")
        self.legend.setVisible(bool(entries))

    def _update_flags(self) -> None:
        history = self._history
        if history is None:
            key = None
        else:
            key = (id(history), history.status, history.failed_node,
                   *((p.step, id(p)) if (p := history.probes.get(kind)) is not None else None
                     for kind in ("activations", "gradients")))
        if key == self._seen_flags:
            return
        self._seen_flags = key
        self._show_flags(list(node_health(history).values()) if history is not None else [])

    def _show_flags(self, flags: list[HealthFlag]) -> None:
        self.flags = flags
        self.flag_list.clear()
        for flag in flags:
            item = QTreeWidgetItem([flag.message])
            item.setIcon(0, flag_icon(flag.kind))
            item.setData(0, NODE_ROLE, flag.node_id)
            item.setToolTip(0, f"{flag.message}\n\n{ADVICE.get(flag.kind, '')}".strip())
            self.flag_list.addTopLevelItem(item)
        if not flags:
            has_probes = self._history is not None and (
                "activations" in self._history.probes or "gradients" in self._history.probes)
            item = QTreeWidgetItem(["No problems found." if has_probes else
                                    "Problems (dead units, vanishing or exploding gradients) "
                                    "appear here while a network trains."])
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.flag_list.addTopLevelItem(item)

    def _on_flag(self, item: QTreeWidgetItem, column: int = 0) -> None:
        node_id = item.data(0, NODE_ROLE)
        if node_id:
            self.node_activated.emit(node_id)

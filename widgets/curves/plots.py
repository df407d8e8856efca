"""The three stacked plots (loss, headline metric, learning rate) and their items.

All three share the x axis (linked), and only the bottom one writes tick labels. Every
curve is clipped to the view and peak-downsampled so a million points stay smooth.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QFont

from widgets.curves import style
from widgets.curves.axes import X_LABELS, LogFriendlyAxis, XAxis

#: width of every left axis, so the three plots' data areas line up
LEFT_AXIS_WIDTH = 54


class CurvePlots:
    """The plot items inside a :class:`pyqtgraph.GraphicsLayoutWidget`."""

    def __init__(self, widget: pg.GraphicsLayoutWidget):
        widget.setBackground(style.BACKGROUND)
        layout = widget.ci
        layout.setContentsMargins(4, 6, 10, 2)
        layout.setSpacing(4)
        self.x_axis = XAxis()
        self.loss = self._plot(layout, 0, "loss", pg.AxisItem("bottom"), LogFriendlyAxis("left"))
        self.metric = self._plot(layout, 1, "metric", pg.AxisItem("bottom"))
        self.lr = self._plot(layout, 2, "lr", self.x_axis)
        for row, stretch in enumerate((5, 3, 2)):
            layout.layout.setRowStretchFactor(row, stretch)
        for plot in (self.metric, self.lr):
            plot.setXLink(self.loss)
        for plot in (self.loss, self.metric):  # the shared axis is written once, at the bottom
            axis = plot.getAxis("bottom")
            axis.setStyle(showValues=False)
            axis.setHeight(4)
        self.set_x_label("step")
        self._add_markers()
        # one row at the top right: the loss falls away from there
        self.legend = self.loss.addLegend(offset=(-6, 2), brush=pg.mkBrush(255, 255, 255, 230),
                                          labelTextColor=style.TEXT, labelTextSize="8pt",
                                          colCount=3, horSpacing=2, verSpacing=-8)

    def _add_markers(self) -> None:
        """The best epoch (a dashed line and a star on the metric plot) and the hover
        markers (a line through all three plots, dots on the hovered plot's curves)."""
        self.best_marker = pg.InfiniteLine(
            angle=90, movable=False, pen=style.dashed_pen(style.BEST), label="best",
            labelOpts={"position": 0.06, "color": style.BEST, "anchors": [(-0.1, 1), (1.1, 1)]})
        self.best_marker.hide()
        self.metric.addItem(self.best_marker, ignoreBounds=True)
        self.best_point = markers(self.metric, size=13, symbol="star")
        self.best_point.setZValue(20)  # above the overlaid runs' markers
        self.hover_lines: list[pg.InfiniteLine] = []
        self.hover_points: list[pg.PlotDataItem] = []
        for plot in self.all:
            line = pg.InfiniteLine(angle=90, movable=False, pen=style.pen(style.HOVER_LINE))
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self.hover_lines.append(line)
            self.hover_points.append(markers(plot))

    def plot_at(self, scene_pos: QPointF) -> int | None:
        """Index (in :attr:`all`) of the plot whose data area holds ``scene_pos``."""
        return next((i for i, plot in enumerate(self.all)
                     if plot.vb.sceneBoundingRect().contains(scene_pos)), None)

    def show_hover(self, plot_index: int, x: float, points: list[tuple[float, float, str]]) -> None:
        """The line at ``x`` in every plot; (x, y, colour) dots on plot ``plot_index``."""
        for line in self.hover_lines:
            line.setValue(x)
            line.show()
        for index, dots in enumerate(self.hover_points):
            shown = points if index == plot_index else []
            dots.setData([p[0] for p in shown], [p[1] for p in shown],
                         symbolBrush=[pg.mkBrush(p[2]) for p in shown])

    def hide_hover(self) -> None:
        for line in self.hover_lines:
            line.hide()
        for dots in self.hover_points:
            dots.setData([], [])

    @staticmethod
    def _plot(layout: pg.GraphicsLayout, row: int, label: str, bottom: pg.AxisItem,
              left: pg.AxisItem | None = None) -> pg.PlotItem:
        axes = {"bottom": bottom, "left": left or pg.AxisItem("left")}
        plot = layout.addPlot(row=row, col=0, axisItems=axes)
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        plot.setMenuEnabled(enableMenu=False, enableViewBoxMenu=True)
        plot.showGrid(x=True, y=True, alpha=0.12)
        plot.hideButtons()
        plot.getViewBox().setDefaultPadding(0.03)
        font = QFont()
        font.setPointSizeF(8)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(style.AXIS))
            axis.setTextPen(pg.mkPen(style.AXIS))
            # major ticks only: the grid's minor lines cost three quarters of a live redraw
            # (43 ms against 13 ms for the three plots at 1240×420 on the 2-core VM)
            axis.setStyle(tickFont=font, tickLength=-4, maxTickLevel=0)
            axis.enableAutoSIPrefix(False)  # "(x0.001)" crowds the label; ticks say 0.001
        left = plot.getAxis("left")
        left.setWidth(LEFT_AXIS_WIDTH)
        left.setLabel(label, color=style.TEXT, **{"font-size": "8pt"})
        return plot

    @property
    def all(self) -> tuple[pg.PlotItem, pg.PlotItem, pg.PlotItem]:
        return self.loss, self.metric, self.lr

    def set_x_label(self, mode: str) -> None:
        self.x_axis.set_mode(mode)
        self.lr.getAxis("bottom").setLabel(X_LABELS[mode], color=style.TEXT, **{"font-size": "8pt"})

    def set_metric_label(self, text: str) -> None:
        axis = self.metric.getAxis("left")
        if axis.labelText != text or not axis.label.isVisible():  # (a new label re-lays the axis: ms each epoch)
            axis.setLabel(text, color=style.TEXT, **{"font-size": "8pt"})


def right_view(plot: pg.PlotItem, label: str, color: str) -> pg.ViewBox:
    """A second view box over ``plot`` with its own y axis on the right (x linked): a value
    of another scale drawn against the same steps, e.g. the teacher-forcing probability
    beside the learning rate. The axis is hidden until :func:`show_right` shows it."""
    view = pg.ViewBox()
    view.setMouseEnabled(x=False, y=False)
    plot.scene().addItem(view)
    axis = plot.getAxis("right")
    axis.linkToView(view)
    axis.setPen(pg.mkPen(color))
    axis.setTextPen(pg.mkPen(color))
    font = QFont()
    font.setPointSizeF(8)
    axis.setStyle(tickFont=font, tickLength=-4, maxTickLevel=0)
    axis.setLabel(label, color=color, **{"font-size": "8pt"})
    view.setXLink(plot)
    view.setYRange(0.0, 1.0, padding=0.05)

    def follow() -> None:
        view.setGeometry(plot.vb.sceneBoundingRect())
        view.linkedViewChanged(plot.vb, view.XAxis)

    plot.vb.sigResized.connect(follow)
    follow()
    plot.hideAxis("right")
    return view


def curve(plot: pg.PlotItem, color: str, name: str | None = None) -> pg.PlotDataItem:
    """A 1-px line (the plot's clip-to-view and peak downsampling apply to it)."""
    item = pg.PlotDataItem(pen=style.pen(color), name=name, connect="finite")
    plot.addItem(item)
    return item


def points_line(plot: pg.PlotItem, color: str, name: str | None = None, size: float = 5,
                symbol: str = "o") -> pg.PlotDataItem:
    """A 1-px line through filled markers: few points (one per epoch)."""
    item = pg.PlotDataItem(pen=style.pen(color), symbol=symbol, symbolSize=size,
                           symbolPen=pg.mkPen(QColor(color)), symbolBrush=pg.mkBrush(QColor(color)),
                           name=name, connect="finite")
    plot.addItem(item)
    return item


def markers(plot: pg.PlotItem, size: float = 7, symbol: str = "o") -> pg.PlotDataItem:
    """Markers only (hover dots, the best epoch): brushes are given per point."""
    item = pg.PlotDataItem(pen=None, symbol=symbol, symbolSize=size,
                           symbolPen=pg.mkPen(style.BACKGROUND, width=1))
    plot.addItem(item)
    return item

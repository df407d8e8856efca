"""The shared x axis: steps as 250k / 1.5M, wall time as 1:30 or 2:05:00.

Wall time gets tick spacings a clock has (15 s, 1 min, 5 min, 1 h …) instead of
pyqtgraph's decimal ones, so the ticks land on whole minutes and hours.
"""

from __future__ import annotations

import math

import pyqtgraph as pg

#: candidate major tick spacings for wall time, seconds
_CLOCK_SPACINGS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
                   21600, 43200, 86400)

X_LABELS = {"step": "step", "epoch": "epoch", "time": "wall time"}


def duration_text(seconds: float, clock: bool = False) -> str:
    """12.5 s, 4:05, 1:02:03; ``clock`` writes short times as 0:12 too (ticks in minutes)."""
    if not math.isfinite(seconds):
        return "—"
    if abs(seconds) < 60 and not clock:
        return f"{seconds:.1f} s" if seconds % 1 else f"{seconds:.0f} s"
    sign = "-" if seconds < 0 else ""
    whole = int(round(abs(seconds)))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes}:{secs:02d}"


def step_text(step: float) -> str:
    """1234 → 1234, 250000 → 250k, 1500000 → 1.5M."""
    magnitude = abs(step)
    if magnitude >= 1e6:
        return f"{step / 1e6:.4g}M"
    if magnitude >= 1e4:
        return f"{step / 1e3:.4g}k"
    return f"{step:.0f}" if step == int(step) else f"{step:.4g}"


class XAxis(pg.AxisItem):
    """Bottom axis whose tick text follows the x mode (step, epoch or time)."""

    def __init__(self, **kwargs):
        super().__init__("bottom", **kwargs)
        self.mode = "step"

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.picture = None  # pyqtgraph's cached drawing of the ticks
        self.update()

    def tickSpacing(self, minVal: float, maxVal: float, size: float):  # pyqtgraph override
        if self.mode != "time" or maxVal - minVal < 2:
            return super().tickSpacing(minVal, maxVal, size)
        # as many ticks as pyqtgraph's own spacing would allow, on clock-friendly values
        wanted = max(2.0, size / 80.0)
        span = maxVal - minVal
        major = next((s for s in _CLOCK_SPACINGS if span / s <= wanted), _CLOCK_SPACINGS[-1])
        minor = next((s for s in reversed(_CLOCK_SPACINGS) if s < major and major % s == 0), major)
        return [(major, 0), (minor, 0)]

    def tickStrings(self, values, scale, spacing):  # pyqtgraph override
        if self.mode == "time":
            clock = spacing * scale >= 60
            return [duration_text(v * scale, clock) for v in values]
        if self.mode == "step" and spacing >= 1:
            return [step_text(v * scale) for v in values]
        return super().tickStrings(values, scale, spacing)


class LogFriendlyAxis(pg.AxisItem):
    """Left axis whose log-scale ticks label decades (and 2 and 5 where there are few
    decades) and leave the other per-decade ticks unlabelled; pyqtgraph labels all nine."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # pyqtgraph override
        ticks = super().logTickValues(minVal, maxVal, size, stdTicks)
        if len(ticks) != 1 or ticks[0][0] is not None:
            return ticks
        values = ticks[0][1]
        mantissa = [round(10 ** (v - math.floor(v + 1e-9)), 6) for v in values]
        decades = [v for v, m in zip(values, mantissa) if m == 1]
        labelled = set(decades) if len(decades) >= 3 else {
            v for v, m in zip(values, mantissa) if m in (1, 2, 5)}
        return [(None, sorted(labelled)), (None, [v for v in values if v not in labelled])]

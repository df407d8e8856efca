"""The curves panel's parts (the panel itself is widgets.curves_panel): Qt-free smoothing
and per-run arrays, the stacked plots, the hover readout and the earlier-runs list."""

from widgets.curves.run_curves import X_MODES, RunCurves
from widgets.curves.smoothing import Ema, ema

__all__ = ["Ema", "RunCurves", "X_MODES", "ema"]

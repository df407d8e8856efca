"""Exponential moving average of a loss that only ever grows: extended, never recomputed.

A live run appends a few hundred steps per redraw to a series that may hold a million;
smoothing the whole series again each time would cost more than drawing it. The filter
state is kept between calls, so extending costs only the new points. The average is
debiased like TensorBoard's (divided by 1 - alpha^k), so the first points are not
pulled towards zero. Non-finite losses give NaN and do not disturb the average.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

#: -log of the relative precision of float64: alpha ** k below exp(-_EXACT) changes nothing
_EXACT = 37.0


class Ema:
    """Debiased EMA ``s_k = alpha * s_(k-1) + (1 - alpha) * x_k`` over finite values."""

    def __init__(self, alpha: float):
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), not {alpha}")
        self.alpha = float(alpha)
        self._state = 0.0  # the biased average after the last finite value
        self._count = 0  # finite values seen

    def extend(self, values: np.ndarray) -> np.ndarray:
        """The smoothed values of ``values``, continuing from everything seen before."""
        values = np.asarray(values, dtype=np.float64)
        finite = np.isfinite(values)
        if finite.all():
            return self._smooth(values)
        out = np.full(len(values), np.nan)
        out[finite] = self._smooth(values[finite])
        return out

    def _smooth(self, values: np.ndarray) -> np.ndarray:
        if len(values) == 0:
            return np.empty(0)
        alpha = self.alpha
        biased, _ = lfilter([1.0 - alpha], [1.0, -alpha], values, zi=[alpha * self._state])
        self._state = float(biased[-1])
        first = self._count + 1
        self._count += len(values)
        if alpha == 0.0:
            return biased
        # only the first points need debiasing: past k = _EXACT / -log(alpha), alpha ** k is
        # below double precision, and the powers of a million points would dominate the cost
        last = min(self._count, int(_EXACT / -np.log(alpha)) + 1)
        if last >= first:
            powers = np.power(alpha, np.arange(first, last + 1, dtype=np.float64))
            biased[:last - first + 1] /= 1.0 - powers
        return biased


def ema(values: np.ndarray, alpha: float) -> np.ndarray:
    """The debiased EMA of a whole series at once."""
    return Ema(alpha).extend(values)

"""Exponential moving average of a loss that only ever grows: extended, never recomputed.

A live run appends a few hundred steps per redraw to a series that may hold a million;
smoothing the whole series again each time would cost more than drawing it. The filter
state is kept between calls, so extending costs only the new points. The average is
debiased like TensorBoard's (divided by 1 - alpha^k), so the first points are not
pulled towards zero. Non-finite losses give NaN and do not disturb the average.

The recursion runs as numpy array operations (:func:`first_order_scan`) rather than through
``scipy.signal.lfilter``, whose import cost the app 0.78 s of start-up (issue 18).
"""

from __future__ import annotations

import numpy as np

#: -log of the relative precision of float64: alpha ** k below exp(-_EXACT) changes nothing
_EXACT = 37.0
#: block length of the scan: short blocks keep its rounding near lfilter's (about eps·BLOCK²)
_BLOCK = 16
#: blocks are also cut so that a^-j stays below e^_RANGE (no overflow for a small a)
_RANGE = 300.0


def first_order_scan(values: np.ndarray, a: float, start: float = 0.0) -> np.ndarray:
    """``y_k = a·y_(k-1) + x_k`` from ``y_(-1) = start``, for 0 <= a < 1, without a Python loop.

    Within blocks of length m, ``y_j = a^j·cumsum(x_i·a^-i)``; the state each block hands
    on to the next obeys the same recursion with ``a^m`` over the blocks' ends, so the
    function recurses on a series m times shorter.
    """
    values = np.asarray(values, dtype=np.float64)
    count = len(values)
    if count == 0 or a == 0.0:
        return values.copy()
    block = max(1, min(_BLOCK, count, int(_RANGE / -np.log(a))))
    if block == 1 and count > 1:  # a < e^-150: a² and beyond vanish next to 1 in float64
        result = values.copy()
        result[1:] += a * values[:-1]
        result[0] += a * start
        return result
    rows = -(-count // block)
    padded = np.zeros(rows * block)
    padded[:count] = values
    steps = np.arange(block, dtype=np.float64)
    up, down = np.power(a, -steps), np.power(a, steps)
    local = np.cumsum(padded.reshape(rows, block) * up, axis=1) * down  # each block from state 0
    if rows == 1:
        incoming = np.array([start])
    else:
        ends = first_order_scan(local[:, -1], a ** block, start)  # the state after each block
        incoming = np.concatenate([[start], ends[:-1]])
    local += incoming[:, None] * (down * a)
    return local.reshape(-1)[:count]


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
        biased = first_order_scan((1.0 - alpha) * values, alpha, self._state)
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

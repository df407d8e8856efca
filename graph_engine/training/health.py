"""Per-node health verdicts from a run's newest probes: what the health panel lists and
what the canvas marks with a badge or a bar.

The probes measure (dead and saturated units, gradient norms, update-to-weight
ratios, non-finite values); this module decides which numbers are a problem, names
the number in one line, and maps a metric onto 0..1 for a bar on the node. It reads
a :class:`RunHistory` and never imports Qt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graph_engine.training.history import RunHistory

#: half of a rectifier's units never firing on the probe batch: the layer has lost half
#: its capacity, and a dead ReLU gets no gradient to come back (He et al. init keeps it ~0)
DEAD_FRACTION = 0.5
#: half of a squashing layer's outputs within 1 % of its bounds: their local gradient is
#: about zero, so the layers below learn very slowly
SATURATED_FRACTION = 0.5
#: a layer's parameter gradient below this is float32 noise next to weights of order 1e-2:
#: its weights effectively stop changing (vanishing gradient)
VANISHING_NORM = 1e-7
#: a layer's parameter gradient above this moves weights by far more than their size
#: at any usual learning rate: it is exploding (clip gradients or lower the rate)
EXPLODING_NORM = 1e3
#: one step changing a layer's weights by more than 10 % of their norm (healthy is about
#: 1e-3): the learning rate is far too high for that layer
EXPLODING_RATIO = 0.1

#: flag kinds, the most urgent first: a node with several problems reports the first
KINDS = ("non_finite", "exploding", "vanishing", "dead", "saturated")

#: what to try, per flag kind (a tooltip for the flag)
ADVICE = {
    "non_finite": "NaN or Inf appeared here. Lower the learning rate, turn on gradient clipping, "
                  "or check the inputs for missing values.",
    "exploding": "Updates this large make training diverge. Lower the learning rate or turn on "
                 "gradient clipping; normalisation layers help too.",
    "vanishing": "Gradients this small barely change the weights. Try residual connections, "
                 "normalisation layers or a non-saturating activation.",
    "dead": "Units that output zero for every sample get no gradient and stop learning. Try a "
            "lower learning rate, LeakyReLU/ELU, or batch normalisation before the ReLU.",
    "saturated": "Outputs stuck at the bounds pass almost no gradient. Normalise the inputs, use "
                 "smaller initial weights, or use ReLU-like activations.",
}

#: the log-scale window of the gradient-norm bar: 1e-8 (empty) … 1e2 (full)
GRADIENT_BAR_RANGE = (-8.0, 2.0)

#: metrics :func:`overlay_values` knows
OVERLAY_METRICS = ("dead", "saturated", "gradient")


@dataclass(frozen=True)
class HealthFlag:
    """One problem of one node, e.g. kind "dead" with "relu2: 83 % of units dead (…)"."""

    node_id: str
    kind: str
    message: str
    #: the number the message names (a fraction, a norm or a ratio; NaN for non_finite)
    value: float


def sci(value: float) -> str:
    """A compact scientific number: ``3.2e-3``, ``1.0e+4``; ``nan`` and ``inf`` as such."""
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.1e}".split("e")
    power = int(exponent)
    return f"{mantissa}e{power:+d}" if power > 0 else f"{mantissa}e{power}"


def percent(fraction: float) -> str:
    """``0.834`` -> ``83 %`` (``<1 %`` for small non-zero shares)."""
    if 0 < fraction < 0.005:
        return "<1 %"
    return f"{round(fraction * 100):d} %"


def node_health(history: "RunHistory") -> dict[str, HealthFlag]:
    """The most urgent problem of each node that has one, from the newest probes.

    Nodes come in the probes' order (the graph's topological order); a node the
    trainer named when it stopped on a NaN/Inf comes first.
    """
    found: dict[str, list[HealthFlag]] = {}

    def add(flag: HealthFlag) -> None:
        found.setdefault(flag.node_id, []).append(flag)

    if history.status == "failed" and history.failed_node:
        node_id = history.failed_node
        add(HealthFlag(node_id, "non_finite",
                       f"{node_id}: non-finite values (NaN/Inf) — training stopped here", math.nan))
    activations = history.probes.get("activations")
    if activations is not None:
        for node_id, entry in activations.data.items():
            for flag in _activation_flags(node_id, entry):
                add(flag)
    gradients = history.probes.get("gradients")
    if gradients is not None:
        ratios = gradients.data.get("update_ratios", {})
        for node_id, norm in gradients.data.get("norms", {}).items():
            for flag in _gradient_flags(node_id, _float(norm), _float(ratios.get(node_id))):
                add(flag)
    rank = {kind: index for index, kind in enumerate(KINDS)}
    return {node_id: min(flags, key=lambda f: rank[f.kind]) for node_id, flags in found.items()}


def _activation_flags(node_id: str, entry: dict[str, Any]) -> list[HealthFlag]:
    flags = []
    nonfinite = _float(entry.get("nonfinite_fraction"))
    if nonfinite > 0:
        flags.append(HealthFlag(node_id, "non_finite",
                                f"{node_id}: {percent(nonfinite)} of outputs are NaN/Inf", nonfinite))
    dead = _float(entry.get("dead_fraction"))
    if dead >= DEAD_FRACTION:
        flags.append(HealthFlag(node_id, "dead",
                                f"{node_id}: {percent(dead)} of units dead (ReLU outputs all zero)", dead))
    saturated = _float(entry.get("saturated_fraction"))
    if saturated >= SATURATED_FRACTION:
        flags.append(HealthFlag(
            node_id, "saturated",
            f"{node_id}: {percent(saturated)} of outputs saturated (near the bounds, gradient ≈ 0)",
            saturated))
    return flags


def _gradient_flags(node_id: str, norm: float, ratio: float) -> list[HealthFlag]:
    flags = []
    if math.isnan(norm) or math.isinf(norm) or math.isinf(ratio):
        flags.append(HealthFlag(node_id, "non_finite",
                                f"{node_id}: gradient norm {sci(norm)} — not finite", norm))
    elif norm > EXPLODING_NORM:
        flags.append(HealthFlag(node_id, "exploding",
                                f"{node_id}: gradient norm {sci(norm)} — exploding", norm))
    elif ratio > EXPLODING_RATIO:
        flags.append(HealthFlag(
            node_id, "exploding",
            f"{node_id}: update/weight ratio {ratio:.2g} per step — exploding (healthy ≈ 1e-3)", ratio))
    elif norm < VANISHING_NORM:
        flags.append(HealthFlag(node_id, "vanishing",
                                f"{node_id}: gradient norm {sci(norm)} — vanishing", norm))
    return flags


def overlay_values(history: "RunHistory", metric: str) -> dict[str, tuple[float, str]]:
    """Node id → (fraction 0..1, short text) of one metric from the newest probes, for a
    bar on each node of the canvas.

    - ``"dead"``: the share of a rectifier's units that never fire, e.g. (0.83, "83 % dead");
    - ``"saturated"``: the share of a squashing layer's outputs at its bounds;
    - ``"gradient"``: the parameter gradient norm on a log scale from 1e-8 (0) to 1e2 (1),
      e.g. (0.55, "‖g‖ 3.2e-3"); a non-finite norm fills the bar.
    """
    if metric not in OVERLAY_METRICS:
        raise ValueError(f"unknown overlay metric {metric!r}; expected one of {OVERLAY_METRICS}")
    if metric == "gradient":
        probe = history.probes.get("gradients")
        norms = probe.data.get("norms", {}) if probe is not None else {}
        return {node_id: (_log_fraction(_float(norm)), f"‖g‖ {sci(_float(norm))}")
                for node_id, norm in norms.items()}
    probe = history.probes.get("activations")
    key, word = ("dead_fraction", "dead") if metric == "dead" else ("saturated_fraction", "saturated")
    values = {}
    for node_id, entry in (probe.data.items() if probe is not None else ()):
        fraction = _float(entry.get(key))
        if not math.isnan(fraction):
            fraction = min(1.0, max(0.0, fraction))
            values[node_id] = (fraction, f"{percent(fraction)} {word}")
    return values


def _log_fraction(norm: float) -> float:
    if not math.isfinite(norm):
        return 1.0
    if norm <= 0:
        return 0.0
    low, high = GRADIENT_BAR_RANGE
    return min(1.0, max(0.0, (math.log10(norm) - low) / (high - low)))


def _float(value: Any) -> float:
    """A probe number as float; missing or non-numeric values are NaN."""
    try:
        return float(value)  # ints, floats and numpy scalars
    except (TypeError, ValueError):
        return math.nan

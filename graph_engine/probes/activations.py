"""Activation statistics per node: the numbers behind the health view.

Mean, spread and a histogram show whether signals vanish or explode from layer to
layer; a rectifier's exact zeros show dying units and a squashing activation's
share near its bounds shows saturation (vanishing gradients). Everything is
reduced on the model's device in a few single passes per node; one host transfer
carries the results back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch
from torch import fx

from graph_engine.analysis import Analysis, analyze
from graph_engine.model import Graph
from graph_engine.probes._common import evaluating, live_ids, model_device, tapped
from graph_engine.registry import LayerSpec, get_spec

#: a value counts as saturated within this share of the activation's range of its bound
SATURATION_TOLERANCE = 0.01
#: torch.histc counts in float32, exact only up to 2**24: longer inputs go in chunks
_HISTC_CHUNK = 1 << 24


def activation_stats(model: fx.GraphModule, graph: Graph, x: torch.Tensor | tuple[torch.Tensor, ...],
                     node_ids: Sequence[str] | None = None, bins: int = 32,
                     ranges: Mapping[str, tuple[float, float]] | None = None,
                     analysis: Analysis | None = None,
                     tap_ids: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Statistics of each node's output for the batch ``x`` (model in eval mode); a
    module with several Inputs takes a tuple, in the Inputs' order.

    ``node_ids`` defaults to every live node other than Input/Output whose output is
    float. ``tap_ids`` (a superset of ``node_ids``) names the nodes the forward pass taps:
    a caller that measures a rotating few nodes per call passes the same full list every
    time, so one cached tap serves them all. Per node the result holds:

    - ``mean``, ``std`` (population, ddof 0), ``min``, ``max``: over the finite values
      (NaN when there are none), and ``nonfinite_fraction``;
    - ``counts``: ``bins`` histogram counts over ``range`` = (lo, hi), the last bin
      closed; ``below`` / ``above``: finite values outside the range. The range is
      ``ranges[node_id]`` when given (keep bins fixed over training by passing back
      the range returned earlier), else the spec's ``saturates`` bounds, else the
      observed min/max rounded outward to a nice number (:func:`nice_range`);
    - rectifiers (``spec.rectifier``): ``zero_fraction`` (exact zeros),
      ``dead_units`` and ``dead_fraction`` (units zero for every sample and position:
      channels of (C, ...) outputs, features of (F,) and of (T, F) sequences; a rank-2
      output with a receptive field is (C, L));
    - squashing layers (``spec.saturates`` = (a, b)): ``saturated_fraction``, the share
      with |y − a| or |y − b| below 1 % of b − a.

    Cost: each node's output is read by a few single-pass reductions on its device
    (moments, extremes, per-unit non-zero counts, one histogram), and everything comes
    back in one host transfer; a node seen for the first time without a range needs
    one more, for the extremes its range is derived from.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    analysis = analysis or analyze(graph)  # the trainer passes its own: no re-analysis per probe
    if node_ids is None:
        node_ids = _default_nodes(model, graph, analysis)
    node_ids = list(dict.fromkeys(node_ids))
    ranges = dict(ranges or {})
    if not node_ids:
        return {}
    taps = list(dict.fromkeys(tap_ids)) if tap_ids is not None else node_ids
    missing_taps = [n for n in node_ids if n not in taps]
    taps += missing_taps
    device = model_device(model)
    module = tapped(model, taps)
    with evaluating(model):
        outputs = module(*(t.to(device) for t in x)) if isinstance(x, tuple) else module(x.to(device))
        values = {n: outputs[n].detach().float() for n in node_ids}
        plans = {n: _plan(graph, analysis, n, values[n]) for n in node_ids}
        new = [n for n in node_ids if n not in ranges]
        if new:  # first sight: the range comes from the extremes (once per node and run)
            extremes = torch.stack([plans[n].scalars[_MIN:_MAX + 1] for n in new]).tolist()
            for node_id, (low, high) in zip(new, extremes):
                if not (math.isfinite(low) and math.isfinite(high)):
                    low, high = _finite_moments(values[node_id])[2:]
                ranges[node_id] = _derived_range(plans[node_id].spec, low, high)
        rows = [torch.cat([plans[n].scalars.double(), _histogram(values[n], ranges[n], bins, n)])
                for n in node_ids]
        host = torch.cat(rows).tolist()
        results, first = {}, 0
        for node_id, row in zip(node_ids, rows):
            results[node_id] = _entry(plans[node_id], host[first:first + len(row)], values[node_id],
                                      ranges[node_id], bins)
            first += len(row)
        return results


def nice_range(lo: float, hi: float) -> tuple[float, float]:
    """[lo, hi] widened outward to multiples of a 1-2-5 step of about a tenth of the span.

    Stable bins for a histogram that is redrawn while training: small changes of the
    observed extremes keep the same range. A constant value v gets [v − |v|, v + |v|]
    rounded, zero gets [0, 1]; no finite values gives [0, 1].
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return (0.0, 1.0)
    if hi <= lo:
        if lo == 0:
            return (0.0, 1.0)
        lo, hi = lo - abs(lo), hi + abs(hi)
    step = _nice_step((hi - lo) / 10)
    low = math.floor(lo / step) * step
    high = math.ceil(hi / step) * step
    if high <= low:
        high = low + step
    return (_tidy(low), _tidy(high))


def _nice_step(rough: float) -> float:
    exponent = math.floor(math.log10(rough))
    for mantissa in (1.0, 2.0, 5.0, 10.0):
        step = mantissa * 10.0 ** exponent
        if step >= rough * (1 - 1e-12):
            return step
    return 10.0 ** (exponent + 1)


def _tidy(value: float) -> float:
    """0.30000000000000004 -> 0.3: the float a person would type."""
    return float(f"{value:.12g}") + 0.0


def activation_nodes(model: fx.GraphModule, graph: Graph, analysis: Analysis | None = None) -> list[str]:
    """The nodes :func:`activation_stats` measures by default: live, float, not Input/Output."""
    return _default_nodes(model, graph, analysis or analyze(graph))


def _default_nodes(model: fx.GraphModule, graph: Graph, analysis: Analysis) -> list[str]:
    chosen = []
    for node_id in live_ids(model):
        spec = _spec(graph, node_id)
        if spec is None or spec.role in ("input", "output"):
            continue
        if analysis.info(node_id).dtype == "float":
            chosen.append(node_id)
    return chosen


def _spec(graph: Graph, node_id: str) -> LayerSpec | None:
    node = graph.nodes.get(node_id)
    return get_spec(node.type) if node is not None else None


def _unit_axis(value: torch.Tensor, has_field: bool) -> int:
    """The batch-inclusive axis whose entries are units: channels, else features."""
    rank = value.dim() - 1
    if rank <= 1:
        return value.dim() - 1
    if rank == 2 and not has_field:
        return 2
    return 1


# Slots of the per-node scalar vector (the extras follow them).
_MEAN, _STD, _MIN, _MAX = range(4)


@dataclass(frozen=True)
class _Plan:
    """One node's scalars on the device, and the names of the extras after the basic four."""

    spec: LayerSpec | None
    scalars: torch.Tensor
    extras: tuple[str, ...]


def _plan(graph: Graph, analysis: Analysis, node_id: str, value: torch.Tensor) -> _Plan:
    """Mean, std, min, max and the spec's extras as one float tensor, still on the device."""
    spec = _spec(graph, node_id)
    if value.numel() == 0:
        nan = value.new_tensor(float("nan"))
        parts = [nan, nan, nan, nan]
    else:
        mean, std = _moments(value)
        low, high = torch.aminmax(value)
        parts = [mean, std, low, high]
    extras: list[str] = []
    if spec is not None and spec.rectifier:
        axis = _unit_axis(value, analysis.info(node_id).field is not None)
        others = tuple(d for d in range(value.dim()) if d != axis)
        # one pass: every unit's count of non-zero values gives both the zeros and the dead units
        nonzero = torch.count_nonzero(value, dim=others) if others else (value != 0).long()
        units = max(int(value.shape[axis]), 1)
        dead = (nonzero == 0).sum().float()
        parts += [1.0 - nonzero.sum().float() / max(value.numel(), 1), dead, dead / units]
        extras += ["zero_fraction", "dead_units", "dead_fraction"]
    if spec is not None and spec.saturates is not None:
        low, high = spec.saturates
        tolerance = SATURATION_TOLERANCE * (high - low)
        near = ((value - low).abs() < tolerance) | ((value - high).abs() < tolerance)
        parts.append(torch.count_nonzero(near).float() / max(value.numel(), 1))
        extras.append("saturated_fraction")
    scalars = torch.stack([p if isinstance(p, torch.Tensor) else value.new_tensor(p) for p in parts])
    return _Plan(spec, scalars.float(), tuple(extras))


def _moments(value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and population std in two passes, both summed in float64 (the mean, then the
    squared deviations from it): as exact as ``torch.var_mean`` and on the CPU about six
    times faster (its single-pass kernel was a third of a ResNet probe's cost)."""
    flat = value.reshape(-1)
    count = flat.numel()
    mean = flat.sum(dtype=torch.float64) / count
    deviations = flat - mean.to(flat.dtype)
    var = deviations.square().sum(dtype=torch.float64) / count
    return mean.float(), var.sqrt().float()


def _histogram(value: torch.Tensor, value_range: tuple[float, float], bins: int, node_id: str) -> torch.Tensor:
    """``bins`` counts over the range and the count below it, on the device (one histc pass
    and one comparison; the count above follows from the total on the host)."""
    low, high = (float(v) for v in value_range)
    if not high > low:
        raise ValueError(f"histogram range of {node_id!r} must have lo < hi, got {(low, high)}")
    flat = value.reshape(-1)
    counts = torch.zeros(bins, dtype=torch.float64, device=flat.device)
    for chunk in flat.split(_HISTC_CHUNK):
        counts += torch.histc(chunk, bins=bins, min=low, max=high)
    below = torch.count_nonzero(flat < low).double().reshape(1)
    return torch.cat([counts, below])


def _entry(plan: _Plan, row: list[float], value: torch.Tensor, value_range: tuple[float, float],
           bins: int) -> dict[str, Any]:
    """A node's result from its row of the one host transfer."""
    mean, std, low, high = row[:4]
    extras = row[4:4 + len(plan.extras)]
    counts = [int(c) for c in row[4 + len(plan.extras):4 + len(plan.extras) + bins]]
    below = int(row[-1])
    nonfinite = 0
    if not all(math.isfinite(v) for v in (mean, std, low, high)):  # the rare path: NaN or inf present
        nonfinite = int((~torch.isfinite(value)).sum())
        mean, std, low, high = _finite_moments(value)
    finite = value.numel() - nonfinite
    entry: dict[str, Any] = {"mean": mean, "std": std, "min": low, "max": high,
                             "nonfinite_fraction": nonfinite / value.numel() if value.numel() else 0.0}
    for name, number in zip(plan.extras, extras):
        entry[name] = int(number) if name == "dead_units" else number
    entry["range"] = (float(value_range[0]), float(value_range[1]))
    entry["counts"] = counts
    entry["below"], entry["above"] = below, max(0, finite - below - sum(counts))
    return entry


def _finite_moments(value: torch.Tensor) -> tuple[float, float, float, float]:
    """The moments over finite values only (the rare path: NaN or inf present)."""
    finite = torch.isfinite(value)
    count = finite.sum().clamp_min(1)
    mean = torch.where(finite, value, 0).sum() / count
    var = torch.where(finite, value - mean, 0).square().sum() / count
    low = torch.where(finite, value, math.inf).amin()
    high = torch.where(finite, value, -math.inf).amax()
    mean, std, low, high = torch.stack([mean, var.sqrt(), low, high]).tolist()
    if not math.isfinite(low):  # no finite value at all
        return (math.nan, math.nan, math.nan, math.nan)
    return mean, std, low, high


def _derived_range(spec: LayerSpec | None, low: float, high: float) -> tuple[float, float]:
    if spec is not None and spec.saturates is not None:
        return (float(spec.saturates[0]), float(spec.saturates[1]))
    return nice_range(low, high)

"""Activation statistics per node: the numbers behind the health view.

Mean, spread and a histogram show whether signals vanish or explode from layer to
layer; a rectifier's exact zeros show dying units and a squashing activation's
share near its bounds shows saturation (vanishing gradients). Everything is
reduced on the model's device; two small host transfers carry the results back.
"""

from __future__ import annotations

import math
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
                     analysis: Analysis | None = None) -> dict[str, dict[str, Any]]:
    """Statistics of each node's output for the batch ``x`` (model in eval mode); a
    module with several Inputs takes a tuple, in the Inputs' order.

    ``node_ids`` defaults to every live node other than Input/Output whose output is
    float. Per node the result holds:

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
    device = model_device(model)
    module = tapped(model, node_ids)
    with evaluating(model):
        outputs = module(*(t.to(device) for t in x)) if isinstance(x, tuple) else module(x.to(device))
        results, plans = _moments(graph, analysis, outputs, node_ids)
        for node_id in node_ids:
            if node_id not in ranges:
                ranges[node_id] = _derived_range(plans[node_id][0], results[node_id])
        _histograms(outputs, node_ids, ranges, bins, results)
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


# Slots of the per-node scalar vector sent back in one transfer.
_MEAN, _STD, _MIN, _MAX, _NONFINITE = range(5)


def _moments(graph: Graph, analysis: Analysis, outputs: dict[str, torch.Tensor],
             node_ids: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, tuple]]:
    """Scalars of every node, stacked on the device and moved to the host at once."""
    scalars: list[torch.Tensor] = []
    plans: dict[str, tuple] = {}
    for node_id in node_ids:
        value = outputs[node_id].detach().float()
        spec = _spec(graph, node_id)
        first = len(scalars)
        scalars += _basic(value)
        extras: list[str] = []
        if spec is not None and spec.rectifier:
            axis = _unit_axis(value, analysis.info(node_id).field is not None)
            units = value.movedim(axis, -1).reshape(-1, value.shape[axis])
            dead = units.shape[1] - (units != 0).any(dim=0).sum()
            scalars += [(value == 0).sum() / value.numel(), dead.float(),
                        dead / max(units.shape[1], 1)]
            extras += ["zero_fraction", "dead_units", "dead_fraction"]
        if spec is not None and spec.saturates is not None:
            low, high = spec.saturates
            tolerance = SATURATION_TOLERANCE * (high - low)
            near = ((value - low).abs() < tolerance) | ((value - high).abs() < tolerance)
            scalars.append(near.sum() / value.numel())
            extras.append("saturated_fraction")
        plans[node_id] = (spec, first, extras)
    host = torch.stack([s.float() for s in scalars]).tolist()
    results: dict[str, dict[str, Any]] = {}
    for node_id in node_ids:
        spec, first, extras = plans[node_id]
        mean, std, low, high, nonfinite = host[first:first + 5]
        if not all(math.isfinite(v) for v in (mean, std, low, high)):
            mean, std, low, high = _finite_moments(outputs[node_id].detach().float())
        entry: dict[str, Any] = {"mean": mean, "std": std, "min": low, "max": high,
                                 "nonfinite_fraction": nonfinite}
        for offset, name in enumerate(extras):
            number = host[first + 5 + offset]
            entry[name] = int(number) if name == "dead_units" else number
        results[node_id] = entry
    return results, plans


def _basic(value: torch.Tensor) -> list[torch.Tensor]:
    """Mean, std, min, max, non-finite share: the fast path for finite activations."""
    if value.numel() == 0:
        nan = value.new_tensor(float("nan"))
        return [nan, nan, nan, nan, value.new_tensor(0.0)]
    var, mean = torch.var_mean(value, correction=0)
    low, high = torch.aminmax(value)
    nonfinite = (~torch.isfinite(value)).sum() / value.numel()
    return [mean, var.sqrt(), low, high, nonfinite]


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


def _derived_range(spec: LayerSpec | None, entry: dict[str, Any]) -> tuple[float, float]:
    if spec is not None and spec.saturates is not None:
        return (float(spec.saturates[0]), float(spec.saturates[1]))
    return nice_range(entry["min"], entry["max"])


def _histograms(outputs: dict[str, torch.Tensor], node_ids: list[str],
                ranges: dict[str, tuple[float, float]], bins: int,
                results: dict[str, dict[str, Any]]) -> None:
    """Histogram counts plus out-of-range counts of every node, one host transfer."""
    rows = []
    for node_id in node_ids:
        low, high = (float(v) for v in ranges[node_id])
        if not high > low:
            raise ValueError(f"histogram range of {node_id!r} must have lo < hi, got {(low, high)}")
        flat = outputs[node_id].detach().float().reshape(-1)
        counts = torch.zeros(bins, dtype=torch.int64, device=flat.device)
        for chunk in flat.split(_HISTC_CHUNK):
            counts += torch.histc(chunk, bins=bins, min=low, max=high).long()
        below = (flat < low).sum().reshape(1)
        above = (flat > high).sum().reshape(1)
        rows.append(torch.cat([counts, below, above]))
        results[node_id]["range"] = (low, high)
    host = torch.stack(rows).tolist()
    for node_id, row in zip(node_ids, host):
        results[node_id]["counts"] = row[:bins]
        results[node_id]["below"], results[node_id]["above"] = row[bins], row[bins + 1]

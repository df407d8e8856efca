"""How a layer's weights start: its ``init`` scheme, run as one plan by compiler and codegen.

Layers with weights declare ``init`` and ``init_std`` (``graph_engine.weight_params``);
the graph's ``training`` section holds a graph-wide default scheme (``init``, ``init_std``)
that a node's ``init: "default"`` follows.

The compiler and the code exporter share one plan (:func:`init_plan`): after every module
is built with torch's own initialisation, each tensor of a re-initialised node gets one
``torch.nn.init`` call, in the same order. So under the same seed the compiled module and
the exported code hold bit-identical weights. A scheme applies to the weight matrices and
kernels (two or more dimensions); biases start at zero; 1-d scales (a norm's γ) keep
torch's values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graph_engine.weight_params import DEFAULT_STD, INIT, SCHEMES


@dataclass(frozen=True)
class InitCall:
    """One ``torch.nn.init`` call on one tensor: ``nn.init.{function}(tensor, **kwargs)``."""

    tensor: str  #: state_dict key, e.g. ``fc1.weight`` or ``layer1.0.conv1.weight``
    function: str  #: e.g. ``kaiming_normal_``
    kwargs: tuple[tuple[str, float], ...] = ()


def graph_default(training: dict[str, Any]) -> tuple[str, float]:
    """The graph-wide (scheme, std) of a ``training`` section; a bad value is a ValueError."""
    scheme = training.get("init", "torch")
    std = training.get("init_std", DEFAULT_STD)
    if scheme not in SCHEMES:
        raise ValueError(f"training.init must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    if isinstance(std, bool) or not isinstance(std, (int, float)) or not 0 <= std <= 10:
        raise ValueError(f"training.init_std must be a number from 0 to 10, got {std!r}")
    return scheme, float(std)


def node_scheme(params: dict[str, Any], default: tuple[str, float]) -> tuple[str, float]:
    """A node's (scheme, std): its own, or the graph's for ``default`` (and layers without one)."""
    scheme = params.get("init", "default")
    if scheme == "default":
        return default
    return scheme, float(params.get("init_std", DEFAULT_STD))


def tensor_call(name: str, key: str, dims: int, scheme: str, std: float) -> InitCall | None:
    """The call that initialises tensor ``name`` (of a module; ``key`` in the state_dict)."""
    last = name.rsplit(".", 1)[-1]
    if scheme == "torch":
        return None
    if last.startswith("bias"):
        return InitCall(key, "zeros_")
    if dims < 2:
        return None  # a norm's scale, a 1-d tensor: no fan to scale by
    if scheme == "normal":
        return InitCall(key, "normal_", (("std", std),))
    return InitCall(key, f"{scheme}_")


def init_plan(graph, analysis) -> list[InitCall]:
    """Every init call for ``graph`` (the expansion of blocks), in build order.

    ``analysis`` is the graph's compiled analysis (blocks expanded); tensor names come from
    building each re-initialised module on the meta device (no memory, no random draws)."""
    import torch

    from graph_engine.lowering import live_nodes

    default = graph_default(graph.training)
    calls: list[InitCall] = []
    expanded = analysis.graph
    if default[0] == "torch" and all(node.params.get("init", "default") in ("default", "torch")
                                     for node in expanded if _has_init(node.type)):
        return calls  # torch's own init everywhere (most graphs): no walk
    for live in live_nodes(expanded, analysis):
        if live.spec.module is None or not any(p is INIT for p in live.spec.params):
            continue
        scheme, std = node_scheme(live.params, default)
        if scheme == "torch":
            continue
        with torch.device("meta"):
            module = live.spec.module(live.params, live.in_shapes).build()
        for name, tensor in module.named_parameters():
            call = tensor_call(name, f"{live.id}.{name}", tensor.dim(), scheme, std)
            if call is not None:
                calls.append(call)
    return calls


def _has_init(type_name: str) -> bool:
    from graph_engine.registry import get_spec

    spec = get_spec(type_name)
    return spec is not None and any(p is INIT for p in spec.params)


def apply_plan(modules: dict[str, Any], plan: list[InitCall]) -> None:
    """Run the plan on the built modules ({node id: module}), as the exported code does."""
    from torch import nn

    for call in plan:
        node_id, name = _split(call.tensor, modules)
        tensor = modules[node_id].get_parameter(name)
        getattr(nn.init, call.function)(tensor, **dict(call.kwargs))


def _split(key: str, modules: dict[str, Any]) -> tuple[str, str]:
    """``layer1.0.conv1.weight`` -> (``layer1.0.conv1``, ``weight``): the longest module id."""
    parts = key.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        node_id = ".".join(parts[:cut])
        if node_id in modules:
            return node_id, ".".join(parts[cut:])
    raise KeyError(key)


def plan_code(plan: list[InitCall]) -> list[str]:
    """The exported ``__init__`` lines of the plan: ``nn.init.kaiming_normal_(self.fc1.weight)``."""
    from graph_engine.source_text import py_literal

    lines = []
    for call in plan:
        parts = call.tensor.split(".")
        if all(p.isidentifier() for p in parts):
            target = "self." + call.tensor
        else:
            target = f"self.get_parameter({py_literal(call.tensor)})"
        extra = "".join(f", {k}={py_literal(v)}" for k, v in call.kwargs)
        lines.append(f"nn.init.{call.function}({target}{extra})")
    return lines

"""Naming where a NaN or Inf came from, so a failed run points at a node on the canvas.

The trainer notices a non-finite loss, gradient norm or weight; these functions walk
the network in topological order and say which node went bad first, and how. Each
returns ``(message, node id or None)``, the arguments of :class:`NonFiniteError`.
"""

from __future__ import annotations

import torch
from torch import fx

from graph_engine.analysis import Analysis
from graph_engine.compiler import NODE_KEY, node_module, tap

Diagnosis = tuple[str, "str | None"]


class NonFiniteError(RuntimeError):
    """The run produced NaN or Inf; ``node`` is the node to highlight (None if unknown)."""

    def __init__(self, message: str, node: str | None):
        super().__init__(message)
        self.node = node


def _type(analysis: Analysis, node_id: str) -> str:
    return analysis.graph.node(node_id).type


def non_finite_weights(model: fx.GraphModule, analysis: Analysis) -> str | None:
    """The first node (in topological order) whose parameters hold NaN or Inf."""
    for node_id in analysis.order:
        module = node_module(model, node_id)
        if isinstance(module, torch.nn.Module) and any(
                not torch.isfinite(p).all() for p in module.parameters()):
            return node_id
    return None


def weights_diagnosis(model: fx.GraphModule, analysis: Analysis, what: str) -> Diagnosis:
    """``what`` went wrong; name the node whose weights are no longer finite, if one is."""
    node_id = non_finite_weights(model, analysis)
    if node_id is None:
        return what, None
    return (f"{what}: the weights of '{node_id}' ({_type(analysis, node_id)}) are no longer "
            "finite (a gradient overflowed; try a lower learning rate or grad_clip)", node_id)


def loss_diagnosis(model: fx.GraphModule, analysis: Analysis, x: torch.Tensor, loss: torch.Tensor,
                   step: int) -> Diagnosis:
    """Name the first node (in topological order) whose weights or output are not finite."""
    if non_finite_weights(model, analysis) is not None:
        return weights_diagnosis(model, analysis, f"the loss became {float(loss.detach())} at step {step}")
    order = [n for n in analysis.order if n in model.meta[NODE_KEY]]
    with torch.no_grad():
        outputs = tap(model, order)(*x) if isinstance(x, tuple) else tap(model, order)(x)
    for node_id in order:
        value = outputs[node_id]
        if value.is_floating_point() and not torch.isfinite(value).all():
            kind = "NaN" if torch.isnan(value).any() else "Inf"
            return (f"non-finite values ({kind}) first appear in the output of '{node_id}' "
                    f"({_type(analysis, node_id)}) at step {step}", node_id)
    return (f"the loss became {float(loss.detach())} at step {step} although every node's "
            "output is finite: check the targets and the learning rate", None)


def gradient_diagnosis(model: fx.GraphModule, analysis: Analysis, step: int) -> Diagnosis:
    """Name the node nearest the output whose parameter gradient is not finite."""
    for node_id in reversed(analysis.order):
        module = node_module(model, node_id)
        if module is None:
            continue
        for parameter in module.parameters():
            if parameter.grad is not None and not torch.isfinite(parameter.grad).all():
                return (f"non-finite gradient in '{node_id}' ({_type(analysis, node_id)}) "
                        f"at step {step}", node_id)
    return f"the gradient norm became non-finite at step {step}", None

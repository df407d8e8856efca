"""Per-node gradient norms and update-to-weight ratios, read between training steps.

Gradient norms per layer show vanishing or exploding gradients; the ratio
‖Δw‖/‖w‖ of one optimizer step (about 1e-3 is healthy) shows a learning rate that
is too small or too large, layer by layer. Norms are reduced on the device and
stacked, so each call costs one device→host transfer.
"""

from __future__ import annotations

import torch
from torch import nn


_HALF = (torch.float16, torch.bfloat16)


class GradientMonitor:
    """Reads the gradients and updates of ``model``'s parameters, grouped by node.

    Parameters of a compiled graph are named ``"{node_id}.{name}"``; each node's
    numbers combine all of its parameters (the L2 norm of their concatenation).
    Parameters with ``requires_grad=False`` are ignored.
    """

    def __init__(self, model: nn.Module):
        self.model = model
        self._groups: dict[str, list[nn.Parameter]] = {}
        for name, parameter in model.named_parameters():
            if parameter.requires_grad:
                self._groups.setdefault(name.split(".", 1)[0], []).append(parameter)
        self._snapshot: dict[str, list[torch.Tensor]] | None = None

    @property
    def node_ids(self) -> list[str]:
        """The parameterised nodes, in the model's order."""
        return list(self._groups)

    def grad_norms(self) -> dict[str, float]:
        """‖∇w‖₂ of each node with gradients (nodes none of whose parameters has a
        ``.grad`` yet are left out)."""
        names, norms = [], []
        for node_id, parameters in self._groups.items():
            grads = [p.grad for p in parameters if p.grad is not None]
            if grads:
                names.append(node_id)
                norms.append(_norm(grads))
        return _to_host(names, norms)

    def before_step(self) -> None:
        """Copy the parameters (call right before ``optimizer.step()`` at a probe step)."""
        with torch.no_grad():
            self._snapshot = {node_id: [p.detach().clone() for p in parameters]
                              for node_id, parameters in self._groups.items()}

    def update_ratios(self) -> dict[str, float]:
        """‖w_after − w_before‖₂ / ‖w_before‖₂ per node since :meth:`before_step`.

        0/0 gives 0.0 and x/0 gives inf. The snapshot is released: each ratio needs
        its own ``before_step()``.
        """
        if self._snapshot is None:
            raise RuntimeError("update_ratios() needs before_step() before optimizer.step()")
        snapshot, self._snapshot = self._snapshot, None
        names, ratios = [], []
        with torch.no_grad():
            for node_id, parameters in self._groups.items():
                before = snapshot[node_id]
                change = _norm([p.detach() - old for p, old in zip(parameters, before)])
                size = _norm(before)
                ratio = torch.where(size > 0, change / size,
                                    torch.where(change > 0, torch.inf, 0.0))
                names.append(node_id)
                ratios.append(ratio)
        return _to_host(names, ratios)


def _norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    """L2 norm of the tensors' concatenation, as a float32 scalar on their device
    (half-precision tensors are reduced in float32, so their norms do not overflow)."""
    parts = torch.stack([
        torch.linalg.vector_norm(t, dtype=torch.float32) if t.dtype in _HALF
        else torch.linalg.vector_norm(t).float()
        for t in tensors])
    return torch.linalg.vector_norm(parts)


def _to_host(names: list[str], values: list[torch.Tensor]) -> dict[str, float]:
    if not names:
        return {}
    return dict(zip(names, torch.stack(values).tolist()))

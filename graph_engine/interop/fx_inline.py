"""Trace through a library function that torch.fx recorded as one call (torchvision's
``shifted_window_attention``, ``_get_relative_position_bias``, ``_patch_merging_pad``: wrapped
with ``torch.fx.wrap`` so that fx does not look inside).

The function is run once on example tensors of the traced shapes under a
``TorchFunctionMode`` that records every torch call made on the tensors it was given (or on
what they became) as a node of a small fx graph: the same kind of node the model's own trace
has, with its shape, the example value it computed and where in the library's code it was made.
Shapes are concrete while it runs, so Python control flow on them (``if window_size >= H``)
takes the branch it takes for this input. Calls on nothing it was given (an attention mask
built with ``new_zeros`` and slice assignments) are not recorded: their results are constant
tensors, which the walk stores in the graph.

Nothing of the library is imported: the function is the object the model's trace calls.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import fx
from torch.fx.passes.shape_prop import _extract_tensor_metadata
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten, tree_map

_HERE = os.path.dirname(os.path.abspath(__file__))
_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__))

#: libraries whose fx-wrapped functions the import traces through, by module prefix
INLINED_LIBRARIES = ("torchvision.",)
#: calls whose result takes only the dtype and device of the tensor they are called on
_SHAPE_ONLY = {"new_zeros", "new_ones", "new_full", "new_empty", "new_tensor", "zeros_like", "ones_like",
               "empty_like", "full_like"}


def is_inlined(target: Any) -> bool:
    """Is ``target`` a function of a library whose fx-wrapped calls are traced through?"""
    module = getattr(target, "__module__", None) or ""
    return callable(target) and not isinstance(target, type) and module.startswith(INLINED_LIBRARIES)


@dataclass
class Recorded:
    """The function's calls as an fx graph: ``inputs`` are its placeholders, in the order of
    the example tensors given; ``result`` is the node (or constant) it returned."""

    graph: fx.Graph
    inputs: list[fx.Node]
    result: Any


def _stack() -> str:
    """The call's frames as fx writes a stack trace, without this module's and torch's own."""
    frames = [f for f in traceback.extract_stack()
              if not os.path.abspath(f.filename).startswith(_HERE + os.sep)]
    return "".join(traceback.format_list(frames))


def _target(func: Callable) -> tuple[str, Any]:
    """An fx (op, target) for a function torch handed to the mode: Tensor methods by name."""
    name = getattr(func, "__name__", "")
    owner = getattr(func, "__qualname__", "").split(".")[0]
    if owner in ("TensorBase", "Tensor"):
        if name == "__getitem__":
            import operator

            return "call_function", operator.getitem
        return "call_method", name
    return "call_function", func


class _Recorder(TorchFunctionMode):
    def __init__(self, graph: fx.Graph, tracked: dict[int, tuple[fx.Node, torch.Tensor]], meta: dict):
        super().__init__()
        self.graph = graph
        self.tracked = tracked
        self.meta = meta

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        leaves, _ = tree_flatten((args, kwargs))
        if not any(isinstance(a, torch.Tensor) and id(a) in self.tracked for a in leaves):
            return out
        if not isinstance(out, torch.Tensor) or getattr(func, "__name__", "") in _SHAPE_ONLY:
            return out  # sizes, numbers of elements; new tensors that take only a dtype: constants

        def node_of(value):
            if isinstance(value, torch.Tensor) and id(value) in self.tracked:
                return self.tracked[id(value)][0]
            return value

        op, target = _target(func)
        node = self.graph.create_node(op, target, tree_map(node_of, tuple(args)), tree_map(node_of, dict(kwargs)))
        node.meta.update(self.meta)
        node.meta["tensor_meta"] = _extract_tensor_metadata(out)
        node.meta["example"] = out
        node.meta["stack_trace"] = _stack()
        self.tracked[id(out)] = (node, out)
        return out


def record(function: Callable, args: tuple, kwargs: dict, example_of: Callable[[fx.Node], torch.Tensor],
           meta: dict) -> Recorded:
    """Run ``function(*args, **kwargs)`` with each fx.Node argument replaced by
    ``example_of(node)``; ``meta`` goes on every recorded node (the module scope of the call).
    ``Recorded.inputs[i]`` stands for the i-th distinct fx.Node argument."""
    graph = fx.Graph()
    tracked: dict[int, tuple[fx.Node, torch.Tensor]] = {}
    inputs: list[fx.Node] = []
    seen: dict[fx.Node, torch.Tensor] = {}

    def example_for(value):
        if not isinstance(value, fx.Node):
            return value
        if value not in seen:
            tensor = example_of(value)
            placeholder = graph.placeholder(f"input_{len(inputs)}")
            placeholder.meta.update(meta)
            placeholder.meta["tensor_meta"] = _extract_tensor_metadata(tensor)
            placeholder.meta["example"] = tensor
            placeholder.meta["outer"] = value
            inputs.append(placeholder)
            tracked[id(tensor)] = (placeholder, tensor)
            seen[value] = tensor
        return seen[value]

    concrete_args = tree_map(example_for, tuple(args))
    concrete_kwargs = tree_map(example_for, dict(kwargs))
    with torch.no_grad(), _Recorder(graph, tracked, meta):
        out = function(*concrete_args, **concrete_kwargs)
    result = tracked[id(out)][0] if isinstance(out, torch.Tensor) and id(out) in tracked else out
    return Recorded(graph, inputs, result)


def fx_nodes(value: Any) -> list[fx.Node]:
    """The fx nodes among a call's (nested) arguments, in order."""
    leaves, _ = tree_flatten(value)
    return [leaf for leaf in leaves if isinstance(leaf, fx.Node)]

"""Walk a traced ``torch.fx`` graph and turn each call into a layer node (or say why not).

Values flowing through the walk are: a node id (a tensor some layer outputs), a
:class:`Source` (another output port of a layer: the second piece of a ``chunk``), the
tuple of a layer with several outputs before it is indexed (``out, weights =
self.attn(q, k, v)``), a recurrent layer's output with the indexing applied so far
(``out, (h, c) = self.lstm(x)`` yields tuples), a tensor attribute of the model
(``self.scale``), or None for the plain Python values fx records around shapes
(``x.size(0)``), which need no layer. Every call that has no
layer type is collected with where it is, so one import lists every problem at once.
"""

from __future__ import annotations

import keyword
import operator
import os
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import TensorMetadata
from torch.nn import functional as F

from graph_engine.interop.fx_functions import Bound, reshape_mapping, rule_for
from graph_engine.interop.fx_modules import (
    MODULE_RULES, RECURRENT, RESHAPING_MODULES, Unsupported, attention_inputs,
)
from graph_engine.model import GraphError, check_node_id
from graph_engine.registry import get_spec

_TORCH_DIR = os.path.dirname(torch.__file__)
_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')


class Source(NamedTuple):
    """Output ``port`` of node ``node``: an input of a layer that is not a node's first output."""

    node: str
    port: int


@dataclass
class Pending:
    """A layer node to be: its id, type, params, inputs (in port order) and weights' module."""

    id: str
    type: str
    params: dict[str, Any]
    #: a node id (its first output) or a Source, per input port
    inputs: list[str | Source] = field(default_factory=list)
    module: nn.Module | None = None


@dataclass(frozen=True)
class _Recurrent:
    node_id: str
    path: tuple = ()


@dataclass(frozen=True)
class _Attr:
    name: str


@dataclass(frozen=True)
class _Outputs:
    """A layer's several outputs, as the tuple torch returns (index it to get one)."""

    node_id: str


class _Failed:
    """The value of a call already reported: its users stay silent (one problem, one message)."""


_FAILED = _Failed()


def where(node: fx.Node) -> str:
    """``file.py:12: `` from the innermost frame of the model's own code, or ''."""
    frames = _FRAME.findall(node.stack_trace or "")
    own = [f for f in frames if not os.path.abspath(f[0]).startswith(_TORCH_DIR)]
    if not own:
        return ""
    path, line, _ = own[-1]
    return f"{os.path.basename(path)}:{line}: "


def _function(node: fx.Node) -> str:
    frames = [f for f in _FRAME.findall(node.stack_trace or "")
              if not os.path.abspath(f[0]).startswith(_TORCH_DIR)]
    return frames[-1][2] if frames else "forward"


def describe(node: fx.Node, root: nn.Module, names: dict[str, str] | None = None) -> str:
    """What a call is, the way the model's source spells it (``names``: fx's target -> the
    model's own attribute name, where the import renamed one)."""
    own = (names or {}).get(str(node.target), node.target)
    if node.op == "call_module":
        module = root.get_submodule(node.target)
        cls = type(module)
        prefix = "nn." if cls.__module__.startswith("torch.nn") else ""
        return f"{prefix}{cls.__name__} self.{own}"
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    if node.op == "get_attr":
        return f"self.{own}"
    target = node.target
    name = getattr(target, "__name__", repr(target))
    for prefix, namespace in (("torch.", torch), ("F.", F), ("operator.", operator)):
        if getattr(namespace, name, None) is target:
            return prefix + name
    return getattr(target, "__qualname__", name)


def problem_text(node: fx.Node, root: nn.Module, reason: str, names: dict[str, str] | None = None) -> str:
    return f"{where(node)}{describe(node, root, names)} at node {node.name} (in {_function(node)}): {reason}"


def _valid_id(node_id: str) -> bool:
    try:
        check_node_id(node_id)
    except GraphError:
        return False
    return True


def _is_tensor_like(node: fx.Node) -> bool:
    kind = node.meta.get("type")
    return "tensor_meta" in node.meta or (isinstance(kind, type) and issubclass(kind, torch.Tensor))


def _shape(node: Any) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta") if isinstance(node, fx.Node) else None
    return tuple(int(d) for d in meta.shape) if isinstance(meta, TensorMetadata) else None


def _index_text(index: Any) -> str:
    """``(slice(None), -1)`` -> ``:, -1``, as it was written."""
    parts = index if isinstance(index, tuple) else (index,)
    return ", ".join(":" if p == slice(None) else repr(p) for p in parts)


def _last_step(index: Any) -> bool:
    """``[:, -1]`` or ``[:, -1, :]``: the last time step of a (N, T, H) sequence."""
    full = slice(None)
    return index in ((full, -1), (full, -1, full))


class FxWalk:
    """One pass over ``module.graph`` (shapes propagated) collecting Pending nodes and problems."""

    def __init__(self, root: nn.Module, module: fx.GraphModule, input_shape: tuple[int, ...],
                 input_dtype: str, batch: int, names: dict[str, str] | None = None):
        #: where submodules are looked up by the fx graph's targets (the traced module)
        self.root = root
        self.module = module
        #: fx target -> the model's own attribute name, for the targets the import renamed
        self.names = names or {}
        self.input_shape = input_shape
        self.input_dtype = input_dtype
        self.batch = batch
        self.pending: dict[str, Pending] = {}
        self.problems: list[str] = []
        self.values: dict[fx.Node, Any] = {}
        self.input_id: str | None = None
        self.output_id: str | None = None
        self._owners: dict[str, str] = {}
        self._returns: dict[str, str] = {}

    # -- ids ------------------------------------------------------------------------------
    def fresh_id(self, stem: str) -> str:
        """A valid, unused node id from a module path or fx name (``layer1.0.conv1`` -> layer1_0_conv1)."""
        base = re.sub(r"\W", "_", stem).strip("_") or "node"
        if base[0].isdigit():
            base = "n_" + base
        if not _valid_id(base):
            base += "_" if keyword.iskeyword(base) else "_layer"
        candidate, index = base, 1
        while candidate in self.pending or not _valid_id(candidate):
            index += 1
            candidate = f"{base}_{index}"
        return candidate

    def _add(self, stem: str, layer: str, params: dict, inputs: list[str | Source],
             module: nn.Module | None = None) -> str:
        node_id = self.fresh_id(stem)
        self.pending[node_id] = Pending(node_id, layer, dict(params), inputs, module)
        return node_id

    # -- values ---------------------------------------------------------------------------
    def _tensor(self, arg: Any) -> str | Source:
        """The node id (or Source) carrying ``arg``; Unsupported for what no layer can take in."""
        value = self.values.get(arg) if isinstance(arg, fx.Node) else None
        if value is _FAILED:
            raise _Silent()
        if isinstance(value, _Recurrent):
            return self._materialize(value)
        if isinstance(value, _Attr):
            own = self.names.get(value.name, value.name)
            raise Unsupported(f"it uses the tensor self.{own} directly (only layers hold weights)")
        if isinstance(value, _Outputs):
            raise Unsupported(f"it uses all the outputs of '{value.node_id}' at once (index them)")
        if not isinstance(value, (str, Source)):
            raise Unsupported("an input that is not a tensor computed by a layer")
        return value

    def _materialize(self, value: _Recurrent) -> str:
        """Decide a recurrent node's ``return_sequences`` from how its output is indexed."""
        node = self.pending[value.node_id]
        params, path = node.params, value.path
        one_way = not params["bidirectional"]
        top = params["num_layers"] - 1
        if path == (0,):
            mode = "sequences"
        elif one_way and len(path) == 2 and path[0] == 0 and _last_step(path[1]):
            mode = "final"
        elif one_way and node.type == "LSTM" and len(path) == 3 and path[:2] == (1, 0) \
                and path[2] in (-1, top):
            mode = "final"
        elif one_way and node.type != "LSTM" and len(path) == 2 and path[0] == 1 \
                and path[1] in (-1, top):
            mode = "final"
        else:
            used = node.id + "".join(f"[{_index_text(i)}]" for i in path)
            raise Unsupported(f"it uses {used}: the {node.type} layer type gives its output sequence ([0]) "
                              "or, in one direction, its last layer's final state")
        if self._returns.setdefault(node.id, mode) != mode:
            raise Unsupported(f"it uses both the output sequence and the final state of '{node.id}' "
                              f"(the {node.type} layer type gives one of them)")
        params["return_sequences"] = mode == "sequences"
        return node.id

    # -- the walk ---------------------------------------------------------------------------
    def run(self) -> None:
        for node in self.module.graph.nodes:
            try:
                self.values[node] = self._visit(node)
            except Unsupported as reason:
                self.problems.append(problem_text(node, self.root, str(reason), self.names))
                self.values[node] = _FAILED
            except _Silent:
                self.values[node] = _FAILED

    def _visit(self, node: fx.Node) -> Any:
        if node.op == "placeholder":
            return self._placeholder(node)
        if node.op == "get_attr":
            return _Attr(str(node.target))
        if node.op == "output":
            return self._output(node)
        if node.op == "call_module":
            return self._call_module(node)
        return self._call(node)

    def _placeholder(self, node: fx.Node) -> str:
        if self.input_id is not None:
            raise Unsupported(f"forward takes a second input '{node.name}' (a graph has one Input)")
        self.input_id = self._add(node.name, "Input", {"shape": list(self.input_shape),
                                                       "dtype": self.input_dtype}, [])
        return self.input_id

    def _output(self, node: fx.Node) -> None:
        result = node.args[0]
        if not isinstance(result, fx.Node):
            raise Unsupported("forward returns several values (a graph has one Output)")
        self.output_id = self._add("output", "Output", {}, [self._tensor(result)])

    def _call_module(self, node: fx.Node) -> Any:
        module = self.root.get_submodule(str(node.target))
        if isinstance(module, nn.MultiheadAttention):
            arguments = attention_inputs(node.args, node.kwargs)
        elif len(node.args) != 1 or node.kwargs:
            extra = "an initial state" if isinstance(module, nn.RNNBase) else "more than one input"
            raise Unsupported(f"called with {extra}")
        else:
            arguments = [node.args[0]]
        if isinstance(module, RESHAPING_MODULES):
            layer, params = reshape_mapping(_shape(node.args[0]), _shape(node), self.batch)
        elif type(module) in MODULE_RULES:
            layer, params = MODULE_RULES[type(module)](module)
        else:
            raise Unsupported("no layer type for this module")
        sources = [self._tensor(arg) for arg in arguments]
        if layer is None:
            return sources[0]
        owns_weights = any(True for _ in module.parameters()) or any(True for _ in module.buffers())
        own = self.names.get(str(node.target), str(node.target))
        if owns_weights and str(node.target) in self._owners:
            raise Unsupported(f"self.{own} is called more than once (shared weights; a node owns its weights)")
        node_id = self._add(own, layer, params, sources, module if owns_weights else None)
        if owns_weights:
            self._owners[str(node.target)] = node_id
        return _Recurrent(node_id) if layer in RECURRENT else self._result(node_id)

    def _result(self, node_id: str) -> str | _Outputs:
        """A new node's value: its id, or its outputs still to be indexed."""
        return _Outputs(node_id) if get_spec(self.pending[node_id].type).multi_output else node_id

    def _output_port(self, value: _Outputs, index: Any) -> str | Source:
        """``pieces[i]``: output port i of the node (its id for port 0)."""
        node = self.pending[value.node_id]
        count = len(get_spec(node.type).outputs_for(node.params))
        if not isinstance(index, int) or not -count <= index < count:
            raise Unsupported(f"index {index!r} of the {count} outputs of '{node.id}'")
        port = index % count
        return node.id if port == 0 else Source(node.id, port)

    def _call(self, node: fx.Node) -> Any:
        if node.op == "call_function" and node.target is operator.getitem:
            base = self.values.get(node.args[0])
            if isinstance(base, _Recurrent):
                return _Recurrent(base.node_id, base.path + (node.args[1],))
            if isinstance(base, _Outputs):
                return self._output_port(base, node.args[1])
            if base is _FAILED:
                raise _Silent()
        if not _is_tensor_like(node):
            return None  # shapes and sizes: plain values, no layer
        rule = rule_for(node.op, node.target)
        if rule is None:
            raise Unsupported("no layer type for this call")
        bound = rule.bind(node.args, node.kwargs)
        inputs: list[Any] = []
        for name in rule.inputs:
            value = bound[name]
            inputs += list(value) if isinstance(value, (list, tuple)) else [value]
        if any(self.values.get(a) is _FAILED for a in inputs if isinstance(a, fx.Node)):
            raise _Silent()
        first = next((a for a in inputs if isinstance(a, fx.Node)), None)
        layer, params = rule.convert(Bound(bound, _shape(first), _shape(node), self.batch))
        sources = [self._tensor(arg) for arg in inputs]
        if layer is None:
            return sources[0]
        return self._result(self._add(node.name, layer, params, sources))


class _Silent(Exception):
    """An input failed earlier; this call is not reported again."""

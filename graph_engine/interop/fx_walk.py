"""Walk a traced ``torch.fx`` graph and turn each call into a layer node (or say why not).

Values flowing through the walk are: a node id (a tensor some layer outputs), a
:class:`Source` (another output port of a layer: the second piece of a ``chunk``), the
tuple of a layer with several outputs before it is indexed (``out, weights =
self.attn(q, k, v)``), a recurrent layer's output with the indexing applied so far
(``out, (h, c) = self.lstm(x)`` yields tuples), a tensor attribute of the model
(``self.scale``), or None for the plain Python values fx records around shapes
(``x.size(0)``), which need no layer. Every call that has no
layer type is collected with where it is, so one import lists every problem at once: a call
whose input could not become a layer is still checked itself (only said once: a call that
would be fine is not reported for its failed input).

A learned tensor of the model used beside an activation (``x + self.pos_embedding``,
``self.layer_scale * x``, ``self.class_token.expand(n, -1, -1)``) becomes a Parameter node;
one passed as a function's weight (``F.layer_norm(x, shape, self.weight, self.bias)``) becomes
that layer's weight.
"""

from __future__ import annotations

import keyword
import math
import operator
import os
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import TensorMetadata
from torch.nn import functional as F

from graph_engine.interop.fx_functions import Bound, Rule, reshape_mapping, rule_for
from graph_engine.interop.fx_layouts import PLAIN, LayoutCalls
from graph_engine.interop.fx_modules import (
    MODULE_RULES, RECURRENT, RESHAPING_MODULES, Unsupported, attention_inputs,
)
from graph_engine.model import GraphError, check_node_id
from graph_engine.registry import get_spec

_TORCH_DIR = os.path.dirname(torch.__file__)
_FX_DIR = os.path.join(_TORCH_DIR, "fx")
_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')
_PACKAGES = re.compile(r"[/\\](?:site|dist)-packages[/\\]")


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
    #: the node's weights, keyed as its compiled module names them ('' for a Parameter node,
    #: whose tensor is the node's attribute itself); the model's own tensors, not copies
    weights: dict[str, torch.Tensor] = field(default_factory=dict)
    #: the modules the call was made in, outermost first: (qualified name, class name)
    scope: tuple[tuple[str, str], ...] = ()


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


@dataclass(frozen=True)
class _Named:
    """A namedtuple of values made in forward (fx records its construction as a call)."""

    fields: tuple[str, ...]
    values: tuple


class _Failed:
    """The value of a call already reported: its users stay silent (one problem, one message)."""


_FAILED = _Failed()


def _frame(node: fx.Node) -> tuple[str, str, str] | None:
    """(file, line, function) of the innermost frame outside torch (the model's own code or a
    library's, such as torchvision's), else torch's own innermost frame, else None."""
    frames = _FRAME.findall(node.stack_trace or "")
    # torch's own folder, not every path that starts like it (.../site-packages/torchvision)
    own = [f for f in frames if not os.path.abspath(f[0]).startswith(_TORCH_DIR + os.sep)]
    torch_code = [f for f in frames if not os.path.abspath(f[0]).startswith(_FX_DIR + os.sep)]
    return (own or torch_code or [None])[-1]


def _shown_path(path: str) -> str:
    """An installed package's file by its path in the package (``torchvision/models/vgg.py``),
    anything else by its name."""
    parts = _PACKAGES.split(path)
    return parts[-1].replace(os.sep, "/") if len(parts) > 1 else os.path.basename(path)


def where(node: fx.Node) -> str:
    """``file.py:12: `` from the innermost frame of the model's (or its library's) code, or ''."""
    frame = _frame(node)
    return f"{_shown_path(frame[0])}:{frame[1]}: " if frame else ""


def _function(node: fx.Node) -> str:
    frame = _frame(node)
    return frame[2] if frame else "forward"


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


def _is_tensor_value(node: Any) -> bool:
    """Does fx node ``node`` hold one tensor (not a tuple of them, not a size)?"""
    return isinstance(node, fx.Node) and isinstance(node.meta.get("tensor_meta"), TensorMetadata)


def _batch_tensor(size: Any) -> fx.Node | None:
    """The tensor whose batch size ``size`` is, when it was read as ``t.size(0)``,
    ``t.shape[0]`` or ``n, c, h, w = t.shape``: a learned tensor expanded over the batch."""
    if not isinstance(size, fx.Node):
        return None
    if size.op == "call_method" and size.target == "size" and size.args[1:] in ((0,), ()) \
            and size.kwargs == {} and len(size.args) == 2:
        return size.args[0] if isinstance(size.args[0], fx.Node) else None
    if size.op == "call_function" and size.target is operator.getitem and size.args[1] == 0:
        whole = size.args[0]
        if isinstance(whole, fx.Node) and ((whole.op == "call_function" and whole.target is getattr
                                            and whole.args[1] == "shape")
                                           or (whole.op == "call_method" and whole.target == "size"
                                               and len(whole.args) == 1)):
            return whole.args[0] if isinstance(whole.args[0], fx.Node) else None
    return None


def fetch(root: nn.Module, target: str) -> Any:
    """``root.<target>`` for a dotted target (``encoder.pos_embedding``)."""
    value: Any = root
    for part in target.split("."):
        value = getattr(value, part)
    return value


def _permutation(node: Any) -> tuple[int, ...] | None:
    """The dims of ``x.permute(...)`` or ``torch.permute(x, dims)``, else None."""
    if not isinstance(node, fx.Node):
        return None
    if node.op == "call_method" and node.target == "permute":
        dims = node.args[1:]
        if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
            dims = dims[0]
    elif node.op == "call_function" and node.target is torch.permute:
        dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dims")
    else:
        return None
    return tuple(dims) if isinstance(dims, (list, tuple)) and all(isinstance(d, int) for d in dims) else None


def _module_path(node: fx.Node) -> str | None:
    """The innermost module whose forward made this call (``features.1.0.stochastic_depth``)."""
    stack = node.meta.get("nn_module_stack")
    return next(reversed(stack)) if stack else None


class FxWalk(LayoutCalls):
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
        #: the module scope of the fx node being visited (each Pending made meanwhile gets it)
        self._scope: tuple[tuple[str, str], ...] = ()
        #: modules called as one layer (torch.nn's own): never a block, however often called
        self.leaf_paths: set[str] = set()
        self.problems: list[str] = []
        self.values: dict[fx.Node, Any] = {}
        self.input_id: str | None = None
        #: the Output nodes, in the order forward returns them
        self.output_ids: list[str] = []
        #: a module's or a learned tensor's fx target -> the node that owns its weights
        self._owners: dict[str, str] = {}
        #: a learned tensor's fx target -> its Parameter node
        self._learned: dict[str, str] = {}
        self._returns: dict[str, str] = {}
        #: calls already done by a node made for an earlier call (the permute after a
        #: channels-first LayerNorm): their value
        self._fused: dict[fx.Node, Any] = {}
        #: values whose batch is not their first dim, or that have none (see fx_layouts)
        self.layouts: dict[fx.Node, Any] = {}
        #: a learned value's node chain, once made
        self._lazy_nodes: dict[fx.Node, str] = {}
        #: learned values changed in place (usable as a weight, as computed, not as a value)
        self._mutated: set[fx.Node] = set()
        #: calls that fold or move the batch (a layout), with what is said if one's value
        #: reaches a layer that takes plain samples (then every one is listed)
        self._moved: dict[fx.Node, str] = {}
        self._moved_used = False
        #: the sample a learned tensor or constant made a node now takes its batch from
        self._carrier: fx.Node | None = None

    @property
    def output_id(self) -> str | None:
        return self.output_ids[0] if self.output_ids else None

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
             weights: dict[str, torch.Tensor] | None = None) -> str:
        node_id = self.fresh_id(stem)
        self.pending[node_id] = Pending(node_id, layer, dict(params), inputs, dict(weights or {}), self._scope)
        return node_id

    def _own(self, target: str) -> str:
        return self.names.get(target, target)

    # -- values ---------------------------------------------------------------------------
    def _tensor(self, arg: Any, like: fx.Node | None = None) -> str | Source:
        """The node id (or Source) carrying ``arg``; Unsupported for what no layer can take in.
        A learned tensor of the model becomes a Parameter node when it is used beside the
        activation ``like`` (its batch and rank)."""
        value = self.values.get(arg) if isinstance(arg, fx.Node) else None
        if value is _FAILED:
            raise _Silent()
        if isinstance(arg, fx.Node) and self.layouts.get(arg, PLAIN) != PLAIN:
            self._moved_used = True
            raise Unsupported("it takes a value whose batch is not its first dim (or that has none)")
        if isinstance(value, _Recurrent):
            return self._materialize(value)
        if isinstance(value, _Attr):
            if like is None:
                raise Unsupported(f"it uses the tensor self.{self._own(value.name)} directly (only layers "
                                  "and Parameter nodes hold weights)")
            return self._parameter(value, len(_shape(like) or ()), like)
        if isinstance(value, _Outputs):
            raise Unsupported(f"it uses all the outputs of '{value.node_id}' at once (index them)")
        if not isinstance(value, (str, Source)):
            raise Unsupported("an input that is not a tensor computed by a layer")
        return value

    def _learned_tensor(self, attr: _Attr) -> torch.Tensor:
        """The model's nn.Parameter behind ``self.<name>`` (a buffer is a constant: refused)."""
        own = self._own(attr.name)
        tensor = fetch(self.root, attr.name)
        if not isinstance(tensor, nn.Parameter):
            kind = "buffer" if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise Unsupported(f"it uses self.{own}, a {kind} (a constant: only learned tensors become "
                              "Parameter nodes)")
        if not tensor.is_floating_point():
            raise Unsupported(f"self.{own} is a {tensor.dtype} tensor (a Parameter node is float)")
        return tensor

    def _parameter(self, attr: _Attr, rank: int, batch: fx.Node | None) -> str:
        """A Parameter node for ``self.<name>`` (a Constant node for a float buffer) beside an
        activation of ``rank`` (with the batch): its shape is the tensor's, ones prepended up to
        that rank, without the leading 1; its batch input is ``batch``'s value (else the graph's Input)."""
        own = self._own(attr.name)
        held = fetch(self.root, attr.name)
        buffer = isinstance(held, torch.Tensor) and not isinstance(held, nn.Parameter) and held.is_floating_point()
        tensor = held if buffer else self._learned_tensor(attr)  # a buffer is a constant: a Constant node
        shape = tuple(tensor.shape)
        if not 2 <= rank <= 5 or len(shape) > rank:
            raise Unsupported(f"self.{own} of shape {list(shape)} beside a value of rank {rank}")
        full = (1,) * (rank - len(shape)) + shape
        if full[0] != 1:
            raise Unsupported(f"self.{own} of shape {list(shape)} has a batch dimension of its own "
                              "(a Parameter node is one (1, …) tensor expanded over the batch)")
        if attr.name in self._learned:
            node_id = self._learned[attr.name]
            if [1, *self.pending[node_id].params["shape"]] != list(full):
                raise Unsupported(f"self.{own} is used at two ranks")
            return node_id
        if attr.name in self._owners:
            raise Unsupported(f"self.{own} is also the weight of '{self._owners[attr.name]}' (shared weights; "
                              "a node owns its weights)")
        carrier = self.values.get(batch) if batch is not None else None
        if carrier is _FAILED:
            raise _Silent()
        source = carrier if isinstance(carrier, (str, Source)) else self.input_id  # any value of the batch
        if buffer:  # (``x * self.scale`` with a registered buffer: its values are stored in the file)
            data = tensor.detach().to(torch.float32).reshape(full)
            node_id = self._add(own, "Constant", {"shape": list(full[1:]), "values": data.flatten().tolist()},
                                [source], {"": data})
            self._learned[attr.name] = node_id
            return node_id
        data = tensor.detach()
        zeros = not bool(data.any())
        params = {"shape": list(full[1:]), "init": "zeros" if zeros else "normal",
                  "std": 0.02 if zeros or data.numel() < 2 else float(f"{float(data.std()):.3g}")}
        node_id = self._add(own, "Parameter", params, [source], {"": data.view(full)})
        self._learned[attr.name] = self._owners[attr.name] = node_id
        return node_id

    def _weights(self, rule: Rule, bound: dict[str, Any]) -> dict[str, tuple[str, torch.Tensor]]:
        """A function's weight arguments (``F.layer_norm``'s weight and bias): name -> (the
        tensor's fx target, the model's learned tensor), each owned by this node alone."""
        weights: dict[str, tuple[str, torch.Tensor]] = {}
        for name in rule.weights:
            arg = bound.get(name)
            if arg is None:
                continue
            value = self.values.get(arg) if isinstance(arg, fx.Node) else None
            if value is _FAILED:
                raise _Silent()
            if not isinstance(value, _Attr):
                raise Unsupported(f"its {name} is computed, not a learned tensor of the model")
            if value.name in self._owners:
                raise Unsupported(f"self.{self._own(value.name)} is also used by '{self._owners[value.name]}' "
                                  "(shared weights; a node owns its weights)")
            weights[name] = (value.name, self._learned_tensor(value).detach())
        return weights

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
                for later, value in self._fused.items():
                    if isinstance(value, _Later):  # the fused call's value: this node's
                        self._fused[later] = self.values[node]
            except Unsupported as reason:
                self.problems.append(problem_text(node, self.root, str(reason), self.names))
                self.values[node] = _FAILED
            except _Silent:
                self.values[node] = _FAILED
        if self._moved_used:
            self.problems[:0] = list(self._moved.values())

    def _visit(self, node: fx.Node) -> Any:
        self._enter(node)
        if node in self._fused:
            return self._fused.pop(node)
        if node.op == "placeholder":
            return self._placeholder(node)
        if node.op == "get_attr":
            return _Attr(str(node.target))
        if node.op == "output":
            return self._output(node)
        if node.op == "call_module":
            self.leaf_paths.add(str(node.target))
            return self._call_module(node)
        return self._call(node)

    def _enter(self, node: fx.Node) -> None:
        """Pending nodes made from now on are in this node's module scope."""
        stack = node.meta.get("nn_module_stack") or {}
        self._scope = tuple((str(path), getattr(kind, "__name__", str(kind).rsplit(".", 1)[-1]))
                            for path, kind in stack.values())

    def _placeholder(self, node: fx.Node) -> str:
        if self.input_id is not None:
            raise Unsupported(f"forward takes a second input '{node.name}' (the import gives a graph one Input)")
        self.input_id = self._add(node.name, "Input", {"shape": list(self.input_shape),
                                                       "dtype": self.input_dtype}, [])
        return self.input_id

    def _output(self, node: fx.Node) -> None:
        """One Output per returned tensor: ``output`` for one, else named after the dict's keys
        or the namedtuple's fields (``output_0``, ``output_1`` … for a plain tuple)."""
        result = node.args[0]
        made = self.values.get(result) if isinstance(result, fx.Node) else None
        if isinstance(made, _Named):
            named = list(zip(made.fields, made.values))
        elif isinstance(result, fx.Node):
            named = [("output", result)]
        elif isinstance(result, dict):
            named = [(str(key), value) for key, value in result.items()]
        elif isinstance(result, tuple) and hasattr(result, "_fields"):
            named = list(zip(result._fields, result))
        elif isinstance(result, (tuple, list)):
            named = [(f"output_{index}", value) for index, value in enumerate(result)]
        else:
            raise Unsupported(f"forward returns a {type(result).__name__}, not tensors")
        if not named:
            raise Unsupported("forward returns no tensor")
        for name, value in named:
            if not isinstance(value, fx.Node):
                raise Unsupported(f"forward returns {type(value).__name__} as {name!r} (an Output takes a "
                                  "tensor)")
        sources = [self._tensor(value) for _, value in named]
        for (name, _), source in zip(named, sources):
            self.output_ids.append(self._add(name, "Output", {}, [source]))

    def _call_module(self, node: fx.Node) -> Any:
        module = self.root.get_submodule(str(node.target))
        if isinstance(module, nn.MultiheadAttention):
            arguments = attention_inputs(node.args, node.kwargs)
        elif len(node.args) != 1 or node.kwargs:
            extra = "an initial state" if isinstance(module, nn.RNNBase) else "more than one input"
            raise Unsupported(f"called with {extra}")
        else:
            arguments = [node.args[0]]
        if self.needs_layout(node, None):
            layer, params = MODULE_RULES[type(module)](module) if type(module) in MODULE_RULES else (None, {})
            if type(module) not in MODULE_RULES:
                raise Unsupported("no layer type for this module")
            return self._module_call(node, module, layer, params)
        if isinstance(module, RESHAPING_MODULES):
            layer, params = reshape_mapping(_shape(node.args[0]), _shape(node), self.batch)
        elif type(module) in MODULE_RULES:
            layer, params = MODULE_RULES[type(module)](module)
        else:
            raise Unsupported("no layer type for this module")
        owns_weights = any(True for _ in module.parameters()) or any(True for _ in module.buffers())
        own = self._own(str(node.target))
        if layer is not None and owns_weights and str(node.target) in self._owners:
            raise Unsupported(f"self.{own} is called more than once (shared weights; a node owns its weights: "
                              f"'{self._owners[str(node.target)]}')")
        sources = [self._tensor(arg) for arg in arguments]
        if layer is None:
            return sources[0]
        weights = {key: value.detach() for key, value in module.state_dict(keep_vars=True).items()} \
            if owns_weights else None
        if layer == "LayerNorm":
            sources, params = self._channels_first(node, arguments[0], sources, params)
        in_shape, out_shape = _shape(arguments[0]), _shape(node)
        flat = layer == "Linear" and in_shape is not None and out_shape is not None and len(in_shape) > 3
        if flat:  # Linear over (H, W, C): over (H·W, C), the same weights
            sources = [self._add(f"{own}_flat", "Reshape", {"shape": [math.prod(in_shape[1:-1]), in_shape[-1]]},
                                 sources)]
        node_id = self._add(own, layer, params, sources, weights)
        if owns_weights:
            self._owners[str(node.target)] = node_id
        if flat:
            return self._add(f"{own}_unflat", "Reshape", {"shape": list(out_shape[1:])}, [node_id])
        return _Recurrent(node_id) if layer in RECURRENT else self._result(node_id)

    def _channels_first(self, node: fx.Node, arg: Any, sources: list, params: dict) -> tuple[list, dict]:
        """``permute(0, 2, 3, 1)`` -> layer norm -> ``permute(0, 3, 1, 2)`` (torchvision's
        LayerNorm2d) is one channels-first LayerNorm; anything else stays as it is."""
        before = self.values.get(arg)
        users = list(node.users)
        if not (_permutation(arg) == (0, 2, 3, 1) and isinstance(before, str) and len(arg.users) == 1
                and self.pending[before].type == "Permute" and len(users) == 1
                and _permutation(users[0]) == (0, 3, 1, 2)):
            return sources, params
        source = self.pending.pop(before).inputs[0]
        self._fused[users[0]] = _Later()
        return [source], {**params, "channels_first": True}

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
            if isinstance(base, _Named) and isinstance(node.args[1], int):
                return self.values.get(base.values[node.args[1]])
            if base is _FAILED and not _is_tensor_value(node.args[0]):
                raise _Silent()  # a piece of what a failed call returns
        target = node.target
        if node.op == "call_function" and isinstance(target, type) and issubclass(target, tuple) \
                and hasattr(target, "_fields"):
            bound = dict(zip(target._fields, node.args), **node.kwargs)
            return _Named(tuple(target._fields), tuple(bound.get(name) for name in target._fields))
        if not _is_tensor_like(node):
            return None  # shapes and sizes: plain values, no layer
        rule = rule_for(node.op, node.target)
        if self.needs_layout(node, rule):
            return self._layout_call(node)
        if rule is None:
            raise Unsupported("no layer type for this call")
        bound = rule.bind(node.args, node.kwargs)
        inputs: list[Any] = []
        for name in rule.inputs:
            value = bound[name]
            inputs += list(value) if isinstance(value, (list, tuple)) else [value]
        if rule.learned_input and isinstance(self.values.get(bound["input"]), _Attr):
            return self._learned_expand(node, bound)
        tensors = [a for a in inputs if isinstance(a, fx.Node)]
        first = next((a for a in tensors if not isinstance(self.values.get(a), _Attr)),
                     tensors[0] if tensors else None)
        in_shape = self._attr_shape(first) if isinstance(self.values.get(first), _Attr) else _shape(first)
        # the call's own reason first: reported even when one of its inputs failed
        try:
            layer, params = rule.convert(Bound(bound, in_shape, _shape(node), self.batch))
        except Unsupported as reason:
            if not self.moves_batch(node) or any(self.values.get(a) is _FAILED for a in tensors):
                raise
            try:  # windows folded into the batch, or the batch moved: a value in a layout
                value = self._layout_call(node)
            except (Unsupported, _Silent):
                raise reason from None
            # said only if the value reaches a layer that takes plain batch-first samples
            self._moved[node] = problem_text(node, self.root, str(reason), self.names)
            return value
        if any(self.values.get(a) is _FAILED for a in tensors):
            raise _Silent()
        weights = self._weights(rule, bound)
        sources = [self._tensor(arg, like=first) for arg in inputs]
        if layer is None:
            return sources[0]
        if layer == "Add":
            sources = self._expanded(node, inputs, sources)
        if layer == "LayerNorm":
            sources, params = self._channels_first(node, inputs[0], sources, params)
        path = _module_path(node)
        node_id = self._add(path if rule.named_by_module and path else node.name, layer, params, sources,
                            {name: tensor for name, (_, tensor) in weights.items()})
        for target, _ in weights.values():
            self._owners[target] = node_id
        return self._result(node_id)

    def _attr_shape(self, arg: fx.Node) -> tuple[int, ...] | None:
        tensor = fetch(self.root, self.values[arg].name)
        return tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else None

    def _expanded(self, node: fx.Node, inputs: list[Any], sources: list[str | Source]) -> list[str | Source]:
        """Add sums equal shapes: an input that broadcasts (a learned (1, D) bias beside (L, D))
        goes through an Expand node to the sum's shape."""
        out = _shape(node)
        if out is None:
            return sources
        expanded = []
        for arg, source in zip(inputs, sources):
            shape = _shape(arg) if not isinstance(self.values.get(arg), _Attr) \
                else (self.batch, *self.pending[str(source)].params["shape"])
            if shape is not None and tuple(shape) != tuple(out):
                if len(shape) != len(out) or shape[0] != out[0]:
                    raise Unsupported(f"adding {list(shape)} to {list(out)} (a broadcast over the batch or "
                                      "to a higher rank)")
                source = self._add(f"{node.name}_expand", "Expand", {"shape": list(out[1:])}, [source])
            expanded.append(source)
        return expanded

    def _learned_expand(self, node: fx.Node, bound: dict[str, Any]) -> str:
        """``self.class_token.expand(n, -1, -1)``: a Parameter node expanded over the batch of the
        tensor ``n`` was read from (an Expand node after it for the other sizes)."""
        attr = self.values[bound["input"]]
        sizes = bound["size"] if isinstance(bound["size"], (tuple, list)) else (bound["size"],)
        batch = _batch_tensor(sizes[0]) if sizes else None
        if batch is None:
            raise Unsupported(f"it expands self.{self._own(attr.name)} to a batch size that is not read from "
                              "a tensor (x.size(0) or x.shape[0])")
        out = _shape(node)
        if out is None:
            raise Unsupported("the shapes around it are unknown")
        node_id = self._parameter(attr, len(out), batch)
        if list(out[1:]) != self.pending[node_id].params["shape"]:
            node_id = self._add(node.name, "Expand", {"shape": list(out[1:])}, [node_id])
        return node_id


class _Later:
    """The value of a fused call, known once the node that does it is made."""


class _Silent(Exception):
    """An input failed earlier; this call is not reported again."""

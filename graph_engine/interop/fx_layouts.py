"""Calls on values whose batch is not simply their first dimension (the import's windowed half).

Windowed attention (Swin, MaxViT) folds its windows into the batch: ``x.view(B, h, 7, w, 7, C)
.permute(0, 1, 3, 2, 4, 5).reshape(B * h * w, 49, C)``, then moves that folded batch around
(``qkv.permute(2, 0, 3, 1, 4)``) and adds tensors that have no batch at all (a learned bias
table read at fixed indices, a mask computed from the shapes). A graph holds one sample per
value, so the walk keeps, for each such value, its :class:`Layout`: where the batch is among
the traced dims (``axis``), and whether that dim is the batch times a count of the sample's
own (``folded``: batch outer) — or that the value has no batch (``axis`` None: it is made from
the model's tensors alone). Each call becomes the layer that does the same to one sample.

Values made from the model's tensors alone are kept aside until a sample meets them: a
constant (a buffer, or computed from the shapes) stays a tensor and becomes a Constant node
there; a value computed from learned tensors (``table[index]``) becomes Parameter, IndexSelect,
Reshape … nodes with no batch of their own (their batch input is the graph's Input); one only
used as a layer's weight (``F.linear(x, w, bias.clone() with a zeroed part)``) is that
weight, as computed.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn
from torch.nn import functional as F

from graph_engine.interop.fx_inline import fx_nodes, is_inlined, record
from graph_engine.interop.fx_modules import Unsupported


@dataclass(frozen=True)
class Layout:
    """Where a traced value keeps the batch: dim ``axis`` (None: it has none), as the batch
    alone or, ``folded``, as the batch times the sample's own size there (batch outer)."""

    axis: int | None = 0
    folded: bool = False


PLAIN = Layout()
UNBATCHED = Layout(None)


@dataclass(frozen=True)
class Const:
    """A constant tensor (a buffer, or computed from the shapes alone)."""

    tensor: torch.Tensor


@dataclass(frozen=True)
class Lazy:
    """A value computed from the model's learned tensors alone, by fx node ``node`` (its
    ``meta["example"]`` is the value itself): a node chain only once a sample meets it."""

    node: fx.Node


def sample_shape(shape: tuple[int, ...], layout: Layout, batch: int) -> tuple[int, ...]:
    """One sample's shape of a traced value."""
    a = layout.axis
    if a is None:
        return tuple(shape)
    if layout.folded:
        return (*shape[:a], shape[a] // batch, *shape[a + 1:])
    return (*shape[:a], *shape[a + 1:])


def sample_axis(dim: int, rank: int, layout: Layout) -> int:
    """A traced dim as an axis of one sample (0 = the first dim after the batch)."""
    d = dim % rank
    if layout.axis is None or layout.folded:
        if layout.folded and d == layout.axis:
            raise Unsupported("it works along the dim that holds the batch")
        return d
    if d == layout.axis:
        raise Unsupported("it works along the batch dimension")
    return d if d < layout.axis else d - 1


_UNARY = {"sigmoid": "Sigmoid", "relu": "ReLU", "gelu": "GELU", "exp": "Exp", "tanh": "Tanh"}
_SAME = {"contiguous", "clone", "detach"}
_SIZE_ARITHMETIC = {operator.getitem, operator.floordiv, operator.mul, operator.add, operator.sub,
                    operator.truediv, operator.neg, operator.pow, operator.mod}
#: torch.nn layers that work on the last dim or on each value alone: the same on any sample
_LAST_DIM_LAYERS = {"Linear", "LayerNorm", "ReLU", "ReLU6", "GELU", "SiLU", "Sigmoid", "Tanh", "Dropout",
                    "Hardswish", "Hardsigmoid", "ELU", "LeakyReLU", "Identity"}
_RESHAPES = {"view", "reshape", "flatten", "unsqueeze", "squeeze", "unflatten"}
#: the calls this half makes layers of
_LAYOUT_CALLS = _SAME | _RESHAPES | set(_UNARY) | {
    "permute", "transpose", "swapaxes", "swapdims", "getitem", "add", "mul", "truediv", "matmul", "linear",
    "cat", "concat", "einsum", "softmax", "normalize", "dropout", "clamp", "pad", "roll"}


def _name(node: fx.Node) -> str:
    """A call's name for the rules below: a method's or a function's own name."""
    if node.op == "call_method":
        return str(node.target)
    if node.target is operator.getitem:
        return "getitem"
    for name, target in (("add", operator.add), ("add", operator.iadd), ("mul", operator.mul),
                         ("mul", operator.imul), ("matmul", operator.matmul), ("truediv", operator.truediv)):
        if node.target is target:
            return name
    return getattr(node.target, "__name__", str(node.target))


class LayoutCalls:
    """The walk's calls on values in a :class:`Layout` (mixed into FxWalk)."""

    # -- classification ---------------------------------------------------------------------
    def layout(self, node: Any) -> Layout:
        return self.layouts.get(node, PLAIN) if isinstance(node, fx.Node) else PLAIN

    def needs_layout(self, node: fx.Node, rule) -> bool:
        """Does this call take a value that is not a plain batch-first sample?"""
        from graph_engine.interop.fx_walk import _Attr

        if node.op == "call_function" and is_inlined(node.target) and rule is None:
            return True
        if node.op == "call_function" and node.target is torch.einsum:
            return True
        calls = node.op in ("call_function", "call_method")
        if calls and rule is None and _name(node) in _LAYOUT_CALLS:
            return True  # roll, pad, normalize ... (only this half has them)
        if calls and _name(node) in ("mul", "truediv") and any(
                (isinstance(a, (int, float)) and not isinstance(a, bool))
                or (isinstance(a, fx.Node) and "tensor_meta" not in a.meta) for a in node.args[:2]):
            return True  # times a number (maybe computed from shapes): a Scale
        args = fx_nodes((node.args, node.kwargs))
        kinds = [self.values.get(a) for a in args]
        if any(isinstance(v, (Const, Lazy)) or (isinstance(v, str) and self.layout(a) != PLAIN)
               for a, v in zip(args, kinds)):
            return True
        attrs = [v for v in kinds if isinstance(v, _Attr)]
        return bool(args) and len(attrs) == len(args) and not (rule is not None and rule.learned_input)

    def moves_batch(self, node: fx.Node) -> bool:
        """A reshape, permute or index that may fold the batch or move it (a layout)."""
        return _name(node) in _RESHAPES | {"permute", "transpose", "swapaxes", "swapdims", "getitem"}

    # -- values -----------------------------------------------------------------------------
    def _constant_of(self, value: Any) -> torch.Tensor | None:
        """The tensor of a constant value (a buffer, a Const), else None."""
        from graph_engine.interop.fx_walk import _Attr, fetch

        if isinstance(value, Const):
            return value.tensor
        if isinstance(value, _Attr):
            tensor = fetch(self.root, value.name)
            if isinstance(tensor, torch.Tensor) and not isinstance(tensor, nn.Parameter):
                return tensor
        return None

    def _node_value(self, arg: Any, user: fx.Node | None = None) -> tuple[str, Layout, tuple[int, ...]]:
        """(node id, layout, traced shape) of a tensor argument, making nodes for a learned
        value (no batch) or a constant (no batch, as a Constant node) on the way."""
        from graph_engine.interop.fx_walk import _Attr, _FAILED, _Silent, _shape

        value = self.values.get(arg) if isinstance(arg, fx.Node) else None
        if value is _FAILED:
            raise _Silent()
        if isinstance(arg, torch.Tensor):  # a constant tensor inside a traced-through function
            value = Const(arg)
        shape = tuple(arg.shape) if isinstance(arg, torch.Tensor) else _shape(arg)
        constant = self._constant_of(value)
        if constant is not None:
            near = arg if isinstance(arg, fx.Node) else user
            return self._constant_node(constant, tuple(constant.shape), near), UNBATCHED, tuple(constant.shape)
        if isinstance(value, _Attr):
            tensor = self._learned_tensor(value)
            return self._parameter(value, tensor.dim() + 1, getattr(self, "_carrier", None)), UNBATCHED, \
                tuple(tensor.shape)
        if isinstance(value, Lazy):
            node_id = self._materialize_lazy(value.node)
            return node_id, UNBATCHED, _shape(value.node)
        if not isinstance(value, str):
            raise Unsupported("an input that is not a tensor computed by a layer")
        return value, self.layout(arg), shape

    def _constant_node(self, tensor: torch.Tensor, shape: tuple[int, ...], near: Any) -> str:
        if not tensor.is_floating_point():
            raise Unsupported(f"a constant {tensor.dtype} tensor used as a value (a Constant is float)")
        data = tensor.detach().to(torch.float32).reshape(1, *shape)
        if isinstance(near, fx.Node) and near.op == "get_attr":
            stem = self._own(str(near.target))  # a buffer: by its name
        else:
            stem = f"{self._stem(near)}_constant" if isinstance(near, fx.Node) else "constant"
        carrier = self.values.get(getattr(self, "_carrier", None))
        source = carrier if isinstance(carrier, str) else self.input_id  # any value of the batch
        return self._add(stem, "Constant", {"shape": list(shape), "values": data.flatten().tolist()},
                         [source], {"": data})

    def _materialize_lazy(self, node: fx.Node) -> str:
        """Nodes (no batch) for a value computed from learned tensors alone."""
        done = self._lazy_nodes.get(node)
        if done is not None:
            return done
        if node in self._mutated:
            raise Unsupported("a learned tensor changed in place is used as a value")
        value = self._layout_call(node, force=True)
        if not isinstance(value, str):
            raise Unsupported("a learned value that no layer computes")
        self._lazy_nodes[node] = value
        return value

    def _concrete(self, value: Any) -> Any:
        """A size the model computed from shapes (``H`` of ``B, H, W, C = x.shape``, ``H // 7``),
        as the number it is for the traced input; slices and tuples of them likewise."""
        from graph_engine.interop.fx_walk import _shape

        if isinstance(value, slice):
            return slice(*(self._concrete(v) for v in (value.start, value.stop, value.step)))
        if isinstance(value, (tuple, list)):
            return type(value)(self._concrete(v) for v in value)
        if not isinstance(value, fx.Node) or value.op == "get_attr" or _shape(value) is not None:
            return value
        args = [self._concrete(a) for a in value.args]
        if value.op == "call_method" and value.target == "size" and isinstance(value.args[0], fx.Node):
            shape = _shape(value.args[0])
            if shape is not None:
                return shape if len(args) == 1 else shape[args[1]]
        if value.op == "call_function":
            if value.target is getattr and args[1:] == ["shape"] and isinstance(value.args[0], fx.Node):
                shape = _shape(value.args[0])
                if shape is not None:
                    return shape
            if value.target in _SIZE_ARITHMETIC and not any(isinstance(a, fx.Node) for a in args):
                return value.target(*args)
        raise Unsupported("a size computed from something other than shapes")

    def _stem(self, node: fx.Node) -> str:
        from graph_engine.interop.fx_walk import _module_path

        path = _module_path(node)
        return f"{path}.{node.name}" if path else node.name

    def _made(self, node: fx.Node, node_id: str, layout: Layout) -> str:
        if layout != PLAIN:
            self.layouts[node] = layout
        return node_id

    # -- the calls --------------------------------------------------------------------------
    def _layout_call(self, node: fx.Node, force: bool = False) -> Any:
        """The value of a call that takes a value in a layout (see the module's docstring)."""
        from graph_engine.interop.fx_walk import _Attr, _FAILED, _Silent

        if node.op == "call_function" and is_inlined(node.target):
            return self._inline(node)
        if node.op == "call_module":
            from graph_engine.interop.fx_modules import MODULE_RULES

            module = self.root.get_submodule(str(node.target))
            layer, params = MODULE_RULES[type(module)](module)
            return self._module_call(node, module, layer, params, force=force)
        args = fx_nodes((node.args, node.kwargs))
        values = [self.values.get(a) for a in args]
        if any(v is _FAILED for v in values):
            raise _Silent()
        name = _name(node)
        if name.endswith("_") and not name.startswith("_") or name == "__setitem__":
            if all(isinstance(v, Lazy) or (isinstance(v, _Attr) and self._constant_of(v) is None)
                   for v in values[:1]):
                self._mutated.update(self._bases(args[0]))
                return values[0]
            raise Unsupported("it changes a value in place")
        sample_values = [v for a, v in zip(args, values) if isinstance(v, str)]
        if not sample_values and not force:
            if all(self._constant_of(v) is not None for v in values):
                return Const(self._evaluate(node))
            return Lazy(node)
        return self._layer_call(node, name)

    def _bases(self, arg: fx.Node) -> set[fx.Node]:
        """The node an in-place change reaches: a view's base, and so on."""
        found = {arg}
        while arg.op == "call_function" and arg.target is operator.getitem and isinstance(arg.args[0], fx.Node):
            arg = arg.args[0]
            found.add(arg)
        return found

    def _evaluate(self, node: fx.Node) -> torch.Tensor:
        """The value of a call on the model's tensors alone (constants, learned tensors, values
        made of them): recorded while traced through, else computed now (and kept)."""
        from graph_engine.interop.fx_walk import _Attr, fetch

        if "example" in node.meta:
            return node.meta["example"]

        def concrete(value):
            if not isinstance(value, fx.Node):
                return value
            known = self.values.get(value)
            if isinstance(known, _Attr):
                return fetch(self.root, known.name).detach()
            if isinstance(known, Const):
                return known.tensor
            if isinstance(known, Lazy):
                return self._evaluate(known.node)
            raise Unsupported("a value computed from the input where a constant is needed")

        args = torch.fx.node.map_aggregate(node.args, concrete)
        kwargs = torch.fx.node.map_aggregate(node.kwargs, concrete)
        with torch.no_grad():
            if node.op == "call_method":
                value = getattr(args[0], node.target)(*args[1:], **kwargs)
            elif node.op == "call_module":
                value = self.root.get_submodule(str(node.target))(*args, **kwargs)
            else:
                value = node.target(*args, **kwargs)
        node.meta["example"] = value
        return value

    def _inline(self, node: fx.Node) -> Any:
        """Trace through a library's fx-wrapped function (see fx_inline) and walk its calls."""
        from graph_engine.interop.fx_walk import _Attr, _FAILED, _Silent, _shape, fetch

        def example_of(arg: fx.Node) -> torch.Tensor:
            value = self.values.get(arg)
            if value is _FAILED:
                raise _Silent()
            if isinstance(value, _Attr):
                return fetch(self.root, value.name).detach()
            if isinstance(value, Const):
                return value.tensor
            if isinstance(value, Lazy):
                return self._evaluate(value.node)
            shape = _shape(arg)
            if shape is None:
                raise Unsupported("the shapes around it are unknown")
            meta = arg.meta.get("tensor_meta")
            return torch.randn(shape, dtype=getattr(meta, "dtype", torch.float32))

        meta = {key: node.meta[key] for key in ("nn_module_stack",) if key in node.meta}
        try:
            recorded = record(node.target, node.args, node.kwargs, example_of, meta)
        except (Unsupported, _Silent):
            raise
        except Exception as error:  # noqa: BLE001 (the library's code on example tensors)
            raise Unsupported(f"running it on example tensors failed: {type(error).__name__}: {error}") from None
        for placeholder in recorded.inputs:
            outer = placeholder.meta["outer"]
            self.values[placeholder] = self.values.get(outer)
            if outer in self.layouts:
                self.layouts[placeholder] = self.layouts[outer]
        scope = self._scope
        for inner in recorded.graph.nodes:
            if inner.op == "placeholder":
                continue
            self._visit_inner(inner)
        self._scope = scope
        result = recorded.result
        if isinstance(result, fx.Node):
            if result in self.layouts:
                self.layouts[node] = self.layouts[result]
            return self.values.get(result)
        if isinstance(result, torch.Tensor):
            return Const(result)
        raise Unsupported(f"it returns a {type(result).__name__}")

    def _visit_inner(self, inner: fx.Node) -> None:
        from graph_engine.interop.fx_walk import _FAILED, _Silent, problem_text

        self._enter(inner)
        try:
            self.values[inner] = self._layout_call(inner)
        except Unsupported as reason:
            self.problems.append(problem_text(inner, self.root, str(reason), self.names))
            self.values[inner] = _FAILED
        except _Silent:
            self.values[inner] = _FAILED

    # -- one call on samples --------------------------------------------------------------------
    def _layer_call(self, node: fx.Node, name: str) -> Any:
        """One call as layers; a learned tensor or a constant made a node on the way takes its
        batch from the call's first sample (so a block's inside needs nothing from outside)."""
        carriers = [a for a in fx_nodes((node.args, node.kwargs))
                    if isinstance(self.values.get(a), str) and self.layout(a) != UNBATCHED]
        saved = getattr(self, "_carrier", None)
        self._carrier = carriers[0] if carriers else saved
        try:
            return self._one_call(node, name)
        finally:
            self._carrier = saved

    def _one_call(self, node: fx.Node, name: str) -> Any:
        from graph_engine.interop.fx_walk import _shape

        out = _shape(node)
        if out is None:
            raise Unsupported("the shapes around it are unknown")
        a = node.args
        if name in _SAME:
            source, layout, _ = self._node_value(a[0])
            return self._made(node, source, layout)
        if name in _RESHAPES:
            return self._reshape(node, out)
        if name in ("permute", "transpose", "swapaxes", "swapdims"):
            return self._permute(node, out, name)
        if name == "getitem":
            return self._getitem(node, out)
        if name in ("add", "mul", "truediv", "sub"):
            return self._binary(node, out, name)
        if name == "matmul":
            return self._matmul(node, out)
        if name == "linear":
            return self._linear(node, out)
        if name in ("cat", "concat"):
            return self._concat(node, out)
        if name == "einsum":
            return self._einsum(node, out)
        return self._unary(node, out, name)

    def _source(self, node: fx.Node) -> tuple[str, Layout, tuple[int, ...]]:
        return self._node_value(node.args[0] if node.args else node.kwargs["input"])

    def _reshape(self, node: fx.Node, out: tuple[int, ...]) -> str:
        source, layout, shape = self._source(node)
        batch = self.batch
        if layout.axis is None:
            new = UNBATCHED
        elif layout.axis != 0:
            raise Unsupported("it reshapes a value whose batch is not its first dim")
        elif out and out[0] == batch:
            new = PLAIN
        elif out and out[0] % batch == 0 and out[0] > batch:
            new = Layout(0, True)
        else:
            raise Unsupported(f"it mixes the batch into other dims ({list(shape)} -> {list(out)})")
        before = sample_shape(shape, layout, batch)
        after = sample_shape(out, new, batch)
        if math.prod(before) != math.prod(after):
            raise Unsupported(f"it mixes the batch into other dims ({list(shape)} -> {list(out)})")
        if before == after:
            return self._made(node, source, new)
        if not 1 <= len(after) <= 6:
            raise Unsupported(f"a sample of rank {len(after)} (Reshape takes 1 to 6 dimensions)")
        return self._made(node, self._add(self._stem(node), "Reshape", {"shape": list(after)}, [source]), new)

    def _permute(self, node: fx.Node, out: tuple[int, ...], name: str) -> str:
        source, layout, shape = self._source(node)
        rank = len(shape)
        if name == "permute":
            dims = node.args[1:]
            dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else tuple(dims)
            order = [int(d) % rank for d in dims]
        else:
            d0, d1 = (int(d) % rank for d in node.args[1:3])
            order = list(range(rank))
            order[d0], order[d1] = order[d1], order[d0]
        a = layout.axis
        if a is None or layout.folded:
            sample_order, new = order, Layout(None if a is None else order.index(a), layout.folded)
        else:
            sample_order = [d if d < a else d - 1 for d in order if d != a]
            new = Layout(order.index(a), False)
        if sample_order == sorted(sample_order):
            return self._made(node, source, new)
        node_id = self._add(self._stem(node), "Permute", {"dims": sample_order}, [source])
        return self._made(node, node_id, new)

    def _getitem(self, node: fx.Node, out: tuple[int, ...]) -> str:
        source, layout, shape = self._source(node)
        rank = len(shape)
        index = node.args[1] if isinstance(node.args[1], tuple) else (node.args[1],)
        index = tuple(p if isinstance(p, fx.Node) and self.values.get(p) is not None else self._concrete(p)
                      for p in index)
        if any(p is None for p in index) or sum(p is Ellipsis for p in index) > 1:
            raise Unsupported("indexing with None")
        if Ellipsis in index:
            cut = index.index(Ellipsis)
            index = index[:cut] + (slice(None),) * (rank - len(index) + 1) + index[cut + 1:]
        index = tuple(index) + (slice(None),) * (rank - len(index))
        steps: list[tuple[str, dict]] = []
        picked = 0
        for axis in range(rank - 1, -1, -1):
            part = index[axis]
            if isinstance(part, fx.Node):
                part = self._constant_of(self.values.get(part))
                if part is None:
                    raise Unsupported("indexing with a computed tensor")
            if isinstance(part, slice) and part.indices(shape[axis]) == (0, shape[axis], 1):
                continue
            if layout.axis == axis:
                raise Unsupported("it indexes the batch dimension")
            dim = sample_axis(axis, rank, layout)
            if isinstance(part, bool) or not isinstance(part, (int, slice, torch.Tensor, list)):
                raise Unsupported(f"an index of type {type(part).__name__}")
            if isinstance(part, int):
                steps.append(("Select", {"dim": dim, "index": part}))
                if layout.axis is not None and axis < layout.axis:
                    picked += 1
            elif isinstance(part, slice):
                start, stop, step = part.indices(shape[axis])
                if step < 1:
                    raise Unsupported("a slice with a negative step")
                steps.append(("Slice", {"dim": dim, "start": start, "end": stop, "step": step}))
            else:
                tensor = torch.as_tensor(part)
                if tensor.dim() != 1 or tensor.is_floating_point() or tensor.dtype == torch.bool \
                        or sum(not (isinstance(p, slice) and p == slice(None)) for p in index) != 1:
                    raise Unsupported("indexing with a tensor other than one list of indices on one dim")
                steps.append(("IndexSelect", {"dim": dim, "index": [int(i) for i in tensor.tolist()]}))
        new = layout if layout.axis is None else Layout(layout.axis - picked, layout.folded)
        for layer, params in steps:
            source = self._add(self._stem(node), layer, params, [source])
        return self._made(node, source, new)

    def _aligned(self, arg: Any, out: tuple[int, ...], layout: Layout, expand: bool, node: fx.Node) -> str:
        """``arg`` as a sample beside values of traced shape ``out`` held in ``layout``: a value
        with no batch gets its dims aligned to the right, size 1 where the batch is (a Reshape
        where that changes its shape); with ``expand``, an Expand to the full sample."""
        constant = Const(arg) if isinstance(arg, torch.Tensor) else self.values.get(arg) \
            if isinstance(arg, fx.Node) else None
        tensor = self._constant_of(constant)
        if tensor is not None and tensor.dim() <= len(out):  # a Constant of the aligned shape at once
            full = (1,) * (len(out) - tensor.dim()) + tuple(tensor.shape)
            a = layout.axis
            if a is not None and full[a] == 1:
                mine = full if layout.folded else full[:a] + full[a + 1:]
                arg = tensor.reshape(mine)
        source, own, shape = self._node_value(arg, node)
        target = sample_shape(out, layout, self.batch)
        if own != UNBATCHED:
            if own != layout or len(shape) != len(out):
                raise Unsupported("it combines values that hold the batch differently")
            mine = sample_shape(shape, own, self.batch)
        else:
            if len(shape) > len(out):
                raise Unsupported("a value without a batch has more dims than the sample it meets")
            full = (1,) * (len(out) - len(shape)) + tuple(shape)
            a = layout.axis
            if a is not None and full[a] != 1:
                raise Unsupported(f"a value without a batch varies along the batch's dim ({list(shape)} "
                                  f"beside {list(out)})")
            mine = full if a is None or layout.folded else full[:a] + full[a + 1:]
            if tuple(mine) != tuple(shape):
                source = self._add(f"{self._stem(node)}_align", "Reshape", {"shape": list(mine)}, [source])
        if expand and tuple(mine) != tuple(target):
            source = self._add(f"{self._stem(node)}_expand", "Expand", {"shape": list(target)}, [source])
        return source

    def _output_layout(self, node: fx.Node, args: list[Any]) -> Layout:
        layouts = {self.layout(a) for a in args
                   if isinstance(a, fx.Node) and isinstance(self.values.get(a), str)
                   and self.layout(a) != UNBATCHED}
        if len(layouts) > 1:
            raise Unsupported("it combines values that hold the batch differently")
        return layouts.pop() if layouts else UNBATCHED

    def _binary(self, node: fx.Node, out: tuple[int, ...], name: str) -> str:
        left, right = (node.args + (node.kwargs.get("other"),))[:2]
        left, right = (self._concrete(v) if isinstance(v, fx.Node) and "tensor_meta" not in v.meta else v
                       for v in (left, right))
        numbers = [v for v in (left, right) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numbers:
            tensor = right if numbers[0] is left else left
            source, layout, _ = self._node_value(tensor)
            number = float(numbers[0])
            if name == "mul" or (name == "truediv" and numbers[0] is right):
                factor = number if name == "mul" else 1.0 / number
                return self._made(node, self._add(self._stem(node), "Scale", {"factor": factor}, [source]), layout)
            raise Unsupported(f"{'adding' if name == 'add' else 'combining'} a tensor and a number")
        if name not in ("add", "mul"):
            raise Unsupported(f"{name} of two tensors (Add and Mul combine tensors)")
        layout = self._output_layout(node, [left, right])
        sources = [self._aligned(arg, out, layout, name == "add", node) for arg in (left, right)]
        return self._made(node, self._add(self._stem(node), "Add" if name == "add" else "Mul", {}, sources), layout)

    def _matmul(self, node: fx.Node, out: tuple[int, ...]) -> str:
        left, right = node.args[:2]
        layout = self._output_layout(node, [left, right])
        sources = [self._aligned(arg, out[:-2] + tuple(_dims_of(self, arg)[-2:]), layout, False, node)
                   for arg in (left, right)]
        return self._made(node, self._add(self._stem(node), "MatMul", {}, sources), layout)

    def _linear(self, node: fx.Node, out: tuple[int, ...]) -> str:
        from graph_engine.interop.fx_walk import _Attr

        bound = dict(zip(("input", "weight", "bias"), node.args), **node.kwargs)
        source, layout, shape = self._node_value(bound["input"])
        if layout.axis is not None and layout.axis == len(shape) - 1:
            raise Unsupported("a Linear over the batch dimension")
        weights: dict[str, torch.Tensor] = {}
        stem = self._stem(node)
        for key in ("weight", "bias"):
            arg = bound.get(key)
            if arg is None:
                continue
            value = self.values.get(arg) if isinstance(arg, fx.Node) else None
            if isinstance(value, _Attr) and isinstance(fetch_tensor := self._learned_tensor(value), nn.Parameter):
                if value.name in self._owners:
                    raise Unsupported(f"self.{self._own(value.name)} is also used by '{self._owners[value.name]}' "
                                      "(shared weights; a node owns its weights)")
                weights[key] = fetch_tensor.detach()
                if key == "weight":
                    stem = value.name.rsplit(".", 1)[0]
            elif isinstance(value, Lazy):
                weights[key] = self._evaluate(value.node).detach().clone()
            else:
                raise Unsupported(f"its {key} is computed from the input")
        sample = sample_shape(shape, layout, self.batch)
        params = {"out_features": int(out[-1]), "bias": "bias" in weights}
        if len(sample) > 2:
            source = self._add(f"{stem}_flat", "Reshape", {"shape": [math.prod(sample[:-1]), sample[-1]]}, [source])
        node_id = self._add(stem, "Linear", params, [source], weights)
        for key in ("weight", "bias"):
            value = self.values.get(bound.get(key)) if isinstance(bound.get(key), fx.Node) else None
            if isinstance(value, _Attr):
                self._owners[value.name] = node_id
        if len(sample) > 2:
            node_id = self._add(f"{stem}_unflat", "Reshape", {"shape": [*sample[:-1], int(out[-1])]}, [node_id])
        return self._made(node, node_id, layout)

    def _unary(self, node: fx.Node, out: tuple[int, ...], name: str) -> str:
        source, layout, shape = self._source(node)
        rank = len(shape)
        kwargs = node.kwargs
        args = node.args
        if name in _UNARY:
            if name == "gelu" and kwargs.get("approximate", "none") != "none":
                raise Unsupported("approximate gelu")
            layer, params = _UNARY[name], {}
        elif name == "softmax":
            dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
            if dim is None:
                raise Unsupported("softmax without dim")
            layer, params = "Softmax", {"dim": sample_axis(int(dim), rank, layout)}
        elif name == "normalize":
            bound = dict(zip(("input", "p", "dim", "eps"), args), **kwargs)
            layer, params = "Normalize", {"dim": sample_axis(int(bound.get("dim", 1)), rank, layout),
                                          "p": float(bound.get("p", 2.0)), "eps": float(bound.get("eps", 1e-12))}
        elif name == "dropout":
            bound = dict(zip(("input", "p", "training", "inplace"), args), **kwargs)
            layer, params = "Dropout", {"p": float(bound.get("p", 0.5))}
        elif name == "clamp":
            bound = dict(zip(("input", "min", "max"), args), **kwargs)
            if any(isinstance(bound.get(k), (fx.Node, torch.Tensor)) for k in ("min", "max")):
                raise Unsupported("clamping to tensors")
            params = {k: float(bound[k]) for k in ("min", "max") if bound.get(k) is not None}
            layer = "Clamp"
        elif name == "pad":
            bound = dict(zip(("input", "pad", "mode", "value"), args), **kwargs)
            if bound.get("mode", "constant") != "constant":
                raise Unsupported(f"mode={bound['mode']!r} (constant padding)")
            pad = [int(p) for p in self._concrete(bound["pad"])]
            if not any(pad):
                return self._made(node, source, layout)
            touched = {rank - 1 - i for i in range(len(pad) // 2) if pad[2 * i] or pad[2 * i + 1]}
            if layout.axis in touched:
                raise Unsupported("it pads the batch dimension")
            if layout.axis is not None and not layout.folded and layout.axis >= rank - len(pad) // 2:
                raise Unsupported("it pads dims after the batch's (the batch is not the first dim)")
            layer, params = "Pad", {"pad": pad, "value": float(bound.get("value") or 0.0)}
        elif name == "roll":
            bound = dict(zip(("input", "shifts", "dims"), args), **kwargs)
            shifts, dims = self._concrete(bound["shifts"]), self._concrete(bound.get("dims"))
            shifts = [int(s) for s in (shifts if isinstance(shifts, (tuple, list)) else [shifts])]
            if dims is None:
                raise Unsupported("rolling the flattened tensor")
            dims = [sample_axis(int(d), rank, layout) for d in (dims if isinstance(dims, (tuple, list)) else [dims])]
            layer, params = "Roll", {"shifts": shifts, "dims": dims}
        elif name in ("cat", "concat"):
            return self._concat(node, out)
        else:
            self._moved_used = True
            raise Unsupported("it takes a value whose batch is not its first dim (or that has none), "
                              "which its layer type cannot")
        return self._made(node, self._add(self._stem(node), layer, params, [source]), layout)

    def _einsum(self, node: fx.Node, out: tuple[int, ...]) -> str:
        """A product of two operands over one letter, the other letters batch-like (in both and
        the result) or free (in one operand and the result): ``B G H I D, B G H J D -> B G H I J``
        is a MatMul of the operands ordered (…, I, D) and (…, D, J), then the result reordered."""
        equation = str(node.args[0]).replace(" ", "")
        operands = list(node.args[1]) if len(node.args) == 2 and isinstance(node.args[1], (list, tuple)) \
            else list(node.args[1:])
        if "->" not in equation or "." in equation or len(operands) != 2:
            raise Unsupported("an einsum other than a product of two operands with an explicit result")
        inputs, result = equation.split("->")
        terms = inputs.split(",")
        if len(terms) != 2 or any(len(set(t)) != len(t) for t in (*terms, result)):
            raise Unsupported("an einsum with a repeated letter (a diagonal or a trace)")
        a, b = terms
        shared = [c for c in result if c in a and c in b]
        contracted = [c for c in a if c in b and c not in result]
        left = [c for c in a if c not in b]
        right = [c for c in b if c not in a]
        if len(contracted) != 1 or len(left) != 1 or len(right) != 1 or set(result) != set(shared + left + right):
            raise Unsupported(f"einsum {equation!r} is not a matrix product over one letter")
        (k,), (i,), (j,) = contracted, left, right
        values = [self._node_value(op, node) for op in operands]
        layouts = {layout for _, layout, _ in values}
        layout = layouts.pop()
        if layouts or layout.axis != 0 or not (a[0] == b[0] == result[0]):
            raise Unsupported("an einsum whose operands do not both hold the batch first")
        drop = 0 if layout.folded else 1  # a folded batch's dim is the sample's own dim 0
        shared = [c for c in shared if drop == 0 or c != a[0]]
        ordered = []
        for (source, _, _), term, wanted in zip(values, (a, b), (shared + [i, k], shared + [k, j])):
            order = [term[drop:].index(c) for c in wanted]
            if order != sorted(order):
                source = self._add(self._stem(node), "Permute", {"dims": order}, [source])
            ordered.append(source)
        node_id = self._add(self._stem(node), "MatMul", {}, ordered)
        made = shared + [i, j]
        order = [made.index(c) for c in result[drop:]]
        if order != sorted(order):
            node_id = self._add(self._stem(node), "Permute", {"dims": order}, [node_id])
        return self._made(node, node_id, layout)

    def _module_call(self, node: fx.Node, module: nn.Module, layer: str | None, params: dict,
                     force: bool = False) -> Any:
        """A torch.nn layer on a value in a layout: layers that work on the last dim or on each
        value alone (Linear, LayerNorm, activations, Dropout) work the same on a sample."""
        from graph_engine.interop.fx_walk import _shape

        if len(node.args) != 1 or node.kwargs:
            raise Unsupported("called with more than one input")
        if not force and not isinstance(self.values.get(node.args[0]), str):
            return Lazy(node)  # on the model's tensors alone (Swin V2's bias MLP): a node when used
        source, layout, shape = self._node_value(node.args[0])
        out = _shape(node)
        if layer is None:
            return self._made(node, source, layout)
        if layer not in _LAST_DIM_LAYERS or out is None:
            raise Unsupported(f"a {layer} on a value whose batch is not its first dim")
        if layout.axis is not None and layout.axis == len(shape) - 1:
            raise Unsupported(f"a {layer} over the batch dimension")
        own = self._own(str(node.target))
        if str(node.target) in self._owners:
            raise Unsupported(f"self.{own} is called more than once (shared weights; a node owns its weights: "
                              f"'{self._owners[str(node.target)]}')")
        weights = {key: value.detach() for key, value in module.state_dict(keep_vars=True).items()}
        sample = sample_shape(shape, layout, self.batch)
        flat = layer == "Linear" and len(sample) > 2
        if flat:
            source = self._add(f"{own}_flat", "Reshape", {"shape": [math.prod(sample[:-1]), sample[-1]]}, [source])
        node_id = self._add(own, layer, params, [source], weights)
        if weights:
            self._owners[str(node.target)] = node_id
        if flat:
            node_id = self._add(f"{own}_unflat", "Reshape", {"shape": [*sample[:-1], int(out[-1])]}, [node_id])
        return self._made(node, node_id, layout)

    def _concat(self, node: fx.Node, out: tuple[int, ...]) -> str:
        tensors = node.args[0] if node.args else node.kwargs["tensors"]
        dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)
        layout = self._output_layout(node, list(tensors))
        sources = [self._aligned(t, out[:int(dim) % len(out)] + (_dims_of(self, t)[int(dim) % len(out)],)
                                 + out[int(dim) % len(out) + 1:], layout, True, node) for t in tensors]
        if len(sources) == 1:
            return self._made(node, sources[0], layout)
        axis = sample_axis(int(dim), len(out), layout)
        return self._made(node, self._add(self._stem(node), "Concat", {"dim": axis}, sources), layout)


def _dims_of(walk: LayoutCalls, arg: Any) -> tuple[int, ...]:
    from graph_engine.interop.fx_walk import _shape

    if isinstance(arg, torch.Tensor):
        return tuple(arg.shape)
    value = walk.values.get(arg)
    constant = walk._constant_of(value)
    if constant is not None:
        return tuple(constant.shape)
    if isinstance(value, Lazy):
        return _shape(value.node)
    return _shape(arg)


__all__ = ["Layout", "LayoutCalls", "Const", "Lazy", "F"]

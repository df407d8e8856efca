"""One call on values in a batch layout, as the layers that do the same to one sample (the
other half of :mod:`graph_engine.interop.fx_layouts`; see :mod:`graph_engine.interop.batch_layout`).

Each rule reads the call's traced shapes and its inputs' layouts and adds the nodes: a Reshape
of the sample for a reshape that folds windows into the batch, a Permute of the sample's own
dims for a permute that moves the batch, Select/Slice/IndexSelect for an index, an aligned
Reshape + Expand for a value with no batch beside a sample, Permute + MatMul for an einsum.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import fx, nn

from graph_engine.interop.batch_layout import (
    LAST_DIM_LAYERS, PLAIN, RESHAPES, SAME, UNARY, UNBATCHED, Const, Layout, Lazy, sample_axis, sample_shape,
)
from graph_engine.interop.fx_inline import fx_nodes
from graph_engine.interop.fx_modules import Unsupported


class SampleCalls:
    """Mixed into the walk (through LayoutCalls): the per-call rules."""

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
        if name in SAME:
            source, layout, _ = self._node_value(a[0])
            return self._made(node, source, layout)
        if name in RESHAPES:
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
        if name in UNARY:
            if name == "gelu" and kwargs.get("approximate", "none") != "none":
                raise Unsupported("approximate gelu")
            layer, params = UNARY[name], {}
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
        if layer not in LAST_DIM_LAYERS or out is None:
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


def _dims_of(walk: SampleCalls, arg: Any) -> tuple[int, ...]:
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

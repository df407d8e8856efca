"""The walk's calls on values whose batch is not simply their first dim: which calls take one
(:meth:`LayoutCalls.needs_layout`), the values the model's tensors alone make (constants,
learned values made nodes only once a sample meets them), and tracing through a library's
fx-wrapped function. What each call becomes is :mod:`graph_engine.interop.fx_samples`; the
layouts themselves are :mod:`graph_engine.interop.batch_layout`.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
from torch import fx, nn

from graph_engine.interop.batch_layout import (
    LAYOUT_CALLS, PLAIN, RESHAPES, SIZE_ARITHMETIC, UNBATCHED, Const, Layout, Lazy, call_name,
)
from graph_engine.interop.fx_inline import fx_nodes, is_inlined, record
from graph_engine.interop.fx_modules import Unsupported
from graph_engine.interop.fx_samples import SampleCalls


class LayoutCalls(SampleCalls):
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
        if calls and rule is None and call_name(node) in LAYOUT_CALLS:
            return True  # roll, pad, normalize ... (only this half has them)
        if calls and call_name(node) in ("mul", "truediv") and any(
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
        return call_name(node) in RESHAPES | {"permute", "transpose", "swapaxes", "swapdims", "getitem"}

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
            if value.target in SIZE_ARITHMETIC and not any(isinstance(a, fx.Node) for a in args):
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
        name = call_name(node)
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

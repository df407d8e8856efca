"""Exported Python for a graph with blocks: one ``nn.Module`` class per block definition,
instantiated per use, the way a person writes ResNet.

Each use's inside is lowered with that use's concrete values (the expansion's analysis
gives every inner node's shapes and params). Uses whose forward code is the same share a
class; what their module constructors differ in becomes the class's ``__init__``
arguments — named after the block param when the values are that param's, else after the
node and argument (``conv1_in``). Uses whose code differs get classes of their own
(``Basic_2``). Module attribute names follow the nesting, so the ``state_dict`` keys are
the compiled module's (``layer1.conv2.weight``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph_engine.analysis import Analysis
from graph_engine.model import Graph
from graph_engine.registry import get_spec
from graph_engine.source_text import class_identifier, fresh_name, py_identifier, py_literal
from graph_engine.traversal import Feed, wire

#: positional constructor arguments named for what they usually are
_POSITIONAL = ("in", "out")


@dataclass
class Call:
    """A constructor call: ``nn.Conv2d(3, 8, kernel_size=3)`` or ``Basic(channels=8)``; with
    ``raw``, ``target`` is the whole constructor expression (no slots to vary)."""

    target: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    raw: bool = False

    def slots(self) -> list[tuple[str, Any]]:
        named = [(_POSITIONAL[i] if i < len(_POSITIONAL) else f"arg{i}", a) for i, a in enumerate(self.args)]
        return named + list(self.kwargs)


@dataclass
class Scope:
    """One level's code for one use (or the top level): constructors and forward lines."""

    init: list[tuple[str, "Call | UseRef"]] = field(default_factory=list)
    forward: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    #: block param values of this use (empty at the top level)
    env: dict[str, Any] = field(default_factory=dict)


@dataclass
class UseRef:
    """A block use inside a scope: resolved to ``Class(args)`` once every use is known."""

    variant: "Variant"
    index: int


@dataclass
class Variant:
    """One class: a definition's uses that share their forward code."""

    name: str
    definition: Any
    scopes: list[Scope] = field(default_factory=list)

    def arguments(self) -> list[tuple[str, str, int]]:
        """(argument name, node attr, slot index) of every constructor slot that differs.

        A slot whose values are a block param's in every use takes that param's name; any
        other gets ``{attr}_{slot}``, made unique against the params and the other names."""
        found: list[tuple[str, str, int]] = []
        first = self.scopes[0]
        params = {p.name for p in self.definition.params}
        taken = set(params) | {"self"}
        for index, (attr, call) in enumerate(first.init):
            calls = [scope.init[index][1] for scope in self.scopes]
            slots = [_slots(c) for c in calls]
            for position, (slot, _value) in enumerate(slots[0]):
                values = [s[position][1] for s in slots]
                if all(v == values[0] for v in values):
                    continue
                name = self._param_for(values)
                if name is None:
                    name = fresh_name(py_identifier(f"{attr}_{slot}"), taken)
                found.append((name, attr, position))
        return found

    def _param_for(self, values: list[Any]) -> str | None:
        for param in self.definition.params:
            if all(scope.env.get(param.name) == value for scope, value in zip(self.scopes, values)):
                return py_identifier(param.name)
        return None


def _slots(call: "Call | UseRef") -> list[tuple[str, Any]]:
    if isinstance(call, UseRef):
        return list(call.variant.use_kwargs(call.index).items())
    return [] if call.raw else call.slots()





def _use_kwargs(self: Variant, index: int) -> dict[str, Any]:
    """The values one use passes to its class, by argument name."""
    scope, result = self.scopes[index], {}
    for name, attr, position in self.arguments():
        init = dict(scope.init)
        result.setdefault(name, _slots(init[attr])[position][1])
    return result


Variant.use_kwargs = _use_kwargs  # type: ignore[attr-defined]


class BlockCode:
    """Lowers a graph level by level; see the module docstring."""

    def __init__(self, flat: Analysis, blocks: dict[str, Any], lower_layer, reserved: set[str]):
        self.flat = flat
        self.blocks = blocks
        #: class names taken (the top-level model's first): a block class never shadows one
        self.class_names = set(reserved)
        #: (builder, node id, flat id, spec, params, in_shapes, inputs) -> (Call | None, produced)
        self.lower_layer = lower_layer
        self.variants: dict[str, list[Variant]] = {}
        self.uses_functional = False

    def scope(self, graph: Graph, prefix: str, builder_factory, env: dict[str, Any] | None = None,
              live: set[str] | None = None) -> Scope:
        """Lower one level: ``graph`` (the top level, or a definition for the use at ``prefix``)."""
        scope, builder = Scope(env=dict(env or {})), builder_factory()
        values: dict[Feed, str] = {}
        wiring = wire(graph)
        returned: dict[str, str] = {}
        taken = set(graph.nodes)
        for node_id in wiring.order:
            if live is not None and node_id not in live:
                continue
            node = graph.nodes[node_id]
            flat_id = prefix + node_id
            spec = get_spec(node.type)
            feeds = wiring.port_sources(node_id)
            inputs = [values.get(feeds[p][0]) if p in feeds else None for p in range(max(feeds, default=-1) + 1)]
            if spec is not None and spec.role == "input":
                scope.inputs.append(node_id)
                values[Feed(node_id)] = node_id
                continue
            if spec is not None and spec.role == "output":
                returned[node_id] = inputs[0]
                continue
            definition = self.blocks.get(node.type)
            if definition is not None:
                ref = self._use(definition, flat_id, builder_factory)
                scope.init.append((node_id, ref))
                builder.lines.append(f"{node_id} = self.{node_id}({', '.join(v for v in inputs if v)})")
                ports = definition.output_ids
                for port in range(len(ports)):
                    values[Feed(node_id, port)] = node_id if len(ports) == 1 else f"{node_id}[{port}]"
                continue
            call, produced = self.lower_layer(builder, node_id, flat_id, inputs, taken)
            if call is not None:
                scope.init.append((node_id, call))
            for port, value in enumerate(produced):
                values[Feed(node_id, port)] = value
        # in the Outputs' file order, as the compiler returns them
        outputs = [returned[n.id] for n in graph if n.id in returned]
        builder.lines.append(f"return {', '.join(outputs)}")
        scope.forward = builder.lines
        scope.returned = outputs
        self.uses_functional |= builder.uses_functional
        return scope

    def _use(self, definition, flat_id: str, builder_factory) -> UseRef:
        env = _env_of(self.flat, definition, flat_id)
        scope = self.scope(definition.graph, flat_id + ".", builder_factory, env)
        variants = self.variants.setdefault(definition.name, [])
        for variant in variants:
            if _shape_of(variant.scopes[0]) == _shape_of(scope):
                variant.scopes.append(scope)
                return UseRef(variant, len(variant.scopes) - 1)
        name = fresh_name(class_identifier(definition.name), self.class_names)
        variant = Variant(name, definition, [scope])
        variants.append(variant)
        return UseRef(variant, 0)

    def render_init(self, scope: Scope, argument_of: dict[tuple[str, int], str] | None = None) -> list[str]:
        """``self.attr = constructor`` lines; a differing slot reads its argument's name."""
        lines = []
        argument_of = argument_of or {}
        for attr, call in scope.init:
            if isinstance(call, UseRef):
                kwargs = call.variant.use_kwargs(call.index)
                parts = [f"{k}={_value(v, argument_of, attr, i, scope)}" for i, (k, v) in enumerate(kwargs.items())]
                lines.append(f"self.{attr} = {call.variant.name}({', '.join(parts)})")
                continue
            if call.raw:
                lines.append(f"self.{attr} = {call.target}")
                continue
            parts = []
            for position, (slot, value) in enumerate(call.slots()):
                text = argument_of.get((attr, position)) or py_literal(value)
                parts.append(text if position < len(call.args) else f"{slot}={text}")
            lines.append(f"self.{attr} = {call.target}({', '.join(parts)})")
        return lines

    def classes(self) -> list[str]:
        """The source of every block class, nested ones first."""
        rendered: list[str] = []
        for name in _dependency_order(self.blocks):
            for variant in self.variants.get(name, []):
                rendered.append(self._class(variant))
        return rendered

    def _class(self, variant: Variant) -> str:
        arguments = variant.arguments()
        names = list(dict.fromkeys(name for name, _attr, _pos in arguments))
        argument_of = {(attr, position): name for name, attr, position in arguments}
        scope = variant.scopes[0]
        init = self.render_init(scope, argument_of) or ["pass"]
        signature = ", ".join(["self", *names])
        body = "\n".join(f"        {line}" for line in init)
        forward = "\n".join(f"        {line}" for line in scope.forward)
        inputs = ", ".join(["self", *scope.inputs])
        return (f"class {variant.name}(nn.Module):\n    def __init__({signature}):\n        super().__init__()\n"
                f"{body}\n\n    def forward({inputs}):\n{forward}\n")


def _shape_of(scope: Scope) -> tuple:
    """What uses must share to share a class: the forward code, the constructors' targets
    and slot names (and the classes of nested uses)."""
    init = tuple((attr, call.variant.name if isinstance(call, UseRef) else call.target,
                  tuple(slot for slot, _v in _slots(call))) for attr, call in scope.init)
    return tuple(scope.forward), init


def _value(value: Any, argument_of: dict, attr: str, index: int, scope: Scope) -> str:
    return argument_of.get((attr, index)) or py_literal(value)


def _env_of(flat: Analysis, definition, flat_id: str) -> dict[str, Any]:
    """The block param values a use was expanded with (read back from its inner nodes)."""
    from graph_engine.blocks import is_ref

    env: dict[str, Any] = {}
    for node in definition.graph:
        inner = flat.graph.nodes.get(f"{flat_id}.{node.id}")
        if inner is None:
            continue
        for key, value in node.params.items():
            if is_ref(value) and key in inner.params:
                env[value["$param"]] = inner.params[key]
    return env


def _dependency_order(blocks: dict[str, Any]) -> list[str]:
    from graph_engine.blocks import check_definitions

    return check_definitions(blocks)


__all__ = ["BlockCode", "Call", "Scope", "py_identifier"]

"""How a block looks from outside and from inside, for the editor.

Outside: a use is a node whose ports are the definition's Inputs and Outputs and whose
params are the declared block params — :func:`use_spec` gives that as a ``LayerSpec``, so
the canvas, the inspector and the param forms treat a use like any layer.

Inside: :func:`definition_analysis` gives the shapes and counts of a definition's layers
as one of its uses sees them (the first use, else the block params' defaults), keyed by
the definition's own ids, so a view of the definition draws them like a graph's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from graph_engine.analysis import Analysis, NodeInfo, analyze
from graph_engine.blocks import PATH_SEPARATOR, BlockDefinition, is_ref, substitute
from graph_engine.model import Graph, GraphError, Node
from graph_engine.params import ParamError, check_params
from graph_engine.registry import LayerSpec, Port, ShapeError, get_spec
from graph_engine.traversal import wire
from graph_engine.validation import error as error_diagnostic

#: the category a block use's face carries (its colour on the canvas)
BLOCK_CATEGORY = "Block"


def _no_shape(_params: Any, _shapes: Any) -> Any:
    raise ShapeError("a block use's shapes come from its expansion")


def _port_names(definition: BlockDefinition, ids: list[str]) -> tuple[Port, ...]:
    return tuple(Port(definition.graph.node(i).label or i) for i in ids)


def use_spec(definition: BlockDefinition) -> LayerSpec:
    """A use of ``definition`` seen as a layer type: named ports, declared params."""
    inputs, outputs = _port_names(definition, definition.input_ids), _port_names(definition, definition.output_ids)
    layers = sum(1 for n in definition.graph if (s := get_spec(n.type)) is None or s.role is None)
    return LayerSpec(
        type=definition.name, category=BLOCK_CATEGORY, shape=_no_shape,
        help=f"Block {definition.name}: {layers} layer{'s' if layers != 1 else ''} inside; "
             "double-click a use to edit its definition (every use follows).",
        params=definition.params, inputs=(len(inputs), len(inputs)), input_ports=inputs,
        output_ports=outputs or (Port("out"),), has_output=bool(outputs),
        key_params=tuple(p.name for p in definition.params))


def spec_of(graph: Graph, type_name: str) -> LayerSpec | None:
    """The layer type ``type_name`` names in ``graph``: one of its blocks, or a registered layer."""
    definition = graph.blocks.get(type_name)
    return use_spec(definition) if definition is not None else get_spec(type_name)


def checked_params(graph: Graph, node: Node, changes: Mapping[str, Any], template: bool) -> dict[str, Any]:
    """``node``'s params with ``changes``, checked (ParamError): a use's against its block's
    declared params; a layer inside a definition (``template``) keeps its references to block
    params and has its other values checked."""
    merged = {**node.params, **changes}
    definition = graph.blocks.get(node.type)
    if definition is not None:
        return check_params(definition.params, merged)
    spec = get_spec(node.type)
    if spec is None:
        return merged
    if not template:
        return check_params(spec.params, merged)
    unknown = sorted(set(merged) - {p.name for p in spec.params})
    if unknown:
        raise ParamError(f"unknown parameter {unknown[0]!r}")
    return {p.name: (merged[p.name] if is_ref(merged.get(p.name)) else p.check(merged.get(p.name, p.default)))
            for p in spec.params}


def first_use(graph: Graph, name: str) -> str | None:
    """The path of the first use of block ``name`` (``layer1``, or ``stage.block`` inside
    another block's use), or None. Definitions are acyclic (checked at load), so this ends."""
    def search(nodes: list[Node], prefix: str) -> str | None:
        for node in nodes:
            if node.type == name:
                return prefix + node.id
        for node in nodes:
            definition = graph.blocks.get(node.type)
            if definition is not None:
                found = search(list(definition.graph), f"{prefix}{node.id}{PATH_SEPARATOR}")
                if found is not None:
                    return found
        return None

    return search(list(graph), "")


def definition_analysis(top: Analysis, name: str, inner: Graph, use: str | None = None) -> Analysis:
    """Shapes, counts and problems of block ``name``'s layers (``inner``: the definition's
    graph as shown), as use ``use`` (a path; default: the first use) sees them; a block with
    no use is analysed with its params' defaults."""
    graph = top.graph
    definition = graph.blocks.get(name)
    if definition is None:  # gone (an undo): nothing to say until the view leaves it
        return Analysis(graph=inner, wiring=wire(inner), nodes={}, diagnostics=[])
    flat = top.flat
    if use is None or flat is None or not any(n.startswith(use + PATH_SEPARATOR) for n in flat.nodes):
        use = first_use(graph, name)
    if use is not None and flat is not None:
        nodes = {node_id: flat.nodes[key] for node_id in inner.nodes
                 if (key := f"{use}{PATH_SEPARATOR}{node_id}") in flat.nodes}
        diagnostics = [d for d in flat.diagnostics if any(n.startswith(use + PATH_SEPARATOR) for n in d.node_ids)]
        diagnostics = [replace(d, node_ids=tuple(n[len(use) + 1:] for n in d.node_ids
                                                 if n.startswith(use + PATH_SEPARATOR)), fix=None)
                       for d in diagnostics]
        return Analysis(graph=inner, wiring=wire(inner), nodes=nodes, diagnostics=diagnostics)
    try:
        env = definition.resolve({})
    except (ParamError, TypeError, ValueError):
        return Analysis(graph=inner, wiring=wire(inner), nodes={}, diagnostics=[])
    alone = Graph(name)
    for block in graph.blocks.values():
        alone.set_block(block)
    try:
        for node in inner:
            alone.add_node(Node(node.id, node.type, substitute(node.params, env), node.position, node.label))
        for edge in inner.edges:
            alone.add_edge(edge)
    except GraphError as error:
        return Analysis(graph=inner, wiring=wire(inner), nodes={}, diagnostics=[error_diagnostic("block", str(error))])
    analysis = analyze(alone)
    return Analysis(graph=inner, wiring=wire(inner), nodes=dict(analysis.nodes), diagnostics=analysis.diagnostics)


__all__ = ["BLOCK_CATEGORY", "NodeInfo", "checked_params", "definition_analysis", "first_use", "spec_of", "use_spec"]

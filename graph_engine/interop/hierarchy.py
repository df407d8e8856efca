"""An imported model keeps its module hierarchy: each instance of a module class (not a
container: Sequential, ModuleList, ModuleDict are see-through) becomes a use of a block
definition named after the class.

Instances are grouped deepest first with :func:`graph_engine.blocks.make_block` on the
flat import, so an outer module's definition holds the uses of its inner ones. Then the
definitions of one class are merged: those with the same structure become one definition
whose differing values (a conv's channels, a stride) are block params each use sets;
structurally different ones (a downsample branch) stay separate (``BasicBlock_2``).
Weights follow: each flat node's state key becomes its path (``layer1_0.conv1.weight``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from typing import Any, Mapping

from graph_engine.analysis import analyze
from graph_engine.blocks import PATH_SEPARATOR, BlockDefinition, make_block
from graph_engine.layout import layered_layout
from graph_engine.model import Edge, Graph, Node
from graph_engine.params import ParamSpec
from graph_engine.registry import get_spec
from graph_engine.source_text import fresh_name

#: module classes that only hold others: their members stay where the container stands
CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})

Scope = tuple[tuple[str, str], ...]


def nest(graph: Graph, scopes: Mapping[str, Scope], leaves: set[str] = frozenset()
         ) -> tuple[Graph, dict[str, str]]:
    """``graph`` (a flat import, changed in place and returned) with its module instances as
    block uses, and each flat node's id -> its path in the nested graph (``layer1_0.conv1``).
    ``leaves``: modules called as one layer (a ReLU module called twice is no block). When
    blocks were made, the chain of layers from the Input to the first use is the ``Stem``."""
    members: dict[str, list[str]] = defaultdict(list)
    kind: dict[str, str] = {}
    depth: dict[str, int] = {}
    for node_id, scope in scopes.items():
        for level, (path, cls) in enumerate(scope):
            members[path].append(node_id)
            kind[path], depth[path] = cls, level
    # a module of a layer type's name (torchvision's StochasticDepth, called twice in a Swin
    # block) is that layer each time it is called, not a block
    instances = [p for p in members if kind[p] not in CONTAINERS and p not in leaves and len(members[p]) >= 2
                 and get_spec(kind[p]) is None]
    path_of: dict[str, list[str]] = {node_id: [node_id] for node_id in graph.nodes}
    analysis = analyze(graph)  # once: a use's output shapes are those of what it outputs
    shapes = {(n, port): s for n, info in analysis.nodes.items() for port, s in enumerate(info.out_shapes or ())}
    for level in sorted({depth[p] for p in instances}, reverse=True):
        made: dict[str, list[tuple[str, str]]] = defaultdict(list)  # class -> (definition, use)
        for path in [p for p in instances if depth[p] == level]:
            use, name = _group(graph, path, kind[path], members[path], path_of, shapes)
            made[kind[path]].append((name, use))
        for cls, group in made.items():
            _merge(graph, cls, group)
    stem = _stem(graph)
    if len(stem) >= 2:
        flat_members = [f for f, path in path_of.items() if path[0] in stem]
        _group(graph, "stem", "Stem", flat_members, path_of, shapes)
        _merge(graph, "Stem", [(next(n for n in graph.blocks if n.startswith("Stem__")), "stem")])
    for node_id, position in layered_layout(graph).items():
        graph.move_node(node_id, position)
    return graph, {flat: PATH_SEPARATOR.join(path) for flat, path in path_of.items()}


def _group(graph: Graph, path: str, cls: str, flat_members: list[str], path_of: dict[str, list[str]],
           shapes: dict[tuple[str, int], Any]) -> tuple[str, str]:
    """Make one instance a use of a fresh definition; returns (use id, definition name).
    ``shapes`` ((node, output port) -> shape) learns the use's outputs."""
    tops = list(dict.fromkeys(path_of[f][0] for f in flat_members if f in path_of))
    slug = re.sub(r"\W", "_", path)
    name = fresh_name(f"{cls}__{slug}", set(graph.blocks))
    rewrite = make_block(graph, tops, name, shapes)
    prefix = slug + "_"
    taken = set(graph.nodes) - set(tops)
    use_id = fresh_name(slug if not slug[:1].isdigit() else f"n_{slug}", taken)
    definition = rewrite.definitions[0]
    local = _local_ids(definition.graph, set(tops), prefix)
    inner = Graph(name, template=True)
    for node in definition.graph:
        inner.add_node(replace(node, id=local[node.id]))
    for edge in definition.graph.edges:
        inner.add_edge(Edge(local[edge.source], local[edge.target], edge.port, edge.source_port))
    old_use = rewrite.added_nodes[0].id
    for edge in rewrite.removed_edges:
        graph.remove_edge(edge)
    for node_id in rewrite.removed_nodes:
        graph.remove_node(node_id)
    graph.set_block(BlockDefinition(name, _laid_out(inner)))
    graph.add_node(replace(rewrite.added_nodes[0], id=use_id, position=None))
    crossing = {(e.target, e.port): (e.source, e.source_port) for e in rewrite.removed_edges}
    for edge in rewrite.added_edges:
        if edge.source == old_use and (feed := crossing.get((edge.target, edge.port))) in shapes:
            shapes[(use_id, edge.source_port)] = shapes[feed]
        graph.add_edge(Edge(use_id if edge.source == old_use else edge.source,
                            use_id if edge.target == old_use else edge.target, edge.port, edge.source_port))
    for flat, segments in path_of.items():
        if segments[0] in local:
            path_of[flat] = [use_id, local[segments[0]], *segments[1:]]
    return use_id, name


def _stem(graph: Graph) -> list[str]:
    """The plain layers chained from the (single) Input to the first block use, in order."""
    if not graph.blocks:
        return []
    inputs = [n.id for n in graph if (s := get_spec(n.type)) is not None and s.role == "input"]
    if len(inputs) != 1:
        return []
    chain, current = [], inputs[0]
    while True:
        consumers = [e.target for e in graph.edges if e.source == current]
        if len(consumers) != 1:
            return chain
        node = graph.node(consumers[0])
        spec = get_spec(node.type)
        if spec is None or spec.role is not None or len(graph.in_edges(node.id)) != 1:
            return chain
        chain.append(node.id)
        current = node.id


def _local_ids(inner: Graph, members: set[str], prefix: str) -> dict[str, str]:
    """Ids inside a definition that every instance of a class shares: the instance's path
    prefix dropped (``layer1_0_conv1`` -> ``conv1``), an fx counter dropped (``add_3`` -> ``add``)."""
    local: dict[str, str] = {}
    taken = {n for n in inner.nodes if n not in members}
    local.update({n: n for n in taken})
    for node_id in inner.nodes:
        if node_id not in members:
            continue
        stem = node_id[len(prefix):] if node_id.startswith(prefix) else re.sub(r"_\d+$", "", node_id)
        if not stem or not stem.isidentifier() or stem[0].isdigit():
            stem = f"n_{stem}" if stem and f"n_{stem}".isidentifier() else "node"
        local[node_id] = fresh_name(stem, taken)
    return local


def _laid_out(inner: Graph) -> Graph:
    for node_id, position in layered_layout(inner).items():
        inner.move_node(node_id, position)
    return inner


def _structure(definition: BlockDefinition) -> tuple:
    nodes = tuple((n.id, n.type, tuple(sorted(n.params))) for n in definition.graph)
    return nodes, tuple(definition.graph.edges)


def _merge(graph: Graph, cls: str, group: list[tuple[str, str]]) -> None:
    """The definitions made for instances of ``cls``: one per structure, the differing values
    as block params."""
    variants: dict[tuple, list[tuple[str, str]]] = defaultdict(list)
    for name, use in group:
        variants[_structure(graph.blocks[name])].append((name, use))
    taken = set(graph.blocks) | {n.type for n in graph}
    for variant in variants.values():
        final = fresh_name(cls, taken)
        definitions = [graph.blocks[name] for name, _use in variant]
        first = definitions[0]
        specs: list[ParamSpec] = []
        values: dict[str, list[Any]] = {}
        inner = Graph(final, template=True)
        for node in first.graph:
            params = dict(node.params)
            role = (s := get_spec(node.type)) is not None and s.role is not None
            for key in node.params:
                seen = [d.graph.node(node.id).params[key] for d in definitions]
                if role or all(v == seen[0] for v in seen):
                    continue
                pname = fresh_name(re.sub(r"\W", "_", f"{node.id}_{key}"), {p.name for p in specs})
                base = _param_spec(graph, node.type, key)
                if base is None:  # a value no declaration describes: kept as the first instance's
                    continue
                specs.append(replace(base, name=pname, default=seen[0]))
                values[pname] = seen
                params[key] = {"$param": pname}
            inner.add_node(replace(node, params=params))
        for edge in first.graph.edges:
            inner.add_edge(edge)
        for name, _use in variant:
            graph.remove_block(name)
        graph.set_block(BlockDefinition(final, inner, tuple(specs)))
        for index, (_name, use) in enumerate(variant):
            graph.restore_node(replace(graph.node(use), type=final,
                                       params={p: v[index] for p, v in values.items()}))


def _param_spec(graph: Graph, type_name: str, key: str) -> ParamSpec | None:
    definition = graph.blocks.get(type_name)
    specs = definition.params if definition is not None else (get_spec(type_name).params if get_spec(type_name) else ())
    return next((p for p in specs if p.name == key), None)


__all__ = ["CONTAINERS", "nest"]

"""Reusable blocks: a definition is a graph, a use is a node; analysis and compilation
see the uses expanded in place.

A definition (``BlockDefinition``) is a sub-graph with named Input and Output nodes and
declared parameters. Inside it a node's param may be ``{"$param": "channels"}``: the
value the use gives (or the block param's default). A node whose ``type`` names a
definition is a use: its input ports are the definition's Inputs in file order, its
output ports the Outputs, its params the block params.

:func:`expand` substitutes every use, recursively, into one flat graph whose ids are
paths (``layer3_1.conv2``) — so the compiled module's ``state_dict`` keys follow the
nesting the way a PyTorch user writes them (``layer3_1.conv2.weight``). A definition's
Inputs and Outputs become ``BlockPort`` identity nodes, so shapes, receptive fields and
messages flow through the boundary without special cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import networkx as nx

from graph_engine.model import Edge, Graph, GraphError, Node
from graph_engine.params import ParamError, ParamSpec, check_params
from graph_engine.registry import get_spec
from graph_engine.source_text import fresh_name

#: a node param that takes the use's value of a block param: {"$param": "channels"}
PARAM_REF = "$param"
#: the identity layer a definition's Inputs and Outputs become in the expansion
BLOCK_PORT = "BlockPort"
#: separates a use's id from its inner node's in expanded ids and messages
PATH_SEPARATOR = "."
SHOWN_SEPARATOR = " › "


class BlockError(ValueError):
    """A set of definitions that cannot be used (a recursive definition, a bad param spec)."""


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {PARAM_REF} and isinstance(value[PARAM_REF], str)


def substitute(params: Mapping[str, Any], env: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with each ``{"$param": name}`` replaced by ``env[name]``."""
    return {key: env[value[PARAM_REF]] if is_ref(value) else value for key, value in params.items()}


@dataclass(frozen=True)
class BlockDefinition:
    """One block: a name (the type its uses carry), declared params and the inner graph."""

    name: str
    graph: Graph
    params: tuple[ParamSpec, ...] = ()
    #: keys of the file entry the format does not define, kept for round trips
    extra: dict[str, Any] = field(default_factory=dict)

    def _role_ids(self, role: str) -> list[str]:
        return [n.id for n in self.graph if (s := get_spec(n.type)) is not None and s.role == role]

    @property
    def input_ids(self) -> list[str]:
        """The definition's Inputs in file order: a use's input ports."""
        return self._role_ids("input")

    @property
    def output_ids(self) -> list[str]:
        """The definition's Outputs in file order: a use's output ports."""
        return self._role_ids("output")

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """A use's param values checked against the declared params (defaults filled)."""
        return check_params(self.params, dict(given))

    def references(self) -> set[str]:
        """The block params that inner nodes refer to."""
        return {v[PARAM_REF] for node in self.graph for v in node.params.values() if is_ref(v)}

    def used_blocks(self, names: set[str]) -> set[str]:
        return {node.type for node in self.graph if node.type in names}


def check_definitions(blocks: Mapping[str, BlockDefinition]) -> list[str]:
    """The definitions in dependency order (used before users); BlockError naming a cycle
    (``A → B → A``), a reference to an undeclared param, or a name a layer type has."""
    names = set(blocks)
    depends = nx.DiGraph()
    for name, definition in blocks.items():
        if get_spec(name) is not None:
            raise BlockError(f"block {name!r} has the name of a layer type")
        unknown = sorted(definition.references() - {p.name for p in definition.params})
        if unknown:
            raise BlockError(f"block {name!r} refers to {unknown[0]!r}, which it does not declare as a param")
        depends.add_node(name)
        for used in definition.used_blocks(names):
            depends.add_edge(name, used)
    try:
        cycle = nx.find_cycle(depends)
    except nx.NetworkXNoCycle:
        return list(reversed(list(nx.topological_sort(depends))))
    path = [u for u, _ in cycle] + [cycle[0][0]]
    raise BlockError(f"recursive blocks: {' → '.join(path)}")


@dataclass
class Expansion:
    """The flat graph of every use substituted, and where each of its nodes came from."""

    flat: Graph
    #: flat id -> the top-level node it belongs to (itself for top-level layers)
    owner: dict[str, str] = field(default_factory=dict)
    #: problems found while expanding: (top-level node id, message)
    problems: list[tuple[str, str]] = field(default_factory=list)
    #: uses that could not be expanded: what follows from that is not reported again
    failed: set[str] = field(default_factory=set)

    def shown(self, flat_id: str) -> str:
        """``layer3_1 › conv2`` for a node inside a use, the id itself at the top level."""
        return flat_id.replace(PATH_SEPARATOR, SHOWN_SEPARATOR)


def uses_blocks(graph: Graph) -> bool:
    return bool(graph.blocks) and any(node.type in graph.blocks for node in graph)


def expand(graph: Graph) -> Expansion:
    """Substitute every block use (recursively) into one flat graph with path ids."""
    check_definitions(graph.blocks)
    flat = Graph(graph.name, path_ids=True)
    flat.set_training(graph.training)
    expansion = Expansion(flat)
    _inline(graph, graph.blocks, "", None, expansion)
    return expansion


def _inline(graph: Graph, blocks: Mapping[str, BlockDefinition], prefix: str, top: str | None,
            expansion: Expansion) -> None:
    """Add ``graph``'s nodes and edges to the expansion under ``prefix`` (a use's path)."""
    inlined: dict[str, BlockDefinition] = {}
    for node in graph:
        flat_id = prefix + node.id
        owner = top or node.id
        definition = blocks.get(node.type)
        if definition is not None:
            try:
                env = definition.resolve(node.params)
            except (ParamError, TypeError, ValueError) as error:
                expansion.problems.append((owner, f"{expansion.shown(flat_id)}: {error}"))
                _stand_in(definition, flat_id, owner, expansion)
                inlined[node.id] = definition
                continue
            inner = _instantiated(definition, env)
            _inline(inner, blocks, flat_id + PATH_SEPARATOR, owner, expansion)
            inlined[node.id] = definition
            continue
        spec = get_spec(node.type)
        boundary = prefix and spec is not None and spec.role is not None
        value = Node(flat_id, BLOCK_PORT if boundary else node.type, {} if boundary else node.params,
                     node.position, node.label)
        try:
            expansion.flat.add_node(value)
        except GraphError as error:
            expansion.problems.append((owner, f"{expansion.shown(flat_id)}: {error}"))
            continue
        expansion.owner[flat_id] = owner
    for edge in graph.edges:
        source, source_port = _end(prefix, edge.source, edge.source_port, inlined, "output_ids")
        target, port = _end(prefix, edge.target, edge.port, inlined, "input_ids")
        if source is None or target is None:
            use = edge.source if source is None else edge.target
            side = "output" if source is None else "input"
            number = edge.source_port if source is None else edge.port
            expansion.problems.append((top or use, f"{expansion.shown(prefix + use)} ({inlined[use].name}) "
                                                   f"has no {side} port {number}"))
            continue
        if source in expansion.flat and target in expansion.flat:
            expansion.flat.add_edge(Edge(source, target, port, source_port))


def _stand_in(definition: BlockDefinition, flat_id: str, owner: str, expansion: Expansion) -> None:
    """A use that cannot expand keeps its ports (edges still land) and nothing inside."""
    for port_id in (*definition.input_ids, *definition.output_ids):
        expansion.flat.add_node(Node(f"{flat_id}{PATH_SEPARATOR}{port_id}", BLOCK_PORT))
        expansion.owner[f"{flat_id}{PATH_SEPARATOR}{port_id}"] = owner
    expansion.failed.add(owner)


def _end(prefix: str, node_id: str, port: int, inlined: Mapping[str, BlockDefinition], side: str
         ) -> tuple[str | None, int]:
    """The flat node and port an edge end stands for: a use's port is its BlockPort."""
    definition = inlined.get(node_id)
    if definition is None:
        return prefix + node_id, port
    boundary = getattr(definition, side)
    if not 0 <= port < len(boundary):
        return None, port
    return f"{prefix}{node_id}{PATH_SEPARATOR}{boundary[port]}", 0


def _instantiated(definition: BlockDefinition, env: Mapping[str, Any]) -> Graph:
    """The definition's graph with the use's param values in place of the references."""
    inner = Graph(definition.name, template=True)
    for node in definition.graph:
        inner.add_node(replace(node, params=substitute(node.params, env)))
    for edge in definition.graph.edges:
        inner.add_edge(edge)
    return inner


__all__ = ["BlockDefinition", "BlockError", "Expansion", "PARAM_REF", "BLOCK_PORT", "check_definitions",
           "expand", "is_ref", "substitute", "uses_blocks"]


# -- editing: make a block from a selection, explode a use, make a use unique ------------------
@dataclass(frozen=True)
class BlockRewrite:
    """What an edit of the block structure does to the top-level graph, as plain values the
    app turns into one undoable command: edges and nodes out, definitions in, nodes and edges in."""

    removed_edges: tuple[Edge, ...]
    removed_nodes: tuple[str, ...]
    definitions: tuple[BlockDefinition, ...]
    added_nodes: tuple[Node, ...]
    added_edges: tuple[Edge, ...]


def make_block(graph: Graph, node_ids: list[str], name: str, shapes: Mapping[tuple[str, int], Any]) -> BlockRewrite:
    """The selection becomes one use of a new definition ``name``: each distinct value
    flowing in becomes an Input (its shape from ``shapes``: (node, output port) -> shape),
    each distinct value flowing out an Output, in the order the edges stand."""
    chosen = [n for n in graph.nodes if n in set(node_ids)]
    if not chosen:
        raise BlockError("select the nodes to make a block of")
    if name in graph.blocks or get_spec(name) is not None or not name.isidentifier():
        raise BlockError(f"{name!r} cannot name a new block (taken, or not an identifier)")
    inside = set(chosen)
    if any((s := get_spec(graph.node(n).type)) is not None and s.role for n in chosen):
        raise BlockError("a block cannot take the graph's Inputs or Outputs")
    inner = Graph(name, template=True)
    taken = set(inside)
    for node_id in chosen:
        inner.add_node(graph.node(node_id))
    ins: dict[tuple[str, int], str] = {}
    outs: dict[tuple[str, int], str] = {}
    for edge in graph.edges:
        if edge.source in inside and edge.target in inside:
            inner.add_edge(edge)
        elif edge.target in inside and (edge.source, edge.source_port) not in ins:
            feed = (edge.source, edge.source_port)
            ins[feed] = fresh_name("x" if not ins else f"x{len(ins)}", taken)
            inner.add_node(Node(ins[feed], "Input", {"shape": list(shapes.get(feed) or [1])}))
        elif edge.source in inside and (edge.source, edge.source_port) not in outs:
            outs[(edge.source, edge.source_port)] = ""
    for edge in graph.edges:
        if edge.target in inside and edge.source not in inside:
            inner.add_edge(Edge(ins[(edge.source, edge.source_port)], edge.target, edge.port))
    for feed in outs:
        outs[feed] = fresh_name("out" if len(outs) == 1 else f"out{list(outs).index(feed)}", taken)
        inner.add_node(Node(outs[feed], "Output", {}))
        inner.add_edge(Edge(feed[0], outs[feed], 0, feed[1]))
    positions = [graph.node(n).position for n in chosen if graph.node(n).position is not None]
    at = (sum(p[0] for p in positions) / len(positions), sum(p[1] for p in positions) / len(positions)) \
        if positions else None
    use = Node(fresh_name(name.lower(), set(graph.nodes)), name, {}, at)
    in_ports, out_ports = list(ins), list(outs)
    crossing = [e for e in graph.edges if (e.source in inside) != (e.target in inside)]
    added = []
    for edge in crossing:
        if edge.target in inside:
            added.append(Edge(edge.source, use.id, in_ports.index((edge.source, edge.source_port)), edge.source_port))
        else:
            added.append(Edge(use.id, edge.target, edge.port, out_ports.index((edge.source, edge.source_port))))
    internal = [e for e in graph.edges if e.source in inside and e.target in inside]
    return BlockRewrite(tuple(crossing + internal), tuple(chosen), (BlockDefinition(name, inner),), (use,),
                        tuple(dict.fromkeys(added)))


def explode(graph: Graph, use_id: str) -> BlockRewrite:
    """A use replaced by its definition's layers (ids ``{use}_{inner}``), its params in place."""
    use = graph.node(use_id)
    definition = graph.blocks[use.type]
    env = definition.resolve(use.params)
    taken = set(graph.nodes)
    ids = {n.id: fresh_name(f"{use_id}_{n.id}", taken) for n in definition.graph
           if get_spec(n.type) is None or get_spec(n.type).role is None}
    nodes = tuple(replace(n, id=ids[n.id], params=substitute(n.params, env), position=_placed(use, n, definition))
                  for n in definition.graph if n.id in ids)
    inputs, outputs = definition.input_ids, definition.output_ids
    inner = definition.graph.edges
    feeding = {e.port: (e.source, e.source_port) for e in graph.edges if e.target == use_id}
    edges = [Edge(ids[e.source], ids[e.target], e.port, e.source_port) for e in inner
             if e.source in ids and e.target in ids]
    for e in inner:  # the definition's Inputs: what fed the use's matching port
        if e.source in inputs and e.target in ids and inputs.index(e.source) in feeding:
            source, port = feeding[inputs.index(e.source)]
            edges.append(Edge(source, ids[e.target], e.port, port))
    produced = {outputs.index(e.target): (ids[e.source], e.source_port) for e in inner
                if e.target in outputs and e.source in ids}
    for e in graph.edges:
        if e.source == use_id and e.source_port in produced:
            source, port = produced[e.source_port]
            edges.append(Edge(source, e.target, e.port, port))
    touching = tuple(e for e in graph.edges if use_id in (e.source, e.target))
    return BlockRewrite(touching, (use_id,), (), nodes, tuple(dict.fromkeys(edges)))


def _placed(use: Node, inner: Node, definition: BlockDefinition):
    """Where an exploded layer goes: where it stands in the definition, moved to the use."""
    if use.position is None or inner.position is None:
        return use.position
    known = [n.position for n in definition.graph if n.position is not None]
    left, top = min(p[0] for p in known), min(p[1] for p in known)
    return (use.position[0] + inner.position[0] - left, use.position[1] + inner.position[1] - top)


def make_unique(graph: Graph, use_id: str) -> BlockRewrite:
    """A use detached from its definition: it gets a copy (``Basic_2``) that only it uses."""
    use = graph.node(use_id)
    definition = graph.blocks[use.type]
    name = fresh_name(definition.name, set(graph.blocks) | {n.type for n in graph})
    copy = BlockDefinition(name, definition.graph.copy(), definition.params, dict(definition.extra))
    touching = tuple(e for e in graph.edges if use_id in (e.source, e.target))
    return BlockRewrite(touching, (use_id,), (copy,), (replace(use, type=name),), touching)

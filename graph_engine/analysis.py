"""Shape, parameter, MAC and receptive-field inference in one topological walk.

``analyze`` is what the editor calls after every edit: structure diagnostics plus
everything the walk learns. It never raises on a bad graph; a node whose inputs are
unknown gets no shape and no follow-on error, so one mistake gives one message.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from graph_engine.shape_format import shape_text
from graph_engine.model import Edge, Graph
from graph_engine.registry import Field, Fix, LayerSpec, Shape, ShapeError, get_spec
from graph_engine.traversal import Wiring, wire
from graph_engine.validation import ERROR, WARNING, Diagnostic, error, structure_diagnostics, warning


@dataclass(frozen=True)
class NodeInfo:
    """What the walk inferred for one node (None where it could not)."""

    in_shapes: tuple[Shape, ...] | None
    out_shape: Shape | None
    dtype: str | None
    params: int = 0
    macs: int = 0
    field: Field | None = None


_UNKNOWN = NodeInfo(in_shapes=None, out_shape=None, dtype=None)


@dataclass(frozen=True)
class Analysis:
    """The result of one pass over a graph."""

    graph: Graph
    wiring: Wiring
    nodes: dict[str, NodeInfo]
    diagnostics: list[Diagnostic]

    @property
    def order(self) -> list[str]:
        return self.wiring.order

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == WARNING]

    @property
    def ok(self) -> bool:
        """True when the graph has no error diagnostics (it can be compiled)."""
        return not self.errors

    @property
    def total_params(self) -> int:
        return sum(info.params for info in self.nodes.values())

    @property
    def total_macs(self) -> int:
        return sum(info.macs for info in self.nodes.values())

    def info(self, node_id: str) -> NodeInfo:
        return self.nodes.get(node_id, _UNKNOWN)

    def edge_shape(self, edge: Edge) -> Shape | None:
        """The tensor shape flowing along ``edge`` (the editor's edge label)."""
        return self.info(edge.source).out_shape

    def input_values(self, node_id: str) -> list[str]:
        """The sources of ``node_id``'s ports, in port order (valid graphs only)."""
        ports = self.wiring.port_sources(node_id)
        return [ports[p][0] for p in sorted(ports)]


def analyze(graph: Graph) -> Analysis:
    """Validate ``graph`` and infer shapes, counts and receptive fields per node."""
    wiring = wire(graph)
    diagnostics, bad_ports = structure_diagnostics(graph, wiring)
    nodes: dict[str, NodeInfo] = {}
    for node_id in wiring.order:
        node = graph.nodes[node_id]
        spec = get_spec(node.type)
        if spec is None or node_id in bad_ports:
            continue
        sources = [wiring.inputs[node_id][p][0] for p in sorted(wiring.port_sources(node_id))]
        inputs = [nodes.get(s, _UNKNOWN) for s in sources]
        if any(i.out_shape is None for i in inputs):
            continue
        info, found = _infer(node_id, spec, node.params, inputs)
        diagnostics += found
        nodes[node_id] = info
    return Analysis(graph=graph, wiring=wiring, nodes=nodes, diagnostics=diagnostics)


def validate(graph: Graph) -> list[Diagnostic]:
    """All diagnostics of ``graph``, errors and warnings; never raises."""
    return analyze(graph).diagnostics


def _infer(node_id: str, spec: LayerSpec, params: dict, inputs: Sequence[NodeInfo]
           ) -> tuple[NodeInfo, list[Diagnostic]]:
    in_shapes = [i.out_shape for i in inputs]
    in_dtypes = [i.dtype for i in inputs]
    known_inputs = NodeInfo(in_shapes=tuple(in_shapes), out_shape=None, dtype=None)
    problem = _dtype_problem(node_id, spec, in_dtypes)
    if problem:
        return known_inputs, [problem]
    try:
        out_shape = tuple(spec.shape(params, in_shapes))
    except ShapeError as failure:
        fix = replace(failure.fix, node_id=node_id) if failure.fix else None
        # the inputs are still worth showing (the inspector); the output stays unknown
        return known_inputs, [error("shape", failure.message, node_id, fix=fix)]
    found = [warning("advice", text, node_id) for text in (spec.warnings(params, in_shapes)
                                                          if spec.warnings else [])]
    info = NodeInfo(
        in_shapes=tuple(in_shapes), out_shape=out_shape, dtype=spec.out_dtype(params, in_dtypes),
        params=spec.param_count(params, in_shapes, out_shape),
        macs=spec.macs(params, in_shapes, out_shape),
        field=spec.field(params, in_shapes, [i.field for i in inputs]),
    )
    return info, found


def _dtype_problem(node_id: str, spec: LayerSpec, in_dtypes: list[str | None]) -> Diagnostic | None:
    if spec.input_dtype == "int64" and any(d != "int64" for d in in_dtypes):
        return error("dtype", f"{spec.type} needs int64 token indices but is fed float values; "
                              "set the Input's dtype to int64", node_id)
    if spec.input_dtype == "float" and "int64" in in_dtypes:
        return error("dtype", f"{spec.type} needs float values but is fed int64 token indices; "
                              "insert an Embedding", node_id,
                     fix=Fix(label="Insert an Embedding", layer_type="Embedding", node_id=node_id))
    return None


def field_text(field: Field | None) -> str:
    """``5×5 (jump 1×1)`` for a receptive field, or ``-`` where none applies."""
    if not field:
        return "-"
    size = "×".join(_num(a.size) for a in field)
    jump = "×".join(_num(a.jump) for a in field)
    return f"{size} (jump {jump})"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"


__all__ = ["Analysis", "NodeInfo", "analyze", "validate", "field_text", "shape_text"]

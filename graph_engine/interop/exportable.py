"""The compiled module as exporters want it: on the CPU, in eval mode, weights loaded,
with a matching example input (int64 token indices for language models)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import fx

from graph_engine.compiler import compile_graph
from graph_engine.lowering import checked_analysis
from graph_engine.model import Graph
from graph_engine.registry import get_spec
from graph_engine.interop.weights import load_into, run_weights


@dataclass
class Exportable:
    """What every exporter needs: the module, its one input and the node types by id."""

    graph: Graph
    module: fx.GraphModule
    input_id: str
    input_shape: tuple[int, ...]
    #: "float32" or "int64"
    input_dtype: str
    #: the largest token index + 1 the Embeddings accept (int64 inputs only)
    token_limit: int

    def example(self, batch: int = 2, seed: int = 0) -> torch.Tensor:
        """A random input batch: token indices below the Embeddings' limit, or N(0, 1) values."""
        generator = torch.Generator().manual_seed(seed)
        shape = (batch, *self.input_shape)
        if self.input_dtype == "int64":
            return torch.randint(0, self.token_limit, shape, generator=generator)
        return torch.randn(shape, generator=generator)

    def node_type(self, node_id: str) -> str:
        return self.graph.node(node_id).type


def prepare(graph: Graph, weights: str | os.PathLike[str] | None = None) -> Exportable:
    """Compile ``graph`` for export; with ``weights`` (a run folder) its trained weights.

    Raises CompileError for a graph with errors and InteropError for unusable weights.
    """
    analysis = checked_analysis(graph)
    module = compile_graph(graph, device="cpu")
    if weights is not None:
        load_into(module, run_weights(weights), str(weights))
    module.eval()
    input_node = next(n for n in graph if get_spec(n.type).role == "input")
    limits = [get_spec(n.type).token_limit(n.params) for n in graph if get_spec(n.type).token_limit]
    dtype = "int64" if analysis.info(input_node.id).dtype == "int64" else "float32"
    return Exportable(graph, module, input_node.id, tuple(analysis.info(input_node.id).out_shape),
                      dtype, min(limits, default=2))

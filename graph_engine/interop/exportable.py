"""The compiled module as exporters want it: on the CPU, in eval mode, weights loaded,
with matching example inputs (int64 token indices for language models), one per Input
node in file order — the order of the module's arguments."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import fx

from graph_engine.compiler import compile_graph
from graph_engine.lowering import checked_analysis
from graph_engine.memory import check_fits, estimate
from graph_engine.model import Graph
from graph_engine.registry import get_spec
from graph_engine.interop.weights import load_into, trained_weights, weights_file


#: the batch the exporters trace with (TorchScript checks a batch one larger)
EXAMPLE_BATCH = 2


@dataclass(frozen=True)
class ModuleInput:
    """One argument of the compiled module: the Input node's id, shape and dtype."""

    id: str
    shape: tuple[int, ...]
    #: "float32" or "int64"
    dtype: str


@dataclass
class Exportable:
    """What every exporter needs: the module, its inputs and outputs, the node types by id."""

    graph: Graph
    module: fx.GraphModule
    inputs: tuple[ModuleInput, ...]
    #: the Output nodes' ids, in the order the module returns them
    output_ids: tuple[str, ...]
    #: the largest token index + 1 the Embeddings accept (int64 inputs only)
    token_limit: int

    @property
    def input_id(self) -> str:
        return self.inputs[0].id

    @property
    def input_dtype(self) -> str:
        return self.inputs[0].dtype

    def example(self, batch: int = EXAMPLE_BATCH, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Random input batches: token indices below the Embeddings' limit, or N(0, 1) values."""
        generator = torch.Generator().manual_seed(seed)
        examples = []
        for given in self.inputs:
            shape = (batch, *given.shape)
            examples.append(torch.randint(0, self.token_limit, shape, generator=generator)
                            if given.dtype == "int64" else torch.randn(shape, generator=generator))
        return tuple(examples)

    def node_type(self, node_id: str) -> str:
        return self.graph.node(node_id).type


def prepare(graph: Graph, weights: str | os.PathLike[str] | None = None) -> Exportable:
    """Compile ``graph`` for export; with ``weights`` (a run folder or a .safetensors file)
    its trained weights.

    Raises CompileError for a graph with errors and InteropError for unusable weights.
    """
    analysis = checked_analysis(graph)
    check_fits(estimate(analysis).inference_bytes(EXAMPLE_BATCH + 1), f"exporting {graph.name!r}")
    module = compile_graph(graph, device="cpu", analysis=analysis)
    if weights is not None:
        load_into(module, trained_weights(weights), str(weights_file(weights)))  # the file named
    module.eval()
    layers = analysis.compiled().graph  # with blocks: their layers
    limits = [get_spec(n.type).token_limit(n.params) for n in layers if get_spec(n.type).token_limit]
    inputs = tuple(ModuleInput(i, tuple(analysis.info(i).out_shape),
                               "int64" if analysis.info(i).dtype == "int64" else "float32")
                   for i in analysis.input_ids)
    return Exportable(graph, module, inputs, tuple(analysis.output_ids), min(limits, default=2))

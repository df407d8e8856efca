"""ONNX export through torch's own exporter, with a dynamic batch axis.

``torch.onnx.export(..., dynamo=True)`` (torch.export + onnxscript) is tried first: it is
torch's supported exporter and handles every shipped template, recurrent layers included.
The legacy TorchScript-based exporter is the fallback for a layer the new one refuses; our
compiled modules are straight-line fx code with no data-dependent branches, so the legacy
tracer records them faithfully. When both refuse, the first node (in topological order)
whose output cannot be exported is found by bisecting prefixes of the graph, and the
message names it, its layer type and the exporter's reason.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
from torch import fx

from graph_engine.atomic import write_atomic
from graph_engine.compiler import node_values
from graph_engine.interop.errors import InteropError, MissingExtra, reason
from graph_engine.interop.exportable import Exportable, prepare
from graph_engine.model import Graph
from graph_engine.source_text import py_identifier

OUTPUT_NAME = "output"


@dataclass(frozen=True)
class OnnxExport:
    path: Path
    #: "dynamo" (torch.export-based) or "legacy" (TorchScript-based)
    exporter: str
    input_names: tuple[str, ...]
    input_dtypes: tuple[str, ...]
    output_names: tuple[str, ...]

    @property
    def input_name(self) -> str:
        return self.input_names[0]

    @property
    def input_dtype(self) -> str:
        return self.input_dtypes[0]


def output_names(output_ids: tuple[str, ...] | list[str]) -> list[str]:
    """``output`` for a single result, else the Output nodes' ids (checked identifiers)."""
    return [OUTPUT_NAME] if len(output_ids) == 1 else [py_identifier(i) for i in output_ids]


def require_onnx() -> None:
    """Raise MissingExtra unless onnx and onnxscript can be imported."""
    missing = [name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtra("ONNX export", missing, "onnx")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporters print progress, log about torchvision and warn about their internals;
    none of it is the user's business (a failure is reported by its exception)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _native_output_silenced() -> Iterator[None]:
    """The legacy exporter prints its whole IR graph from C++ when it fails (torch enables its
    ONNX log unconditionally); only an fd-level redirect keeps that off the console. Used
    around legacy attempts only, which run once the main exporter has already refused."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    sink = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(sink, 1)
        os.dup2(sink, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for handle in (*saved, sink):
            os.close(handle)


def _dynamo_bytes(module: torch.nn.Module, examples: tuple[torch.Tensor, ...], input_names: list[str],
                  names: list[str]) -> bytes:
    batch = torch.export.Dim("batch", min=1)
    program = torch.onnx.export(module, examples, dynamo=True, verbose=False,
                                input_names=input_names, output_names=names,
                                dynamic_shapes={name: {0: batch} for name in input_names})
    return program.model_proto.SerializeToString()


def _legacy_bytes(module: torch.nn.Module, examples: tuple[torch.Tensor, ...], input_names: list[str],
                  names: list[str]) -> bytes:
    stream = io.BytesIO()
    with _native_output_silenced():
        torch.onnx.export(module, examples, stream, dynamo=False, input_names=input_names,
                          output_names=names, dynamic_axes={n: {0: "batch"} for n in [*input_names, *names]})
    return stream.getvalue()


def _input_names(exportable: Exportable) -> list[str]:
    return [py_identifier(given.id) for given in exportable.inputs]


def onnx_bytes(exportable: Exportable) -> tuple[bytes, str]:
    """The ONNX model as bytes and which exporter made it; InteropError naming the node if none can."""
    module, inputs = exportable.module, _input_names(exportable)
    outputs = output_names(exportable.output_ids)
    examples = exportable.example()
    with _quiet():
        try:
            return _dynamo_bytes(module, examples, inputs, outputs), "dynamo"
        except Exception as dynamo_error:  # noqa: BLE001 (any refusal: try the other exporter)
            try:
                return _legacy_bytes(module, examples, inputs, outputs), "legacy"
            except Exception:  # noqa: BLE001
                raise _located_failure(exportable, examples, dynamo_error) from None


def _prefix_module(module: fx.GraphModule, node_ids: list[str]) -> fx.GraphModule:
    """A module returning the outputs of ``node_ids`` (a prefix of the topological order)."""
    graph = fx.Graph()
    mapping: dict[fx.Node, fx.Node] = {}
    graph.graph_copy(module.graph, mapping)
    values = node_values(module)
    graph.output(tuple(mapping[values[n]] for n in node_ids))
    prefix = fx.GraphModule(module, graph)
    prefix.graph.eliminate_dead_code()
    prefix.recompile()
    return prefix


def _refusal(export, module: fx.GraphModule) -> BaseException | None:
    try:
        export(module)
    except Exception as error:  # noqa: BLE001
        return error
    return None


def _first_refused(exportable: Exportable, order: list[str], export) -> tuple[int, BaseException] | None:
    """Bisect prefixes of the topological order: the first node whose output ``export`` refuses
    (every node before it, its inputs included, exports)."""
    found = _refusal(export, _prefix_module(exportable.module, order))
    if found is None:
        return None
    low, high = 0, len(order) - 1  # invariant: the prefix up to `high` is refused
    while low < high:
        middle = (low + high) // 2
        failure = _refusal(export, _prefix_module(exportable.module, order[:middle + 1]))
        if failure is None:
            low = middle + 1
        else:
            high, found = middle, failure
    return high, found


def _located_failure(exportable: Exportable, examples: tuple[torch.Tensor, ...],
                     dynamo_error: BaseException) -> InteropError:
    """Name the first node neither exporter takes: bisected with the fast legacy exporter,
    confirmed with the main one (which is bisected itself only when it disagrees)."""
    given = {i.id for i in exportable.inputs}
    order = [n for n in node_values(exportable.module) if n not in given]
    inputs = _input_names(exportable)

    def names(module: fx.GraphModule) -> list[str]:
        count = len(module.graph.find_nodes(op="output")[0].args[0])
        return [f"{OUTPUT_NAME}_{i}" for i in range(count)]

    def legacy(module: fx.GraphModule) -> bytes:
        return _legacy_bytes(module, examples, inputs, names(module))

    def dynamo(module: fx.GraphModule) -> bytes:
        return _dynamo_bytes(module, examples, inputs, names(module))

    located = _first_refused(exportable, order, legacy)
    if located is not None:
        prefix = _prefix_module(exportable.module, order[:located[0] + 1])
        if _refusal(dynamo, prefix) is None:  # the main exporter fails elsewhere
            located = _first_refused(exportable, order, dynamo)
    if located is None:
        return InteropError(f"ONNX export of {exportable.graph.name!r} failed: {reason(dynamo_error)}")
    index, error = located
    node_id = order[index]
    return InteropError(f"node '{node_id}' ({exportable.node_type(node_id)}) cannot be exported to "
                        f"ONNX: {reason(error)}")


def export_onnx(graph: Graph, path: str | os.PathLike[str],
                weights: str | os.PathLike[str] | None = None) -> OnnxExport:
    """Write ``graph`` (with a run folder's trained ``weights``) as an ONNX model at ``path``.

    Inputs are named after the graph's Input nodes (in file order); the output is ``output``,
    or, with several Outputs, each is named after its node. All have a dynamic batch axis. Raises MissingExtra without the ``[onnx]`` extra, CompileError for a
    graph with errors and InteropError when a layer cannot be expressed in ONNX.
    """
    require_onnx()
    exportable = prepare(graph, weights)
    data, exporter = onnx_bytes(exportable)
    write_atomic(path, lambda stream: stream.write(data))
    return OnnxExport(Path(path), exporter, tuple(_input_names(exportable)),
                      tuple(i.dtype for i in exportable.inputs), tuple(output_names(exportable.output_ids)))

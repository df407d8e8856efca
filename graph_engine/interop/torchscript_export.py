"""TorchScript export: a module file that ``torch.jit.load`` runs without Rosenblatt.

``torch.jit.script`` is tried first: a scripted module keeps every shape generic. It
refuses some calls whose Python arguments do not match TorchScript's typed signatures
(e.g. ``F.interpolate`` with an integer ``scale_factor``, as the Upsample layer emits).
Then ``torch.jit.trace`` records the same calls: the compiled fx module is straight-line
code with no data-dependent branches, so the trace is the whole program; that it does not
depend on the batch size it was traced with is checked by running a second batch size.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from graph_engine.atomic import write_atomic
from graph_engine.interop.errors import InteropError, reason
from graph_engine.interop.exportable import Exportable, prepare
from graph_engine.model import Graph


@dataclass(frozen=True)
class TorchScriptExport:
    path: Path
    #: "script" or "trace"
    method: str
    #: why scripting was refused ("" when it was not)
    script_refusal: str = ""


def _as_tuple(value: torch.Tensor | tuple) -> tuple[torch.Tensor, ...]:
    return value if isinstance(value, tuple) else (value,)


def _traced(exportable: Exportable) -> torch.jit.ScriptModule:
    module = exportable.module
    traced = torch.jit.trace(module, exportable.example(batch=2), check_trace=False)
    other = exportable.example(batch=3, seed=1)
    with torch.no_grad():
        expected, got = _as_tuple(module(*other)), _as_tuple(traced(*other))
    if len(got) != len(expected) or any(
            g.shape != e.shape or not torch.allclose(g, e, rtol=1e-5, atol=1e-6) for g, e in zip(got, expected)):
        raise InteropError(f"TorchScript export of {exportable.graph.name!r}: the traced module depends on "
                           "the batch size it was traced with")
    return traced


def scripted_module(exportable: Exportable) -> tuple[torch.jit.ScriptModule, str, str]:
    """(TorchScript module, "script" or "trace", why scripting was refused)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notices
        try:
            return torch.jit.script(exportable.module), "script", ""
        except Exception as error:  # noqa: BLE001 (any refusal: trace instead)
            refusal = reason(error)
        try:
            return _traced(exportable), "trace", refusal
        except InteropError:
            raise
        except Exception as error:  # noqa: BLE001
            raise InteropError(f"TorchScript export of {exportable.graph.name!r} failed: scripting said "
                               f"{refusal}; tracing said {reason(error)}") from None


def export_torchscript(graph: Graph, path: str | os.PathLike[str],
                       weights: str | os.PathLike[str] | None = None) -> TorchScriptExport:
    """Write ``graph`` (with a run folder's trained ``weights``) as a TorchScript file at ``path``."""
    exportable = prepare(graph, weights)
    module, method, refusal = scripted_module(exportable)
    stream = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(module, stream)
    data = stream.getvalue()
    write_atomic(path, lambda handle: handle.write(data))
    return TorchScriptExport(Path(path), method, refusal)

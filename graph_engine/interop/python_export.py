"""``--to python``: the module's source, optionally its trained weights and a training script.

Files land side by side: ``model.py``, ``model.safetensors`` (``--weights``: keys are the
exported module's ``state_dict`` keys, which equal the compiled module's) and ``train.py``
(``--with-training``). Each is written atomically.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from graph_engine.atomic import write_text_atomic
from graph_engine.codegen import generate_code
from graph_engine.interop.errors import InteropError
from graph_engine.interop.exportable import prepare
from graph_engine.interop.train_script import generate_train_script
from graph_engine.interop.weights import save_safetensors
from graph_engine.model import Graph

TRAIN_SCRIPT = "train.py"


@dataclass(frozen=True)
class PythonExport:
    model: Path
    weights: Path | None = None
    train_script: Path | None = None
    files: list[Path] = field(default_factory=list)


def python_files(target: Path, weights: bool, with_training: bool) -> list[Path]:
    """model.py, then model.safetensors and train.py beside it when asked for."""
    return ([target] + ([target.with_suffix(".safetensors")] if weights else [])
            + ([target.with_name(TRAIN_SCRIPT)] if with_training else []))


def export_python(graph: Graph, path: str | os.PathLike[str], weights: str | os.PathLike[str] | None = None,
                  with_training: bool = False) -> PythonExport:
    """Write ``graph`` as standalone PyTorch source at ``path`` (and the files beside it)."""
    target = Path(path)
    if with_training and target.name == TRAIN_SCRIPT:
        raise InteropError(f"{target}: the training script is called {TRAIN_SCRIPT}; "
                           "give the model file another name")
    source = generate_code(graph)
    files = python_files(target, weights is not None, with_training)
    weights_path = files[1] if weights is not None else None
    state = prepare(graph, weights).module.state_dict() if weights is not None else None
    script = (generate_train_script(graph, target.name, weights_path.name if weights_path else None)
              if with_training else None)
    write_text_atomic(target, source)
    if weights_path is not None and state is not None:
        save_safetensors(weights_path, state, {"graph": graph.name, "source": str(weights)})
    script_path = files[-1] if script is not None else None
    if script_path is not None:
        write_text_atomic(script_path, script)
    return PythonExport(target, weights_path, script_path, files)

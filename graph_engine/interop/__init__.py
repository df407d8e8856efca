"""Export to other tools (ONNX, TorchScript, Python with weights and a training script) and
import of existing PyTorch models as graphs. Qt-free; the CLI and the app call these.

- :func:`export_onnx`, :func:`export_torchscript`, :func:`export_python`
- :func:`generate_train_script`: the standalone ``train.py``
- :func:`run_weights`, :func:`save_safetensors`: a run's trained weights, safetensors files
- :func:`import_model`: ``module:ClassOrFactory`` -> a laid-out, valid :class:`Graph` and weights
- errors: :class:`InteropError` (one line), :class:`MissingExtra`, :class:`UnsupportedModel`

Names load their module (and torch) when first asked for, so a command that only needs
the package's constants or errors starts without torch (issue 18).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph_engine.lazy_names import lazy_names

if TYPE_CHECKING:
    from graph_engine.interop.errors import InteropError, MissingExtra, UnsupportedModel
    from graph_engine.interop.importer import ImportedModel, import_model, import_module_object
    from graph_engine.interop.onnx_export import OnnxExport, export_onnx, require_onnx
    from graph_engine.interop.python_export import PythonExport, export_python
    from graph_engine.interop.torchscript_export import TorchScriptExport, export_torchscript
    from graph_engine.interop.train_script import generate_train_script
    from graph_engine.interop.weights import load_safetensors, run_weights, save_safetensors

#: public name -> the module that defines it
_LAZY = {
    "InteropError": "graph_engine.interop.errors",
    "MissingExtra": "graph_engine.interop.errors",
    "UnsupportedModel": "graph_engine.interop.errors",
    "ImportedModel": "graph_engine.interop.importer",
    "import_model": "graph_engine.interop.importer",
    "import_module_object": "graph_engine.interop.importer",
    "OnnxExport": "graph_engine.interop.onnx_export",
    "export_onnx": "graph_engine.interop.onnx_export",
    "require_onnx": "graph_engine.interop.onnx_export",
    "PythonExport": "graph_engine.interop.python_export",
    "export_python": "graph_engine.interop.python_export",
    "TorchScriptExport": "graph_engine.interop.torchscript_export",
    "export_torchscript": "graph_engine.interop.torchscript_export",
    "generate_train_script": "graph_engine.interop.train_script",
    "load_safetensors": "graph_engine.interop.weights",
    "run_weights": "graph_engine.interop.weights",
    "save_safetensors": "graph_engine.interop.weights",
}

__all__ = [
    "ImportedModel", "InteropError", "MissingExtra", "OnnxExport", "PythonExport", "TorchScriptExport",
    "UnsupportedModel", "export_onnx", "export_python", "export_torchscript", "generate_train_script",
    "import_model", "import_module_object", "load_safetensors", "require_onnx", "run_weights",
    "save_safetensors",
]


__getattr__, __dir__ = lazy_names("graph_engine.interop", globals(), _LAZY)

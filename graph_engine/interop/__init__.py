"""Export to other tools (ONNX, TorchScript, Python with weights and a training script) and
import of existing PyTorch models as graphs. Qt-free; the CLI and the app call these.

- :func:`export_onnx`, :func:`export_torchscript`, :func:`export_python`
- :func:`generate_train_script`: the standalone ``train.py``
- :func:`run_weights`, :func:`save_safetensors`: a run's trained weights, safetensors files
- :func:`import_model`: ``module:ClassOrFactory`` -> a laid-out, valid :class:`Graph` and weights
- errors: :class:`InteropError` (one line), :class:`MissingExtra`, :class:`UnsupportedModel`
"""

from graph_engine.interop.errors import InteropError, MissingExtra, UnsupportedModel
from graph_engine.interop.importer import ImportedModel, import_model, import_module_object
from graph_engine.interop.onnx_export import OnnxExport, export_onnx, require_onnx
from graph_engine.interop.python_export import PythonExport, export_python
from graph_engine.interop.torchscript_export import TorchScriptExport, export_torchscript
from graph_engine.interop.train_script import generate_train_script
from graph_engine.interop.weights import load_safetensors, run_weights, save_safetensors

__all__ = [
    "ImportedModel", "InteropError", "MissingExtra", "OnnxExport", "PythonExport", "TorchScriptExport",
    "UnsupportedModel", "export_onnx", "export_python", "export_torchscript", "generate_train_script",
    "import_model", "import_module_object", "load_safetensors", "require_onnx", "run_weights",
    "save_safetensors",
]

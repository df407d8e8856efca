"""Rosenblatt's graph engine: the Qt-free model and everything computed from it.

Public API (everything the app and the CLI use):

- model: :class:`Graph`, :class:`Node`, :class:`Edge`, :class:`GraphError`
- files: :func:`load_graph`, :func:`save_graph`, :func:`graph_to_dict`,
  :func:`graph_from_dict`, :func:`dumps`, :func:`loads`, :class:`GraphFileError`
- registry: :func:`layer_types`, :func:`get_spec`, :class:`LayerSpec`, :class:`ParamSpec`
- analysis: :func:`analyze` (-> :class:`Analysis`), :func:`validate`, :class:`Diagnostic`,
  :class:`Severity`
- torch: :func:`compile_graph`, :func:`generate_code`, :class:`CompileError`
- templates: :func:`list_templates`, :func:`load_template`, :data:`DEFAULT_TEMPLATE`

Everything but the compiler is pure Python: ``compile_graph`` and ``resolve_device`` load
torch (0.9 s) on first use, so ``rosenblatt summary``, validation and the editor's shapes
start without it (issue 18; ``tests/test_contracts.py`` checks it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph_engine.lazy_names import lazy_names
from graph_engine.analysis import Analysis, NodeInfo, analyze, field_text, shape_text, validate
from graph_engine.codegen import generate_code
from graph_engine.lowering import CompileError
from graph_engine.model import Edge, Graph, GraphError, Node, check_node_id
from graph_engine.params import ParamError, ParamSpec
from graph_engine.registry import CATEGORIES, Fix, LayerSpec, get_spec, layer_types
from graph_engine.serialization import (
    FORMAT_VERSION, GraphFileError, dumps, graph_from_dict, graph_to_dict, load_graph, loads,
    save_graph,
)
from graph_engine.templates import DEFAULT_TEMPLATE, list_templates, load_template
from graph_engine.validation import Diagnostic, Severity

__all__ = [
    "Analysis", "CATEGORIES", "CompileError", "DEFAULT_TEMPLATE", "Diagnostic", "Edge", "FORMAT_VERSION",
    "Fix", "Graph", "GraphError", "GraphFileError", "LayerSpec", "Node", "NodeInfo", "ParamError",
    "ParamSpec", "analyze", "check_node_id", "compile_graph", "dumps", "field_text", "generate_code",
    "get_spec", "graph_from_dict", "graph_to_dict", "layer_types", "list_templates", "load_graph",
    "load_template", "loads", "resolve_device", "save_graph", "Severity", "shape_text", "validate",
]

#: names whose modules import torch: loaded when first asked for
_LAZY = {"compile_graph": "graph_engine.compiler", "resolve_device": "graph_engine.compiler"}

if TYPE_CHECKING:
    from graph_engine.compiler import compile_graph, resolve_device


__getattr__, __dir__ = lazy_names("graph_engine", globals(), _LAZY)
